// Helpers shared by sign.cc, verify.cc and keys.cc. Not part of the API.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

#include "base/status.h"
#include "dkim/message.h"

namespace chasquid::dkim::internal {

struct PKeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PKey = std::unique_ptr<EVP_PKEY, PKeyDeleter>;

std::string Sha256(std::string_view data);

// The header-hash input for the h= list `names` (RFC 6376 §5.4.2): for each
// name, the last not-yet-used instance (bottom-up), canonicalized, + CRLF.
// The header at index `exclude` (the signature being verified) is never
// selected.
std::string SelectedHeaders(const Message& m,
                            const std::vector<std::string>& names, Canon c,
                            size_t exclude);

// Signs / verifies `data` with rsa-sha256 (PKCS#1 v1.5) or ed25519-sha256
// (Ed25519 over SHA-256(data), RFC 8463).
Result<std::string> SignData(EVP_PKEY* key, std::string_view data);
bool VerifyData(EVP_PKEY* key, std::string_view data, std::string_view sig);

// "rsa" or "ed25519" (or "" for others).
std::string KeyType(EVP_PKEY* key);

// The body hash of one signature (RFC 6376 §3.7), computed as the body
// streams: its canonicalization, then SHA-256 of the first l= bytes (all
// without l=). Not movable: the canonicalizer's sink points here.
class BodyHash {
 public:
  BodyHash(Canon c, std::optional<uint64_t> limit)
      : canon_(c, [this](std::string_view p) { Take(p); }),
        limit_(limit),
        ctx_(EVP_MD_CTX_new()) {
    ok_ = ctx_ && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1;
  }
  ~BodyHash() { EVP_MD_CTX_free(ctx_); }
  BodyHash(const BodyHash&) = delete;
  BodyHash& operator=(const BodyHash&) = delete;

  void Write(std::string_view crlf) { canon_.Write(crlf); }
  // Ends the body; then digest() and size() are final.
  void Finish() {
    canon_.Finish();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (ok_ && EVP_DigestFinal_ex(ctx_, out, &n) == 1) {
      digest_.assign(reinterpret_cast<char*>(out), n);
    }
  }
  const std::string& digest() const { return digest_; }
  // The whole canonical body's size, beyond l= too.
  uint64_t size() const { return size_; }

 private:
  void Take(std::string_view p) {
    uint64_t room = p.size();
    if (limit_) room = *limit_ > size_ ? *limit_ - size_ : 0;
    size_t n = static_cast<size_t>(std::min<uint64_t>(room, p.size()));
    if (ok_ && n > 0) ok_ = EVP_DigestUpdate(ctx_, p.data(), n) == 1;
    size_ += p.size();
  }
  BodyCanonicalizer canon_;
  std::optional<uint64_t> limit_;
  EVP_MD_CTX* ctx_;
  bool ok_ = false;
  uint64_t size_ = 0;
  std::string digest_;  // Empty if hashing failed (never matches bh=).
};

// Turns pieces of an internal (LF) form message into its CRLF form, as
// ToCRLF does for the whole: an LF not after a CR gets one, across the
// pieces' boundaries too.
class CrlfPieces {
 public:
  explicit CrlfPieces(char prev) : prev_(prev) {}
  std::string_view Convert(std::string_view lf) {
    out_.clear();
    for (char c : lf) {
      if (c == '\n' && prev_ != '\r') out_ += '\r';
      out_ += c;
      prev_ = c;
    }
    return out_;
  }

 private:
  char prev_;
  std::string out_;
};

}  // namespace chasquid::dkim::internal
