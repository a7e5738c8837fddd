// The pieces of PRECIS UsernameCaseMapped (RFC 8265 §3.3, RFC 8264) that
// normalize::User needs for non-ASCII input, in Go's order: width folding,
// full lower-casing without final-sigma context, NFC, the Bidi Rule (RFC
// 5893 §2, on the whole string) and the IdentifierClass check with its
// contextual rules (RFC 5892 Appendix A). Backed by ICU. Thread-safe.
#pragma once

#ifndef CHASQUID_INSIDE_NORMALIZE
#error "normalize/precis.h is private to normalize/"
#endif

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace chasquid::normalize::precis {

// Width fold + lower-case + NFC. Input must be valid UTF-8.
std::vector<char32_t> MapAndNormalize(const std::vector<char32_t>& runes);

// Go's bidirule.Valid: true if the string satisfies the Bidi Rule.
bool BidiRuleValid(const std::vector<char32_t>& runes);

// True if every code point is allowed by the IdentifierClass, including
// CONTEXTJ/CONTEXTO rules evaluated in place.
bool IdentifierClassValid(const std::vector<char32_t>& runes);

}  // namespace chasquid::normalize::precis
