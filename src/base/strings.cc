#include "base/strings.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <unicode/uchar.h>

#include "base/utf8.h"

namespace chasquid {

namespace {

// Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols
// (Unicode categories L, M, N, P, S) and the ASCII space. The categories
// come from ICU, already a dependency for IDNA and PRECIS; Debian 12's
// ICU 72 and Go 1.25 both implement Unicode 15.0, so both call the same
// runes printable (a hand-written table would drift with every release).
bool IsPrint(int32_t r) {
  if (r < 0x80) return r >= 0x20 && r < 0x7F;
  constexpr uint32_t kPrintable =
      U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK | U_GC_P_MASK | U_GC_S_MASK;
  return (U_GET_GC_MASK(r) & kPrintable) != 0;
}

void AppendHex(std::string& out, const char* prefix, int digits, uint32_t v) {
  static const char kHex[] = "0123456789abcdef";
  out += prefix;
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
    out += kHex[(v >> shift) & 0xF];
  }
}

}  // namespace

// The one quoter for every Go-quoted text (Go's strconv.Quote and
// QuoteToASCII): '"' and '\\' get a backslash; printable runes are copied
// (with ascii_only, only the ASCII ones); \a \b \f \n \r \t \v stand for
// those controls; \xNN for other runes below U+0080 and for every byte
// that starts no valid UTF-8 sequence; \uNNNN or \UNNNNNNNN (lower-case
// hex) for every other rune.
std::string GoQuote(std::string_view s, bool ascii_only) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (size_t i = 0; i < s.size();) {
    auto [r, len] = DecodeRune(s, i);
    if (r < 0) {  // A byte that starts no valid UTF-8 sequence.
      AppendHex(out, "\\x", 2, static_cast<unsigned char>(s[i]));
      i += 1;
      continue;
    }
    std::string_view bytes = s.substr(i, len);
    i += len;
    if (r == '"' || r == '\\') {
      out += '\\';
      out += static_cast<char>(r);
      continue;
    }
    if (IsPrint(r) && (r < 0x80 || !ascii_only)) {
      out += bytes;
      continue;
    }
    switch (r) {
      case '\a':
        out += "\\a";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\v':
        out += "\\v";
        continue;
    }
    if (r < 0x20 || r == 0x7F) {
      AppendHex(out, "\\x", 2, r);
    } else if (r < 0x10000) {
      AppendHex(out, "\\u", 4, r);
    } else {
      AppendHex(out, "\\U", 8, r);
    }
  }
  out += '"';
  return out;
}

std::string ErrnoText(int err) {
  // Go's syscall error table is glibc's strerror with a lower-case first
  // letter for the errors we can meet.
  std::string s = strerror(err);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = s[0] - 'A' + 'a';
  return s;
}

std::string PathError(std::string_view op, std::string_view path, int err) {
  return std::string(op) + " " + std::string(path) + ": " + ErrnoText(err);
}

Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view orig) {
  auto invalid = [&] {
    return Status::Error("time: invalid duration " + GoQuote(orig));
  };
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return invalid();
  long double total = 0;
  while (!s.empty()) {
    // Go's form: digits, then optionally '.' and more digits, with at
    // least one digit in all. A second '.' starts the unit, which is then
    // missing ("1.2.3s"), as in Go.
    size_t i = 0, digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < s.size() && s[i] == '.') {
      i++;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (digits == 0) return invalid();
    std::string num(s.substr(0, i));
    s.remove_prefix(i);
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && !(s[u] >= '0' && s[u] <= '9')) u++;
    std::string_view unit = s.substr(0, u);
    if (unit.empty()) {
      return Status::Error("time: missing unit in duration " + GoQuote(orig));
    }
    s.remove_prefix(u);
    long double mult;
    if (unit == "ns")
      mult = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
      mult = 1e3;
    else if (unit == "ms")
      mult = 1e6;
    else if (unit == "s")
      mult = 1e9;
    else if (unit == "m")
      mult = 60e9;
    else if (unit == "h")
      mult = 3600e9;
    else
      return Status::Error("time: unknown unit " + GoQuote(unit) +
                           " in duration " + GoQuote(orig));
    // strtold, not std::stold: a thousand digits overflow to infinity
    // (caught below) instead of throwing out of the config loader.
    total += std::strtold(num.c_str(), nullptr) * mult;
  }
  if (total > 9.2e18L) return invalid();
  auto ns = static_cast<int64_t>(std::llround(total));
  return std::chrono::nanoseconds(neg ? -ns : ns);
}

