// Decoding AUTH responses (smtp-in §6.1; RFC 4616 PLAIN, and the older
// LOGIN mechanism). Normalisation of the identity is the caller's job.
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace chasquid::smtp {

// Go's base64.StdEncoding.DecodeString: padding mandatory, CR/LF ignored,
// errors "illegal base64 data at input byte N".
Result<std::string> DecodeBase64(std::string_view s);
std::string EncodeBase64(std::string_view s);

struct PlainCredentials {
  std::string user;    // Identity before the first '@' (not normalised).
  std::string domain;  // After it; empty for a "naked" user.
  std::string password;
};

// Decodes an AUTH PLAIN response. Errors (shown to the client after
// "501 5.5.2 Error decoding AUTH response: "): the base64 error,
// "response pieces != 3, as per RFC", "auth IDs do not match",
// "empty identity, must be in the form user@domain".
Result<PlainCredentials> DecodePlain(std::string_view response);

// Splits an identity at the first '@'.
PlainCredentials SplitIdentity(std::string_view identity, std::string password);

}  // namespace chasquid::smtp
