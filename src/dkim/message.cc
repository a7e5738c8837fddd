#include "dkim/message.h"

#include <algorithm>

#include "base/strings.h"

namespace chasquid::dkim {

namespace {

bool IsWSP(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimWS(std::string_view s) {
  auto ws = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Only decimal digits; Go's strconv.ParseUint error texts.
Result<uint64_t> ParseUint(std::string_view s) {
  std::string q = GoQuote(s);
  if (s.empty())
    return Status::Permanent("strconv.ParseUint: parsing " + q +
                             ": invalid syntax");
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return Status::Permanent("strconv.ParseUint: parsing " + q +
                               ": invalid syntax");
    }
    if (v > (UINT64_MAX - (c - '0')) / 10) {
      return Status::Permanent("strconv.ParseUint: parsing " + q +
                               ": value out of range");
    }
    v = v * 10 + (c - '0');
  }
  return v;
}

Result<Canon> ParseCanon(std::string_view s) {
  if (s == "simple") return Canon::kSimple;
  if (s == "relaxed") return Canon::kRelaxed;
  return Status::Permanent("unknown canonicalization: " + std::string(s));
}

}  // namespace

Result<Message> ParseMessage(std::string_view crlf) {
  Message m;
  size_t pos = 0;
  bool in_body = false;
  while (pos < crlf.size()) {
    size_t end = crlf.find("\r\n", pos);
    std::string_view line =
        crlf.substr(pos, end == std::string_view::npos ? std::string_view::npos
                                                       : end - pos);
    size_t next = end == std::string_view::npos ? crlf.size() : end + 2;
    if (line.empty()) {
      in_body = true;
      pos = next;
      break;
    }
    if (IsWSP(line[0])) {
      if (m.headers.empty()) {
        return Status::Permanent("invalid header: bad continuation");
      }
      Header& h = m.headers.back();
      h.value.append("\r\n").append(line);
      h.raw.append("\r\n").append(line);
    } else {
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        return Status::Permanent("invalid header: no colon");
      }
      m.headers.push_back({std::string(line.substr(0, colon)),
                           std::string(line.substr(colon + 1)),
                           std::string(line)});
    }
    pos = next;
  }
  if (in_body) m.body = std::string(crlf.substr(pos));
  return m;
}

std::string RelaxedHeader(std::string_view name, std::string_view value) {
  std::string n = AsciiToLower(name);
  while (!n.empty() && IsWSP(n.back())) n.pop_back();
  std::string v;
  bool space = false;
  for (char c : value) {
    if (c == '\r' || c == '\n') continue;  // Unfold.
    if (IsWSP(c)) {
      space = true;
      continue;
    }
    if (space && !v.empty()) v += ' ';
    space = false;
    v += c;
  }
  return n + ":" + v;
}

std::string SimpleHeader(const Header& h) { return h.raw; }

std::string RelaxedBody(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\r\n", pos);
    bool has_crlf = end != std::string_view::npos;
    std::string_view line = body.substr(pos, has_crlf ? end - pos : body.npos);
    // RFC 6376 §3.4.4: drop trailing WSP, collapse inner WSP runs to one SP.
    while (!line.empty() && IsWSP(line.back())) line.remove_suffix(1);
    bool space = false;
    for (char c : line) {
      if (IsWSP(c)) {
        space = true;
        continue;
      }
      if (space) out += ' ';
      space = false;
      out += c;
    }
    if (has_crlf) out += "\r\n";
    pos = has_crlf ? end + 2 : body.size();
  }
  // Empty lines at the end are ignored; a non-empty body ends in one CRLF.
  // RFC 6376 §3.4.4: a body of only empty lines is empty (chasquid keeps a
  // CRLF there, a deviation that we do not keep).
  while (out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0) {
    out.resize(out.size() - 2);
  }
  if (!out.empty()) out += "\r\n";
  return out;
}

std::string SimpleBody(std::string_view body) {
  std::string out(body);
  while (out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0) {
    out.resize(out.size() - 2);
  }
  out += "\r\n";
  return out;
}

BodyCanonicalizer::BodyCanonicalizer(Canon c, Sink sink)
    : canon_(c), sink_(std::move(sink)) {
  buf_.reserve(kFlush + 2);
}

void BodyCanonicalizer::Flush() {
  if (buf_.empty()) return;
  sink_(buf_);
  buf_.clear();
}

// A byte that is part of a line (not its CRLF).
void BodyCanonicalizer::Content(char c) {
  if (canon_ == Canon::kRelaxed && IsWSP(c)) {
    // Collapsed into one SP, or dropped at the end of the line.
    space_ = true;
    return;
  }
  // The line ends held so far were not trailing ones after all.
  for (; crlfs_ > 0; --crlfs_) {
    Put('\r');
    Put('\n');
  }
  if (space_) Put(' ');
  space_ = false;
  any_ = true;
  Put(c);
}

