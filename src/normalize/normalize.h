// Address normalisation: PRECIS
// UsernameCaseMapped for user parts (Go flavour), IDNA ToUnicode + NFC +
// lower-case for domains, and the drop-characters / suffix-separators rules
// for local addresses. Pure functions, thread-safe.
//
// The implementation uses ICU (PRECIS) and libidn2 (IDNA).
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"

namespace chasquid::normalize {

// PRECIS UsernameCaseMapped. Errors: "precis: disallowed rune encountered",
// "bidirule: failed Bidi Rule". The empty string is valid.
Result<std::string> User(std::string_view user);

// Punycode-decode "xn--" labels, NFC, lower-case. Errors on bad punycode.
Result<std::string> Domain(std::string_view domain);

// User(user) + "@" + Domain(domain). On error the caller usually keeps the
// original address.
Result<std::string> Addr(std::string_view addr);

// user@domain with the user unchanged and the domain normalised; "<>" stays.
Result<std::string> DomainToUnicode(std::string_view addr);

// Splits at the first '@'; no '@' gives (addr, "").
std::pair<std::string, std::string> Split(std::string_view addr);

// §6.4, with the configured separators and drop characters (each a set of
// UTF-8 characters).
std::string RemoveDropCharacters(std::string_view addr, std::string_view seps,
                                 std::string_view drops);
std::string RemoveDropsAndSuffix(std::string_view addr, std::string_view seps,
                                 std::string_view drops);

// Domain to ASCII (IDNA ToASCII, for the SMTP client when the peer has no
// SMTPUTF8).
Result<std::string> DomainToAscii(std::string_view domain);

}  // namespace chasquid::normalize
