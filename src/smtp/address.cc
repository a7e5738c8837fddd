#include "smtp/address.h"

#include "base/utf8.h"

namespace chasquid::smtp {

namespace {

// A recursive-descent parser over the token, following the structure of
// Go's net/mail addrParser so that accept/reject decisions match.
class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<std::string> ParseSingle() {
    SkipSpace();
    if (s_.empty()) return Err("no address");
    // addr-spec is tried first, then [phrase] angle-addr.
    std::string_view saved = s_;
    auto spec = AddrSpec();
    if (!spec.ok()) {
      s_ = saved;
      if (Peek() != '<') {
        auto phrase = Phrase();
        if (!phrase.ok()) return phrase.status();
      }
      SkipSpace();
      if (!Consume('<')) return Err("no angle-addr");
      spec = AddrSpec();
      if (!spec.ok()) return spec;
      if (!Consume('>')) return Err("unclosed angle-addr");
    }
    if (!SkipCfws()) return Err("misformatted parenthetical comment");
    if (!s_.empty()) return Err("expected single address");
    return spec;
  }

 private:
  static Status Err(std::string m) { return Status::Permanent("mail: " + m); }
  char Peek() const { return s_.empty() ? '\0' : s_[0]; }
  bool Consume(char c) {
    if (s_.empty() || s_[0] != c) return false;
    s_.remove_prefix(1);
    return true;
  }
  void SkipSpace() {
    while (!s_.empty() && (s_[0] == ' ' || s_[0] == '\t')) s_.remove_prefix(1);
  }

  // Skips comments and folding white space; false on a bad comment.
  bool SkipCfws() {
    SkipSpace();
    while (Consume('(')) {
      int depth = 1;
      while (depth > 0) {
        if (s_.empty()) return false;
        char c = s_[0];
        s_.remove_prefix(1);
        if (c == '\\') {
          if (s_.empty()) return false;
          s_.remove_prefix(1);
        } else if (c == '(') {
          depth++;
        } else if (c == ')') {
          depth--;
        }
      }
      SkipSpace();
    }
    return true;
  }

  static bool IsAtext(int32_t r, bool dot) {
    switch (r) {
      case '.':
        return dot;
      case '(':
      case ')':
      case '<':
      case '>':
      case '[':
      case ']':
      case ':':
      case ';':
      case '@':
      case '\\':
      case ',':
      case '"':
        return false;
    }
    return (r >= '!' && r <= '~') || r >= 0x80;
  }

  // dot-atom (dot=true) or atom; UTF-8 letters allowed (RFC 6532).
  Result<std::string> Atom(bool dot) {
    size_t i = 0;
    while (i < s_.size()) {
      auto [r, len] = DecodeRune(s_, i);
      if (r < 0) return Err("invalid utf-8 in address");
      if (!IsAtext(r, dot)) break;
      i += len;
    }
    if (i == 0) return Err("invalid string");
    std::string atom(s_.substr(0, i));
    s_.remove_prefix(i);
    if (dot && (atom.front() == '.' || atom.back() == '.' ||
                atom.find("..") != std::string::npos)) {
      return Err("invalid string");
    }
    return atom;
  }

  Result<std::string> QuotedString() {
    s_.remove_prefix(1);  // The opening quote.
    std::string out;
    bool escaped = false;
    for (size_t i = 0; i < s_.size();) {
      auto [r, len] = DecodeRune(s_, i);
      if (r < 0) return Err("invalid utf-8 in quoted-string");
      std::string_view ch = s_.substr(i, len);
      i += len;
      if (escaped) {
        if (!(r == '\t' || (r >= ' ' && r != 0x7F))) break;
        out += ch;
        escaped = false;
      } else if (r == '\\') {
        escaped = true;
      } else if (r == '"') {
        s_.remove_prefix(i);
        return out;
      } else if (r == '\t' || r == ' ' || (r > ' ' && r != 0x7F)) {
        out += ch;
      } else {
        return Err("bad character in quoted-string");
      }
    }
    return Err("unclosed quoted-string");
  }

  Result<std::string> AddrSpec() {
    std::string local;
    if (Peek() == '"') {
      auto q = QuotedString();
      if (!q.ok()) return q;
      local = *q;
    } else {
      auto a = Atom(true);
      if (!a.ok()) return a;
      local = *a;
    }
    if (!Consume('@')) return Err("missing @ in addr-spec");
    SkipSpace();
    if (s_.empty()) return Err("no domain in addr-spec");
    std::string domain;
    if (Peek() == '[') {
      size_t end = s_.find(']');
      if (end == std::string_view::npos) return Err("unclosed domain-literal");
      for (size_t i = 1; i < end; i++) {
        unsigned char c = s_[i];
        // dtext (RFC 5322 §3.4.1), UTF-8 allowed by RFC 6532.
        if (c < '!' || c == '[' || c == '\\' || c == 0x7F) {
          return Err("bad character in domain-literal");
        }
      }
      domain = std::string(s_.substr(0, end + 1));
      s_.remove_prefix(end + 1);
    } else {
      auto a = Atom(true);
      if (!a.ok()) return a;
      domain = *a;
    }
    return local + "@" + domain;
  }

  // phrase = 1*word, word = atom / quoted-string; only used to skip a
  // display name glued to the angle-addr.
  Result<std::string> Phrase() {
    std::string out;
    while (true) {
      SkipSpace();
      if (Peek() == '"') {
        auto q = QuotedString();
        if (!q.ok()) return q;
        out += *q;
      } else if (!s_.empty() && Peek() != '<') {
        auto a = Atom(true);
        if (!a.ok()) break;
        out += *a;
      } else {
        break;
      }
    }
    if (out.empty()) return Err("missing word in phrase");
    return out;
  }

  std::string_view s_;
};

}  // namespace

std::optional<std::string> FirstToken(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto [r, len] = DecodeRune(s, i);
    if (!IsUnicodeSpace(r)) break;
    i += len;
  }
  size_t start = i;
  while (i < s.size()) {
    auto [r, len] = DecodeRune(s, i);
    if (IsUnicodeSpace(r)) break;
    i += len;
  }
  if (i == start) return std::nullopt;
  return std::string(s.substr(start, i - start));
}

std::optional<std::string_view> StripVerbPrefix(std::string_view params,
                                                std::string_view prefix) {
  if (params.size() < prefix.size()) return std::nullopt;
  for (size_t i = 0; i < prefix.size(); i++) {
    char c = params[i];
    if (c >= 'A' && c <= 'Z') c = c - 'A' + 'a';
    if (c != prefix[i]) return std::nullopt;
  }
  return params.substr(prefix.size());
}

Result<std::string> ParseAddress(std::string_view token) {
  return Parser(token).ParseSingle();
}

}  // namespace chasquid::smtp
