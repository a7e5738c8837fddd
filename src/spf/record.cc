#include "spf/record.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "base/strings.h"

namespace chasquid::spf {

namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }

// Strict dotted quad: qnum has no leading zeros (RFC 7208 §5.6 ABNF).
std::optional<std::array<uint8_t, 4>> ParseIPv4(std::string_view s) {
  std::array<uint8_t, 4> out{};
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
    size_t start = i;
    int v = 0;
    while (i < s.size() && IsDigit(s[i]) && i - start < 3) {
      v = v * 10 + (s[i] - '0');
      ++i;
    }
    size_t n = i - start;
    if (n == 0 || v > 255 || (n > 1 && s[start] == '0')) return std::nullopt;
    out[part] = static_cast<uint8_t>(v);
  }
  if (i != s.size()) return std::nullopt;
  return out;
}

// Parses a CIDR length with no leading zeros and at most `max`.
std::optional<int> ParseLength(std::string_view s, int max) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

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
      case '%': items.push_back({false, "%"}); continue;
      case '_': items.push_back({false, " "}); continue;
      case '-': items.push_back({false, "%20"}); continue;
      case '{': break;
      default: return std::nullopt;
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
    case 's': return ctx.sender;
    case 'l':
      return at == std::string::npos ? ctx.sender : ctx.sender.substr(0, at);
    case 'o':
      return at == std::string::npos ? ctx.sender : ctx.sender.substr(at + 1);
    case 'd': return ctx.domain;
    case 'h': return ctx.helo;
    case 'p': return ctx.validated;
    case 'v': return ctx.ip.v4 ? "in-addr" : "ip6";
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

Result<Term> ParseMechanism(std::string_view t) {
  Term term;
  term.text = std::string(t);
  if (!t.empty() && std::string_view("+-~?").find(t[0]) != std::string_view::npos) {
    term.qualifier = static_cast<Qualifier>(t[0]);
    t.remove_prefix(1);
  }
  size_t n = t.find_first_of(":/");
  std::string name = AsciiToLower(t.substr(0, n));
  std::string_view rest = n == std::string_view::npos ? "" : t.substr(n);
  term.name = name;
  auto domain_arg = [&](bool required, bool cidr) -> Status {
    std::string_view spec, mask;
    if (!rest.empty() && rest[0] == ':') {
      spec = rest.substr(1);
      // The domain-spec may itself contain '/' (RFC 7208 §7.1), so only an
      // all-digits suffix is a dual-cidr-length.
      auto digits = [](std::string_view d) {
        return !d.empty() && std::all_of(d.begin(), d.end(), IsDigit);
      };
      size_t cut = spec.size();
      size_t dd = spec.rfind("//");
      if (cidr && dd != std::string_view::npos && digits(spec.substr(dd + 2))) {
        cut = dd;
      }
      size_t slash = spec.substr(0, cut).rfind('/');
      if (cidr && slash != std::string_view::npos &&
          digits(spec.substr(slash + 1, cut - slash - 1))) {
        cut = slash;
      }
      mask = spec.substr(cut);
      spec = spec.substr(0, cut);
      if (!ValidDomainSpec(spec)) return Status::Permanent("invalid domain");
    } else if (required) {
      return Status::Permanent("invalid domain");
    } else {
      mask = rest;
    }
    term.domain_spec = std::string(spec);
    if (mask.empty()) return Status::Ok();
    if (!cidr) return Status::Permanent("invalid mask");
    // dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]
    std::string_view m4 = mask, m6;
    size_t dd = mask.find("//");
    if (dd != std::string_view::npos) {
      m4 = mask.substr(0, dd);
      m6 = mask.substr(dd + 2);
      auto v6 = ParseLength(m6, 128);
      if (!v6) return Status::Permanent("invalid mask");
      term.cidr6 = *v6;
    }
    if (!m4.empty()) {
      auto v4 = ParseLength(m4.substr(1), 32);
      if (m4[0] != '/' || !v4) return Status::Permanent("invalid mask");
      term.cidr4 = *v4;
    }
    return Status::Ok();
  };
  Status st;
  if (name == "all") {
    term.kind = Term::Kind::kAll;
    if (!rest.empty()) st = Status::Permanent("unknown field");
  } else if (name == "include" || name == "exists") {
    term.kind = name == "include" ? Term::Kind::kInclude : Term::Kind::kExists;
    st = domain_arg(true, false);
  } else if (name == "a" || name == "mx") {
    term.kind = name == "a" ? Term::Kind::kA : Term::Kind::kMX;
    st = domain_arg(false, true);
  } else if (name == "ptr") {
    term.kind = Term::Kind::kPTR;
    st = domain_arg(false, false);
  } else if (name == "ip4" || name == "ip6") {
    bool v4 = name == "ip4";
    term.kind = v4 ? Term::Kind::kIP4 : Term::Kind::kIP6;
    if (rest.empty() || rest[0] != ':') {
      return Status::Permanent(v4 ? "invalid ip4 value" : "invalid ip6 value");
    }
    std::string_view addr = rest.substr(1), len;
    size_t slash = addr.find('/');
    if (slash != std::string_view::npos) {
      len = addr.substr(slash + 1);
      addr = addr.substr(0, slash);
      auto l = ParseLength(len, v4 ? 32 : 128);
      if (!l) return Status::Permanent("invalid mask");
      (v4 ? term.cidr4 : term.cidr6) = *l;
    }
    if (v4) {
      auto a = ParseIPv4(addr);
      if (!a) return Status::Permanent("invalid ip4 value");
      std::copy(a->begin(), a->end(), term.ip.b.begin());
      term.ip.v4 = true;
    } else {
      // RFC 7208 §5.6: ip6-network is an IPv6 address in RFC 4291 text form;
      // an IPv4 address there is an error, a mapped one stays IPv6 here.
      std::string a(addr);
      if (inet_pton(AF_INET6, a.c_str(), term.ip.b.data()) != 1) {
        return Status::Permanent("invalid ip6 value");
      }
      term.ip.v4 = false;
    }
  } else {
    return Status::Permanent("unknown field");
  }
  if (!st.ok()) return st;
  return term;
}

}  // namespace

