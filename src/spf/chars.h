// ASCII character classes of the SPF grammar (RFC 7208 §4.6.1, RFC 5234
// ALPHA and DIGIT), shared by the record parser and the macro code.
#pragma once

#ifndef CHASQUID_INSIDE_SPF
#error "spf/chars.h is private to spf/"
#endif

namespace chasquid::spf {

inline bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }

}  // namespace chasquid::spf
