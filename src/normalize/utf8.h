// UTF-8 <-> code points, with Go's semantics for invalid input (each bad
// byte becomes U+FFFD, as `for _, r := range s` does). Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace chasquid::normalize {

// Decodes `s`; invalid sequences, surrogates and over-long forms become
// U+FFFD one byte at a time.
std::vector<char32_t> DecodeUtf8Lossy(std::string_view s);

// Decodes the rune at s[i] (i < s.size()), setting *len to its length in
// bytes; an invalid sequence gives U+FFFD with *len = 1.
char32_t DecodeRuneAt(std::string_view s, size_t i, size_t* len);

// Encodes code points; invalid ones (surrogates, > U+10FFFF) become U+FFFD.
std::string EncodeUtf8(const std::vector<char32_t>& runes);
void AppendUtf8(char32_t r, std::string* out);

}  // namespace chasquid::normalize
