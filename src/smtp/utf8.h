// UTF-8 decoding and encoding with Go's semantics (utf8.DecodeRuneInString,
// utf8.AppendRune). Internal to the smtp library. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace chasquid::smtp {

// The rune at s[i] and its length; {-1, 1} for an invalid sequence.
std::pair<int32_t, int> DecodeRune(std::string_view s, size_t i);

void AppendRune(std::string& out, int32_t r);

}  // namespace chasquid::smtp
