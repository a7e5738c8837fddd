#include "base/utf8.h"

namespace chasquid {

std::pair<int32_t, int> DecodeRune(std::string_view s, size_t i) {
  unsigned char c = s[i];
  if (c < 0x80) return {c, 1};
  int len = 0;
  int32_t r = 0, min = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2, r = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, r = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, r = c & 0x07, min = 0x10000;
  } else {
    return {-1, 1};
  }
  if (i + len > s.size()) return {-1, 1};
  for (int k = 1; k < len; k++) {
    unsigned char cc = s[i + k];
    if ((cc & 0xC0) != 0x80) return {-1, 1};
    r = (r << 6) | (cc & 0x3F);
  }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return {-1, 1};
  return {r, len};
}

void AppendRune(std::string& out, int32_t r) {
  if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = 0xFFFD;
  if (r < 0x80) {
    out += char(r);
  } else if (r < 0x800) {
    out += char(0xC0 | (r >> 6));
    out += char(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    out += char(0xE0 | (r >> 12));
    out += char(0x80 | ((r >> 6) & 0x3F));
    out += char(0x80 | (r & 0x3F));
  } else {
    out += char(0xF0 | (r >> 18));
    out += char(0x80 | ((r >> 12) & 0x3F));
    out += char(0x80 | ((r >> 6) & 0x3F));
    out += char(0x80 | (r & 0x3F));
  }
}

bool IsUnicodeSpace(int32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
  }
  return r >= 0x2000 && r <= 0x200A;
}

}  // namespace chasquid
