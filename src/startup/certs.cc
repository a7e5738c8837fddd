// Certificate discovery. certs/ mirrors
// certbot's live/ layout: one directory (or symlink) per certificate, each
// with fullchain.pem and privkey.pem.
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/log.h"
#include "base/strings.h"
#include "startup/startup.h"

namespace chasquid::startup {

namespace {

Result<std::string> ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Error(PathError("open", path, errno));
  std::stringstream s;
  s << f.rdbuf();
  if (f.bad()) return Status::Error(PathError("read", path, errno));
  return s.str();
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioFree> MemBio(const std::string& s) {
  return std::unique_ptr<BIO, BioFree>(
      BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

}  // namespace

Status CheckCertPair(const std::string& cert_path,
                     const std::string& key_path) {
  auto cert_pem = ReadAll(cert_path);
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = ReadAll(key_path);
  if (!key_pem.ok()) return key_pem.status();

  // Go wording for each failure, with the file named after it so the
  // operator knows which one to fix.
  auto err = [](const std::string& msg, const std::string& path) {
    ERR_clear_error();
    return Status::Error(msg + " (" + path + ")");
  };
  if (cert_pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return err("tls: failed to find any PEM data in certificate input",
               cert_path);
  }
  auto cbio = MemBio(*cert_pem);
  std::unique_ptr<X509, X509Free> leaf(
      PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr));
  if (!leaf) return err("x509: malformed certificate", cert_path);
  // The rest of the chain must parse too.
  while (true) {
    std::unique_ptr<X509, X509Free> next(
        PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr));
    if (!next) break;
  }
  unsigned long e = ERR_peek_last_error();
  if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
                  ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
    return err("x509: malformed certificate", cert_path);
  }
  ERR_clear_error();

  if (key_pem->find("-----BEGIN") == std::string::npos) {
    return err("tls: failed to find any PEM data in key input", key_path);
  }
  auto kbio = MemBio(*key_pem);
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr));
  if (!key) return err("tls: failed to parse private key", key_path);
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    return err("tls: private key does not match public key", key_path);
  }
  return Status::Ok();
}

Result<std::vector<CertPair>> DiscoverCerts(const std::string& dir) {
  CLOG_INFO("Loading certificates:");
  auto entries = ReadDirOrFail(dir);
  if (!entries.ok()) return entries.status();
  std::string base = dir;
  if (!base.empty() && base.back() != '/') base += '/';
  std::vector<CertPair> pairs;
  for (const DirEntry& e : *entries) {
    // Only directories (or symlinks, or anything not a regular file) are
    // candidates: certbot's live/ also has a README.
    if (e.regular) continue;
    CLOG_INFO("  " + e.name);
    CertPair p{e.name, base + e.name + "/fullchain.pem",
               base + e.name + "/privkey.pem"};
    struct stat st;
    bool skip = false;
    for (const std::string* path : {&p.cert_path, &p.key_path}) {
      if (stat(path->c_str(), &st) != 0) {
        CLOG_INFO("    skipping: " + PathError("stat", *path, errno));
        skip = true;
        break;
      }
    }
    if (skip) continue;
    if (Status s = CheckCertPair(p.cert_path, p.key_path); !s.ok()) {
      return Status::Error("    " + s.message());
    }
    pairs.push_back(std::move(p));
  }
  return pairs;
}

}  // namespace chasquid::startup
