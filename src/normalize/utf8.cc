#include "normalize/utf8.h"

#include "base/utf8.h"

namespace chasquid::normalize {

char32_t DecodeRuneAt(std::string_view s, size_t i, size_t* len) {
  auto [r, n] = DecodeRune(s, i);
  *len = n;
  return r < 0 ? 0xFFFD : static_cast<char32_t>(r);
}

std::vector<char32_t> DecodeUtf8Lossy(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n;
    out.push_back(DecodeRuneAt(s, i, &n));
    i += n;
  }
  return out;
}

void AppendUtf8(char32_t r, std::string* out) {
  AppendRune(*out, r > 0x10FFFF ? -1 : static_cast<int32_t>(r));
}

std::string EncodeUtf8(const std::vector<char32_t>& runes) {
  std::string out;
  out.reserve(runes.size());
  for (char32_t r : runes) AppendUtf8(r, &out);
  return out;
}

}  // namespace chasquid::normalize
