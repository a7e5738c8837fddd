#include "smtp/command.h"

#include <unicode/uchar.h>

#include "base/strings.h"
#include "base/utf8.h"

namespace chasquid::smtp {

std::string ToUpperUnicode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    if (c < 0x80) {
      out += (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : char(c);
      i++;
      continue;
    }
    auto [r, len] = DecodeRune(s, i);
    i += len;
    if (r < 0) r = 0xFFFD;  // Go's strings.Map replaces invalid bytes.
    AppendRune(out, u_toupper(r));
  }
  return out;
}

Command ParseCommand(std::string_view line) {
  Command c;
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) {
    c.verb = ToUpperUnicode(line);
  } else {
    c.verb = ToUpperUnicode(line.substr(0, sp));
    c.params = std::string(line.substr(sp + 1));
  }
  return c;
}

std::string UnknownCommandLabel(std::string_view verb) {
  // Go's %.6q truncates to 6 runes before quoting.
  size_t i = 0;
  for (int runes = 0; runes < 6 && i < verb.size(); runes++) {
    i += DecodeRune(verb, i).second;
  }
  return "unknown<" + GoQuote(verb.substr(0, i)) + ">";
}

}  // namespace chasquid::smtp
