// Signing.
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "base/strings.h"
#include "dkim/dkim.h"
#include "dkim/internal.h"

namespace chasquid::dkim {

namespace internal {

std::string Sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

std::string SelectedHeaders(const Message& m,
                            const std::vector<std::string>& names, Canon c,
                            size_t exclude) {
  std::vector<bool> used(m.headers.size(), false);
  if (exclude < used.size()) used[exclude] = true;
  std::string out;
  for (const std::string& name : names) {
    std::string lname = AsciiToLower(name);
    for (size_t i = m.headers.size(); i-- > 0;) {
      if (used[i] || AsciiToLower(m.headers[i].name) != lname) continue;
      used[i] = true;
      const Header& h = m.headers[i];
      out += c == Canon::kRelaxed ? RelaxedHeader(h.name, h.value)
                                  : SimpleHeader(h);
      out += "\r\n";
      break;
    }
  }
  return out;
}

std::string KeyType(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return "rsa";
    case EVP_PKEY_ED25519:
      return "ed25519";
  }
  return "";
}

Result<std::string> SignData(EVP_PKEY* key, std::string_view data) {
  bool ed = KeyType(key) == "ed25519";
  std::string digest;
  if (ed) {
    digest = Sha256(data);
    data = digest;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string sig;
  size_t len = 0;
  bool ok = ctx &&
            EVP_DigestSignInit(ctx, nullptr, ed ? nullptr : EVP_sha256(),
                               nullptr, key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len,
                           reinterpret_cast<const unsigned char*>(data.data()),
                           data.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(data.data()),
                        data.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return Status::Permanent("signing failed");
  return sig;
}

bool VerifyData(EVP_PKEY* key, std::string_view data, std::string_view sig) {
  bool ed = KeyType(key) == "ed25519";
  std::string digest;
  if (ed) {
    digest = Sha256(data);
    data = digest;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx &&
            EVP_DigestVerifyInit(ctx, nullptr, ed ? nullptr : EVP_sha256(),
                                 nullptr, key) == 1 &&
            EVP_DigestVerify(
                ctx, reinterpret_cast<const unsigned char*>(sig.data()),
                sig.size(), reinterpret_cast<const unsigned char*>(data.data()),
                data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace internal

namespace {

// The header fields chasquid signs, in its order.
const char* const kHeadersToSign[] = {
    "From",      "Reply-To",   "Subject",          "Date",
    "To",        "Cc",         "Resent-Date",      "Resent-From",
    "Resent-To", "Resent-Cc",  "In-Reply-To",      "References",
    "List-Id",   "List-Help",  "List-Unsubscribe", "List-Subscribe",
    "List-Post", "List-Owner", "List-Archive",     "Message-ID"};
const char* const kOverSign[] = {"From", "Subject", "Date",
                                 "To",   "Cc",      "Message-ID"};

// Joins names with ':' in lines of at most 70 characters.
std::string WrapHeaderList(const std::vector<std::string>& names) {
  std::string out, line;
  for (const std::string& n : names) {
    if (line.empty()) {
      line = n;
    } else if (line.size() + 1 + n.size() > 70) {
      out += line + "\r\n  ";
      line = ":" + n;
    } else {
      line += ":" + n;
    }
  }
  return out + line;
}

}  // namespace

Signer::Signer(std::string domain, std::string selector, EVP_PKEY* key)
    : domain_(std::move(domain)), selector_(std::move(selector)), key_(key) {}

Signer::~Signer() { EVP_PKEY_free(key_); }

std::string Signer::algorithm() const {
  return internal::KeyType(key_) + "-sha256";
}

Result<std::string> Signer::Sign(std::string_view crlf_message,
                                 std::time_t now) const {
  auto msg = ParseMessage(crlf_message);
  if (!msg.ok()) return msg.status();
  return SignParsed(*msg, internal::Sha256(RelaxedBody(msg->body)), now);
}

Result<std::vector<std::string>> SignStream(
    const std::vector<std::shared_ptr<const Signer>>& signers,
    std::string_view head, const ChunkReader& rest, std::time_t now) {
  auto msg = ParseMessage(ToCRLF(head));
  if (!msg.ok()) return msg.status();
  std::vector<std::string> out;
  if (signers.empty()) return out;
  internal::BodyHash hash(Canon::kRelaxed, std::nullopt);
  hash.Write(msg->body);
  msg->body.clear();
  if (rest) {
    internal::CrlfPieces crlf(head.empty() ? '\n' : head.back());
    Status read = rest([&](std::string_view piece) {
      hash.Write(crlf.Convert(piece));
      return Status::Ok();
    });
    if (!read.ok()) return read;
  }
  hash.Finish();
  if (hash.digest().empty()) return Status::Permanent("signing failed");
  for (const auto& s : signers) {
    auto v = s->SignParsed(*msg, hash.digest(), now);
    if (!v.ok()) return v.status();
    out.push_back(std::move(*v));
  }
  return out;
}

Result<std::string> Signer::SignParsed(const Message& m,
                                       const std::string& body_hash,
                                       std::time_t now) const {
  const Message* msg = &m;
  std::vector<std::string> names;
  for (const char* h : kHeadersToSign) {
    std::string lh = AsciiToLower(h);
    for (const Header& mh : msg->headers) {
      if (AsciiToLower(mh.name) == lh) names.push_back(lh);
    }
  }
  // The header hash covers the present instances only; the over-signed
  // names select nothing (RFC 6376 §5.4.2), so they are left out of the
  // hash input and only prevent later additions.
  std::string headers =
      internal::SelectedHeaders(*msg, names, Canon::kRelaxed, SIZE_MAX);
  for (const char* h : kOverSign) names.push_back(AsciiToLower(h));

  std::string value = "v=1; a=" + algorithm() + "; c=relaxed/relaxed;\r\n" +
                      "d=" + domain_ + "; s=" + selector_ +
                      "; t=" + std::to_string(now) + ";\r\n" +
                      "h=" + WrapHeaderList(names) + ";\r\n" +
                      "bh=" + Base64Encode(body_hash) + ";\r\n" + "b=";
  // Hashed as it will appear: every line break followed by a TAB.
  std::string folded;
  for (char c : value + ";") {
    folded += c;
    if (c == '\n') folded += '\t';
  }
  std::string data = headers + RelaxedHeader("DKIM-Signature", folded);
  auto sig = internal::SignData(key_, data);
  if (!sig.ok()) return sig.status();
  std::string b = Base64Encode(*sig);
  for (size_t i = 0; i < b.size(); i += 70) {
    if (i > 0) value += "\r\n  ";
    value += b.substr(i, 70);
  }
  return value + ";";
}

std::string SignatureHeaderLF(const std::string& value) {
  std::string out = "DKIM-Signature: ";
  for (size_t i = 0; i < value.size(); ++i) {
    if (value.compare(i, 2, "\r\n") == 0) {
      out += "\n\t";
      ++i;
    } else {
      out += value[i];
    }
  }
  return out + "\n";
}

}  // namespace chasquid::dkim