std::optional<IP> IP::Parse(std::string_view s) {
  IP ip;
  if (auto a = ParseIPv4(s)) {
    std::copy(a->begin(), a->end(), ip.b.begin());
    return ip;
  }
  std::string str(s);
  if (inet_pton(AF_INET6, str.c_str(), ip.b.data()) != 1) return std::nullopt;
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(ip.b.data(), kMapped, 12) == 0) {
    std::memmove(ip.b.data(), ip.b.data() + 12, 4);
    std::fill(ip.b.begin() + 4, ip.b.end(), 0);
    return ip;
  }
  ip.v4 = false;
  return ip;
}

bool IP::InPrefix(const IP& net, int bits) const {
  if (v4 != net.v4) return false;
  int full = bits / 8, rem = bits % 8;
  if (std::memcmp(b.data(), net.b.data(), full) != 0) return false;
  if (rem == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rem));
  return (b[full] & mask) == (net.b[full] & mask);
}

bool IsSPFRecord(std::string_view txt) {
  if (txt.size() < 6 || AsciiToLower(txt.substr(0, 6)) != "v=spf1") {
    return false;
  }
  return txt.size() == 6 || txt[6] == ' ';
}

bool ValidMacroString(std::string_view s, bool exp) {
  return Tokenize(s, exp).has_value();
}

Result<Record> ParseRecord(std::string_view txt) {
  if (!IsSPFRecord(txt)) return Status::Permanent("no SPF record");
  // RFC 7208 §3.1, §4.6.1: records are 7-bit ASCII and terms are separated
  // by spaces only; any other control character is a syntax error.
  for (unsigned char c : txt) {
    if (c < 0x20 || c >= 0x7f) return Status::Permanent("invalid character");
  }
  Record rec;
  size_t i = 6;
  while (i < txt.size()) {
    if (txt[i] == ' ') {
      ++i;
      continue;
    }
    size_t end = txt.find(' ', i);
    if (end == std::string_view::npos) end = txt.size();
    std::string_view t = txt.substr(i, end - i);
    i = end;
    // A modifier is name "=" ...; name = ALPHA *( ALPHA / DIGIT / "-" / "_"
    // / "." ). Anything else is a mechanism.
    size_t k = 0;
    while (k < t.size() && (IsAlnum(t[k]) || t[k] == '-' || t[k] == '_' ||
                            t[k] == '.')) {
      ++k;
    }
    if (k > 0 && k < t.size() && t[k] == '=' && IsAlpha(t[0])) {
      Term m;
      m.text = std::string(t);
      m.name = AsciiToLower(t.substr(0, k));
      std::string_view value = t.substr(k + 1);
      if (m.name == "redirect" || m.name == "exp") {
        std::optional<Term>& slot = m.name == "redirect" ? rec.redirect : rec.exp;
        // §6: each may appear at most once.
        if (slot || !ValidDomainSpec(value)) {
          return Status::Permanent("invalid domain");
        }
        m.kind = m.name == "redirect" ? Term::Kind::kRedirect : Term::Kind::kExp;
        m.domain_spec = std::string(value);
        slot = std::move(m);
      } else if (!ValidMacroString(value, false)) {
        return Status::Permanent("unknown field");
      }
      // Unknown modifiers are ignored (§6), after the syntax check above.
      continue;
    }
    auto term = ParseMechanism(t);
    if (!term.ok()) return term.status();
    rec.mechanisms.push_back(std::move(*term));
  }
  return rec;
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

bool ValidDomainName(std::string_view d) {
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  if (d.empty() || d.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = d.find('.', start);
    size_t len = (dot == std::string_view::npos ? d.size() : dot) - start;
    if (len == 0 || len > 63) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

}  // namespace chasquid::spf
