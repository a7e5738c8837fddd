#include "spf/record.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "base/strings.h"
#include "spf/chars.h"

namespace chasquid::spf {

namespace {

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

Result<Term> ParseMechanism(std::string_view t) {
  Term term;
  term.text = std::string(t);
  if (!t.empty() &&
      std::string_view("+-~?").find(t[0]) != std::string_view::npos) {
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
    while (k < t.size() &&
           (IsAlnum(t[k]) || t[k] == '-' || t[k] == '_' || t[k] == '.')) {
      ++k;
    }
    if (k > 0 && k < t.size() && t[k] == '=' && IsAlpha(t[0])) {
      Term m;
      m.text = std::string(t);
      m.name = AsciiToLower(t.substr(0, k));
      std::string_view value = t.substr(k + 1);
      if (m.name == "redirect" || m.name == "exp") {
        std::optional<Term>& slot =
            m.name == "redirect" ? rec.redirect : rec.exp;
        // §6: each may appear at most once.
        if (slot || !ValidDomainSpec(value)) {
          return Status::Permanent("invalid domain");
        }
        m.kind =
            m.name == "redirect" ? Term::Kind::kRedirect : Term::Kind::kExp;
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
