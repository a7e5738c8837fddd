// Helpers shared by sign.cc, verify.cc and keys.cc. Not part of the API.
#pragma once

#include <memory>
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

}  // namespace chasquid::dkim::internal