void BodyCanonicalizer::Write(std::string_view crlf) {
  for (char c : crlf) {
    if (cr_) {
      cr_ = false;
      if (c == '\n') {
        ++crlfs_;
        space_ = false;  // Trailing WSP of the line is dropped.
        continue;
      }
      Content('\r');  // A CR alone is an ordinary byte.
    }
    if (c == '\r') {
      cr_ = true;
      continue;
    }
    Content(c);
  }
}

void BodyCanonicalizer::Finish() {
  if (cr_) Content('\r');
  cr_ = false;
  // Trailing empty lines are dropped; the body ends in one CRLF (simple:
  // always; relaxed: unless it is empty).
  crlfs_ = 0;
  if (canon_ == Canon::kSimple || any_) {
    Put('\r');
    Put('\n');
  }
  Flush();
}

std::string Base64Encode(std::string_view data) {
  static const char* kAlpha =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) |
                 uint8_t(data[i + 2]);
    out += kAlpha[v >> 18];
    out += kAlpha[(v >> 12) & 63];
    out += kAlpha[(v >> 6) & 63];
    out += kAlpha[v & 63];
  }
  if (i < data.size()) {
    uint32_t v = uint8_t(data[i]) << 16;
    if (i + 1 < data.size()) v |= uint8_t(data[i + 1]) << 8;
    out += kAlpha[v >> 18];
    out += kAlpha[(v >> 12) & 63];
    out += i + 1 < data.size() ? kAlpha[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view s) {
  auto err = [](size_t at) {
    return Status::Permanent("illegal base64 data at input byte " +
                             std::to_string(at));
  };
  std::string out;
  out.reserve(s.size() / 4 * 3);
  size_t i = 0;
  while (i < s.size()) {
    int vals[4];
    int n = 0;
    for (; n < 4; ++n) {
      if (i + n >= s.size()) {
        return err(i + n == s.size() ? s.size() : i + n);
      }
      char c = s[i + n];
      if (c == '=') break;
      vals[n] = B64Value(c);
      if (vals[n] < 0) return err(i + n);
    }
    if (n < 4) {
      // Padding: "xx==" or "xxx=", and it must end the input.
      if (n < 2) return err(i + n);
      size_t pads = 4 - n;
      for (size_t k = 0; k < pads; ++k) {
        if (i + n + k >= s.size() || s[i + n + k] != '=') {
          return err(i + n + k);
        }
      }
      if (i + 4 != s.size()) return err(i + 4);
    }
    uint32_t v = 0;
    for (int k = 0; k < n; ++k) v |= uint32_t(vals[k]) << (18 - 6 * k);
    out += char(v >> 16);
    if (n > 2) out += char((v >> 8) & 255);
    if (n > 3) out += char(v & 255);
    i += 4;
  }
  return out;
}

std::string StripWhitespace(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') out += c;
  }
  return out;
}

Result<Tags> ParseTags(std::string_view s) {
  s = TrimWS(s);
  if (!s.empty() && s.back() == ';') s.remove_suffix(1);
  Tags tags;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(';', pos);
    if (end == std::string_view::npos) end = s.size();
    std::string_view elem = s.substr(pos, end - pos);
    pos = end + 1;
    size_t eq = elem.find('=');
    if (eq == std::string_view::npos) {
      return Status::Permanent("invalid tag: missing '='");
    }
    std::string name(TrimWS(elem.substr(0, eq)));
    if (name.empty()) return Status::Permanent("invalid tag: missing tag name");
    if (tags.count(name))
      return Status::Permanent("invalid tag: duplicate tag");
    tags[name] = std::string(TrimWS(elem.substr(eq + 1)));
  }
  return tags;
}

