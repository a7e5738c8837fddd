// Key files and DNS records.
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <openssl/x509.h>

#include "base/strings.h"
#include "dkim/dkim.h"
#include "dkim/internal.h"

namespace chasquid::dkim {

namespace {

struct PEMBlock {
  std::string type;
  std::string der;
};

// The first PEM block, as Go's pem.Decode finds it; nullopt if none.
std::optional<PEMBlock> DecodePEM(const std::string& text) {
  const std::string begin = "-----BEGIN ";
  size_t pos = 0;
  while ((pos = text.find(begin, pos)) != std::string::npos) {
    size_t tend = text.find("-----", pos + begin.size());
    if (tend == std::string::npos) return std::nullopt;
    std::string type =
        text.substr(pos + begin.size(), tend - pos - begin.size());
    size_t body = text.find('\n', tend);
    std::string end = "-----END " + type + "-----";
    size_t epos =
        body == std::string::npos ? std::string::npos : text.find(end, body);
    if (epos == std::string::npos || type.find('\n') != std::string::npos) {
      pos += begin.size();
      continue;
    }
    std::string b64;
    std::istringstream lines(text.substr(body + 1, epos - body - 1));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find(':') != std::string::npos) continue;  // PEM headers.
      b64 += StripWhitespace(line);
    }
    auto der = Base64Decode(b64);
    if (!der.ok()) {
      pos += begin.size();
      continue;
    }
    return PEMBlock{type, *der};
  }
  return std::nullopt;
}

}  // namespace

Result<std::shared_ptr<const Signer>> LoadSigner(const std::string& domain,
                                                 const std::string& selector,
                                                 const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Error(PathError("open", path, errno));
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return Status::Error(PathError("read", path, errno));
  auto block = DecodePEM(ss.str());
  if (!block) return Status::Error("error decoding PEM block");
  if (AsciiToUpper(block->type) != "PRIVATE KEY") {
    return Status::Error("unsupported block type: " + block->type);
  }
  const unsigned char* p =
      reinterpret_cast<const unsigned char*>(block->der.data());
  PKCS8_PRIV_KEY_INFO* p8 = d2i_PKCS8_PRIV_KEY_INFO(
      nullptr, &p, static_cast<long>(block->der.size()));
  if (!p8) return Status::Error("x509: failed to parse private key");
  EVP_PKEY* key = EVP_PKCS82PKEY(p8);
  PKCS8_PRIV_KEY_INFO_free(p8);
  if (!key) {
    return Status::Error(
        "x509: PKCS#8 wrapping contained private key with unknown algorithm");
  }
  int id = EVP_PKEY_get_base_id(key);
  if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519) {
    // Go's type names for what its PKCS#8 parser returns.
    std::string type = id == EVP_PKEY_EC ? "*ecdsa.PrivateKey"
                       : id == EVP_PKEY_X25519
                           ? "*ecdh.PrivateKey"
                           : std::string(EVP_PKEY_get0_type_name(key)
                                             ? EVP_PKEY_get0_type_name(key)
                                             : "unknown");
    EVP_PKEY_free(key);
    return Status::Error("unsupported key type: " + type);
  }
  return std::shared_ptr<const Signer>(
      std::make_shared<Signer>(domain, selector, key));
}

Result<std::vector<std::shared_ptr<const Signer>>> LoadDomainSigners(
    const std::string& domain, const std::string& domain_dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(domain_dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (HasPrefix(name, "dkim:") && name.size() >= 9 &&
        name.compare(name.size() - 4, 4, ".pem") == 0) {
      files.push_back(name);
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<std::shared_ptr<const Signer>> out;
  for (const std::string& name : files) {
    std::string selector = name.substr(5, name.size() - 9);
    auto s = LoadSigner(domain, selector, domain_dir + "/" + name);
    if (!s.ok()) return s.status();
    out.push_back(*s);
  }
  return out;
}

Result<std::string> DNSRecord(EVP_PKEY* key) {
  std::string type = internal::KeyType(key);
  std::string pub;
  if (type == "ed25519") {
    size_t len = 32;
    pub.resize(len);
    if (EVP_PKEY_get_raw_public_key(
            key, reinterpret_cast<unsigned char*>(pub.data()), &len) != 1) {
      return Status::Error("cannot get the public key");
    }
    pub.resize(len);
  } else if (type == "rsa") {
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(key, &der);
    if (len <= 0) return Status::Error("cannot encode the public key");
    pub.assign(reinterpret_cast<char*>(der), len);
    OPENSSL_free(der);
  } else {
    return Status::Error("unsupported key type");
  }
  return "v=DKIM1; k=" + type + "; p=" + Base64Encode(pub);
}

}  // namespace chasquid::dkim