std::string FormatGoDuration(std::chrono::nanoseconds d) {
  int64_t v = d.count();
  if (v == 0) return "0s";
  std::string sign = v < 0 ? "-" : "";
  uint64_t u = v < 0 ? -static_cast<uint64_t>(v) : v;
  auto frac = [](uint64_t value, uint64_t unit) {
    std::string out = std::to_string(value / unit);
    uint64_t rem = value % unit;
    if (rem) {
      std::string f;
      for (uint64_t p = unit / 10; p > 0; p /= 10) {
        f += static_cast<char>('0' + (rem / p) % 10);
      }
      while (!f.empty() && f.back() == '0') f.pop_back();
      out += "." + f;
    }
    return out;
  };
  if (u < 1000) return sign + std::to_string(u) + "ns";
  if (u < 1000000) return sign + frac(u, 1000) + "\xC2\xB5s";
  if (u < 1000000000) return sign + frac(u, 1000000) + "ms";
  std::string out = sign;
  uint64_t secs_ns = u % 60000000000ULL;
  uint64_t mins = u / 60000000000ULL;
  if (mins >= 60) {
    out += std::to_string(mins / 60) + "h";
    out += std::to_string(mins % 60) + "m";
  } else if (mins > 0) {
    out += std::to_string(mins) + "m";
  }
  out += frac(secs_ns, 1000000000) + "s";
  return out;
}

std::vector<std::string> Split(std::string_view s, std::string_view sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, p - start));
    start = p + sep.size();
  }
}

std::string_view TrimSpace(std::string_view s) {
  auto sp = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
  };
  while (!s.empty() && sp(s.front())) s.remove_prefix(1);
  while (!s.empty() && sp(s.back())) s.remove_suffix(1);
  return s;
}

bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string AsciiToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = c - 'A' + 'a';
  }
  return out;
}

std::string AsciiToUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = c - 'a' + 'A';
  }
  return out;
}

std::string ToCRLF(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 32 + 2);
  size_t i = 0;
  while (i < s.size()) {
    // Line by line with memchr: a per-byte loop showed in the profiles.
    const void* p = memchr(s.data() + i, '\n', s.size() - i);
    size_t nl = p ? static_cast<const char*>(p) - s.data() : s.size();
    out.append(s.data() + i, nl - i);
    if (nl == s.size()) break;
    if (nl == 0 || s[nl - 1] != '\r') out += '\r';
    out += '\n';
    i = nl + 1;
  }
  return out;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto [r, len] = DecodeRune(s, i);
    if (r < 0) return false;
    i += len;
  }
  return true;
}

std::string QueryEscape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      char buf[4];
      snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

Result<std::string> QueryUnescape(std::string_view s) {
  std::string out;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) {
        std::string bad(s.substr(i, std::min<size_t>(3, s.size() - i)));
        return Status::Error("invalid URL escape " + GoQuote(bad));
      }
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string GoJsonQuote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    auto [r, n] = DecodeRune(s, i);
    if (r < 0) {
      out += "\\ufffd";
      i++;
      continue;
    }
    if (r >= 0x80) {
      if (r == 0x2028 || r == 0x2029) {
        out += r == 0x2028 ? "\\u2028" : "\\u2029";
      } else {
        out.append(s.substr(i, n));
      }
      i += n;
      continue;
    }
    unsigned char c = s[i++];
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == '<' || c == '>' || c == '&') {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string Rfc1123ZNow() {
  time_t now = time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S %z", &tm);
  return buf;
}

}  // namespace chasquid
