// Macro-strings (RFC 7208 §7): their syntax, and the expansion of a
// domain-spec against the values of one check. The record parser uses the
// syntax checks; check_host uses ExpandDomainSpec.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/strings.h"
#include "spf/chars.h"
#include "spf/record.h"

namespace chasquid::spf {

namespace {

// The characters a macro may split its value on (RFC 7208 §7.1).
constexpr std::string_view kDelimiters = ".-+,/_=";

// One item of a macro-string: a literal character, or a macro.
struct MacroItem {
  bool is_macro = false;  // %{...}
  std::string literal;    // Expansion of a literal or %%, %_, %-.
  char letter = 0;        // Macro letter as written (case kept).
  int digits = 0;         // 0: keep all.
  bool reverse = false;
  std::string delims;  // Empty: ".".
};

// Tokenises a macro-string (RFC 7208 §7.1). nullopt on a syntax error.
std::optional<std::vector<MacroItem>> Tokenize(std::string_view s, bool exp) {
  std::vector<MacroItem> items;
  std::string_view letters = exp ? "slodiphcrtv" : "slodiphv";
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '%') {
      // macro-literal = %x21-24 / %x26-7E (space is allowed in exp text).
      bool ok = (c >= 0x21 && c <= 0x7e) || (exp && c == ' ');
      if (!ok) return std::nullopt;
      items.push_back({false, std::string(1, c)});
      continue;
    }
    if (++i >= s.size()) return std::nullopt;
    switch (s[i]) {
      case '%':
        items.push_back({false, "%"});
        continue;
      case '_':
        items.push_back({false, " "});
        continue;
      case '-':
        items.push_back({false, "%20"});
        continue;
      case '{':
        break;
      default:
        return std::nullopt;
    }
    size_t end = s.find('}', i);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view body = s.substr(i + 1, end - i - 1);
    i = end;
    if (body.empty()) return std::nullopt;
    MacroItem m;
    m.is_macro = true;
    m.letter = body[0];
    if (letters.find(static_cast<char>(AsciiToLower(body.substr(0, 1))[0])) ==
        std::string_view::npos) {
      return std::nullopt;
    }
    size_t j = 1;
    if (j < body.size() && IsDigit(body[j])) {
      int v = 0;
      while (j < body.size() && IsDigit(body[j])) {
        v = std::min(v * 10 + (body[j] - '0'), 1000);
        ++j;
      }
      if (v == 0) return std::nullopt;  // "%{d0}" is not allowed (§7.3).
      m.digits = v;
    }
    if (j < body.size() && (body[j] == 'r' || body[j] == 'R')) {
      m.reverse = true;
      ++j;
    }
    for (; j < body.size(); ++j) {
      if (kDelimiters.find(body[j]) == std::string_view::npos) {
        return std::nullopt;
      }
      m.delims += body[j];
    }
    items.push_back(std::move(m));
  }
  return items;
}

bool ValidTopLabel(std::string_view l) {
  // toplabel = (*alphanum ALPHA *alphanum) /
  //            (1*alphanum "-" *(alphanum / "-") alphanum)
  if (l.empty()) return false;
  bool has_alpha = false, has_dash = false;
  for (char c : l) {
    if (IsAlpha(c)) {
      has_alpha = true;
    } else if (c == '-') {
      has_dash = true;
    } else if (!IsDigit(c)) {
      return false;
    }
  }
  if (!has_dash) return has_alpha;
  return IsAlnum(l.front()) && IsAlnum(l.back());
}

std::string PercentEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string MacroValue(char letter, const MacroContext& ctx) {
  size_t at = ctx.sender.rfind('@');
  switch (letter) {
    case 's':
      return ctx.sender;
    case 'l':
      return at == std::string::npos ? ctx.sender : ctx.sender.substr(0, at);
    case 'o':
      return at == std::string::npos ? ctx.sender : ctx.sender.substr(at + 1);
    case 'd':
      return ctx.domain;
    case 'h':
      return ctx.helo;
    case 'p':
      return ctx.validated;
    case 'v':
      return ctx.ip.v4 ? "in-addr" : "ip6";
    case 'i': {
      std::string out;
      if (ctx.ip.v4) {
        for (int k = 0; k < 4; ++k) {
          if (k) out += '.';
          out += std::to_string(ctx.ip.b[k]);
        }
      } else {
        static const char* kHex = "0123456789abcdef";
        for (int k = 0; k < 16; ++k) {
          if (k) out += '.';
          out += kHex[ctx.ip.b[k] >> 4];
          out += '.';
          out += kHex[ctx.ip.b[k] & 15];
        }
      }
      return out;
    }
  }
  return "";
}

std::string Transform(const MacroItem& m, const std::string& value) {
  const std::string delims = m.delims.empty() ? std::string(".") : m.delims;
  std::vector<std::string> parts;
  std::string cur;
  for (char c : value) {
    if (delims.find(c) != std::string::npos) {
      parts.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(std::move(cur));
  if (m.reverse) std::reverse(parts.begin(), parts.end());
  if (m.digits > 0 && static_cast<size_t>(m.digits) < parts.size()) {
    parts.erase(parts.begin(), parts.end() - m.digits);
  }
  std::string out;
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out += '.';
    out += parts[k];
  }
  return out;
}

}  // namespace

// domain-spec = macro-string domain-end;
// domain-end = ( "." toplabel [ "." ] ) / macro-expand.
bool ValidDomainSpec(std::string_view s) {
  auto items = Tokenize(s, false);
  if (!items || items->empty()) return false;
  const MacroItem& last = items->back();
  if (last.is_macro) return true;
  // %%, %_ and %- are macro-expands too: their literal is not one char, or is
  // "%" / " ", which can not be the end of a literal toplabel.
  if (last.literal == "%20" || last.literal == " " || last.literal == "%") {
    return true;
  }
  std::string_view t = s;
  if (!t.empty() && t.back() == '.') t.remove_suffix(1);
  size_t dot = t.rfind('.');
  if (dot == std::string_view::npos) return false;
  std::string_view top = t.substr(dot + 1);
  return top.find('%') == std::string_view::npos && ValidTopLabel(top);
}

bool ValidMacroString(std::string_view s, bool exp) {
  return Tokenize(s, exp).has_value();
}

Result<std::string> ExpandDomainSpec(std::string_view spec,
                                     const MacroContext& ctx) {
  auto items = Tokenize(spec, false);
  if (!items) return Status::Permanent("invalid macro");
  std::string out;
  for (const MacroItem& m : *items) {
    if (!m.is_macro) {
      out += m.literal;
      continue;
    }
    char lower = AsciiToLower(std::string_view(&m.letter, 1))[0];
    std::string v = Transform(m, MacroValue(lower, ctx));
    if (IsAlpha(m.letter) && m.letter >= 'A' && m.letter <= 'Z') {
      v = PercentEscape(v);
    }
    out += v;
  }
  // §7.3: drop labels from the left until it fits in 253 characters.
  while (out.size() > 253) {
    size_t dot = out.find('.');
    if (dot == std::string::npos) break;
    out.erase(0, dot + 1);
  }
  return out;
}

}  // namespace chasquid::spf
