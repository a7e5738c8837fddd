#include "normalize/utf8.h"

namespace chasquid::normalize {

namespace {

// Decodes one rune at s[i]; returns its length, or 0 if invalid.
size_t DecodeOne(std::string_view s, size_t i, char32_t* r) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = s.size() - i;
  if (c < 0x80) {
    *r = c;
    return 1;
  }
  auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF && n >= 2 && cont(i + 1)) {
    *r = ((c & 0x1Fu) << 6) | (b(i + 1) & 0x3Fu);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF && n >= 3 && cont(i + 1) && cont(i + 2)) {
    char32_t v = ((c & 0x0Fu) << 12) | ((b(i + 1) & 0x3Fu) << 6) |
                 (b(i + 2) & 0x3Fu);
    if (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *r = v;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4 && n >= 4 && cont(i + 1) && cont(i + 2) &&
      cont(i + 3)) {
    char32_t v = ((c & 0x07u) << 18) | ((b(i + 1) & 0x3Fu) << 12) |
                 ((b(i + 2) & 0x3Fu) << 6) | (b(i + 3) & 0x3Fu);
    if (v < 0x10000 || v > 0x10FFFF) return 0;
    *r = v;
    return 4;
  }
  return 0;
}

}  // namespace

char32_t DecodeRuneAt(std::string_view s, size_t i, size_t* len) {
  char32_t r;
  size_t n = DecodeOne(s, i, &r);
  if (n == 0) {
    *len = 1;
    return 0xFFFD;
  }
  *len = n;
  return r;
}

std::vector<char32_t> DecodeUtf8Lossy(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t r;
    size_t n = DecodeOne(s, i, &r);
    if (n == 0) {
      out.push_back(0xFFFD);
      i++;
    } else {
      out.push_back(r);
      i += n;
    }
  }
  return out;
}

void AppendUtf8(char32_t r, std::string* out) {
  if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = 0xFFFD;
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (r >> 6)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (r >> 12)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (r >> 18)));
    out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

std::string EncodeUtf8(const std::vector<char32_t>& runes) {
  std::string out;
  out.reserve(runes.size());
  for (char32_t r : runes) AppendUtf8(r, &out);
  return out;
}

}  // namespace chasquid::normalize