Result<Signature> ParseSignature(std::string_view value) {
  auto tags = ParseTags(value);
  if (!tags.ok()) return tags.status();
  auto get = [&](const char* n) -> std::string {
    auto it = tags->find(n);
    return it == tags->end() ? "" : it->second;
  };
  auto has = [&](const char* n) { return tags->count(n) > 0; };
  Signature sig;
  if (get("v") != "1") return Status::Permanent("invalid version");
  std::string a = get("a");
  size_t dash = a.find('-');
  if (dash == std::string::npos) return Status::Permanent("invalid a= tag");
  sig.algorithm = a;
  sig.key_type = a.substr(0, dash);
  if (sig.key_type != "rsa" && sig.key_type != "ed25519") {
    return Status::Permanent("unsupported key type: " + a);
  }
  // sha1 is refused (RFC 8301).
  if (a.substr(dash + 1) != "sha256") {
    return Status::Permanent("unsupported hash: " + a);
  }
  sig.b64 = StripWhitespace(get("b"));
  auto b = Base64Decode(sig.b64);
  if (!b.ok()) {
    return Status::Permanent("invalid signature: failed to decode b: " +
                             b.status().message());
  }
  sig.b = *b;
  auto bh = Base64Decode(StripWhitespace(get("bh")));
  if (!bh.ok()) {
    return Status::Permanent("invalid signature: failed to decode bh: " +
                             bh.status().message());
  }
  sig.bh = *bh;
  std::string c = get("c");
  if (!c.empty()) {
    size_t slash = c.find('/');
    auto hc = ParseCanon(c.substr(0, slash));
    if (!hc.ok()) {
      return Status::Permanent(
          "invalid signature: failed to parse c: header: " +
          hc.status().message());
    }
    sig.header_canon = *hc;
    if (slash != std::string::npos) {
      auto bc = ParseCanon(c.substr(slash + 1));
      if (!bc.ok()) {
        return Status::Permanent(
            "invalid signature: failed to parse c: body: " +
            bc.status().message());
      }
      sig.body_canon = *bc;
    }
  }
  if (has("l")) {
    auto l = ParseUint(get("l"));
    if (!l.ok()) {
      return Status::Permanent("invalid signature: failed to parse l: " +
                               l.status().message());
    }
    sig.length = *l;
  }
  if (has("q")) {
    bool dns = false;
    for (const std::string& m : Split(StripWhitespace(get("q")), ":")) {
      if (m == "dns/txt") dns = true;
    }
    if (!dns) {
      return Status::Permanent(
          "invalid signature: no dns/txt query method in q");
    }
  }
  for (const char* t : {"t", "x"}) {
    if (!has(t)) continue;
    std::string v = StripWhitespace(get(t));
    if (!v.empty() && v[0] == '-') {
      return Status::Permanent(
          std::string("invalid signature: failed to parse ") + t +
          ": negative timestamp");
    }
    auto n = ParseUint(v);
    if (!n.ok()) {
      return Status::Permanent(
          std::string("invalid signature: failed to parse ") + t + ": " +
          n.status().message());
    }
  }
  for (const char* t : {"a", "b", "bh", "d", "h", "s"}) {
    if (get(t).empty()) {
      return Status::Permanent(std::string("missing required tag: ") + t + "=");
    }
  }
  sig.domain = get("d");
  sig.selector = get("s");
  bool from = false;
  for (const std::string& h : Split(StripWhitespace(get("h")), ":")) {
    sig.headers.push_back(h);
    if (AsciiToLower(h) == "from") from = true;
  }
  if (!from) {
    return Status::Permanent("invalid tag: h= does not contain 'from'");
  }
  if (has("i")) {
    sig.identity = get("i");
    size_t at = sig.identity.rfind('@');
    std::string idom = AsciiToLower(
        at == std::string::npos ? sig.identity : sig.identity.substr(at + 1));
    std::string d = AsciiToLower(sig.domain);
    if (idom != d &&
        !(idom.size() > d.size() && idom.compare(idom.size() - d.size() - 1,
                                                 d.size() + 1, "." + d) == 0)) {
      return Status::Permanent("invalid tag: i= is not a subdomain of d=");
    }
  }
  return sig;
}

Result<KeyRecord> ParseKeyRecord(std::string_view txt) {
  auto tags = ParseTags(txt);
  if (!tags.ok()) return tags.status();
  KeyRecord k;
  for (const auto& [name, value] : *tags) {
    if (name == "v") {
      if (value != "DKIM1") return Status::Permanent("invalid version");
    } else if (name == "h") {
      for (const std::string& h : Split(StripWhitespace(value), ":")) {
        // RFC 6376 §3.6.1: unknown hashes are ignored; a key whose list
        // has no hash we can use is unusable (see dkim.cc), unlike
        // chasquid's "empty means any".
        k.hashes.push_back(AsciiToLower(h));
      }
    } else if (name == "k") {
      if (value != "rsa" && value != "ed25519") {
        return Status::Permanent("unsupported key type: " + value);
      }
      k.key_type = value;
    } else if (name == "p") {
      auto p = Base64Decode(StripWhitespace(value));
      if (!p.ok()) return p.status();
      k.p = *p;
    } else if (name == "t") {
      for (const std::string& f : Split(StripWhitespace(value), ":")) {
        if (f == "s") k.strict = true;
      }
    }
  }
  if (k.p.empty()) return Status::Permanent("revoked or missing key (p=)");
  if (k.key_type == "ed25519" && k.p.size() != 32) {
    return Status::Permanent("invalid ed25519 key size");
  }
  return k;
}

std::string RemoveBValue(std::string_view value) {
  std::string out;
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t end = value.find(';', pos);
    if (end == std::string_view::npos) end = value.size();
    std::string_view elem = value.substr(pos, end - pos);
    size_t eq = elem.find('=');
    if (eq != std::string_view::npos && TrimWS(elem.substr(0, eq)) == "b") {
      out.append(elem.substr(0, eq + 1));
    } else {
      out.append(elem);
    }
    if (end < value.size()) out += ';';
    pos = end + 1;
  }
  return out;
}

}  // namespace chasquid::dkim
