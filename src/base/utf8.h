// UTF-8 decoding and encoding with Go's semantics (utf8.DecodeRuneInString,
// utf8.AppendRune): the one decoder of the project, used for quoting, SMTP
// addresses and commands, queue items, user names and MDA arguments.
// Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace chasquid {

// The rune at s[i] (i < s.size()) and its length; {-1, 1} for an invalid
// sequence: a bad lead or continuation byte, a cut sequence, an over-long
// form, a surrogate or a value past U+10FFFF.
std::pair<int32_t, int> DecodeRune(std::string_view s, size_t i);

// Appends the UTF-8 form of `r`; an invalid rune appends U+FFFD.
void AppendRune(std::string& out, int32_t r);

// Go's unicode.IsSpace: Unicode's White_Space runes (TAB to CR, space,
// U+0085, U+00A0, U+1680, U+2000 to U+200A, U+2028, U+2029, U+202F,
// U+205F, U+3000). What Go's fmt scanning skips, what Dovecot user names
// may not contain, and (with the controls) what MDA arguments drop.
bool IsUnicodeSpace(int32_t r);

}  // namespace chasquid
