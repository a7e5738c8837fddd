#include "smtp/from_header.h"

#include "base/strings.h"

namespace chasquid::smtp {

namespace {

bool IsFrom(std::string_view name) {
  if (name.size() != 4) return false;
  for (size_t i = 0; i < 4; i++) {
    if ((name[i] | 0x20) != "from"[i]) return false;
  }
  return true;
}

// The unfolded values of every From: header in the header block.
std::vector<std::string> FromValues(std::string_view data) {
  std::vector<std::string> out;
  bool in_from = false;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    std::string_view line = data.substr(
        pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? data.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // End of the header block.
    if (line[0] == ' ' || line[0] == '\t') {
      if (in_from) out.back() += std::string(line);
      continue;
    }
    size_t colon = line.find(':');
    in_from = colon != std::string_view::npos &&
              IsFrom(TrimSpace(line.substr(0, colon)));
    if (in_from) out.emplace_back(line.substr(colon + 1));
  }
  return out;
}

struct Mailbox {
  std::string bare;   // Outside comments and angle brackets.
  std::string angle;  // Inside <...>.
  int angles = 0;
  bool after_angle_text = false;  // Words after the closing '>'.
};

Status Malformed() { return Status::Permanent("malformed From header"); }

// Drops whitespace outside quoted strings ("a @ b" is obsolete syntax for
// "a@b"; inside quotes a space is part of the local part).
std::string StripWsp(const std::string& s) {
  std::string out;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (quoted && c == '\\' && i + 1 < s.size()) {
      out += c;
      out += s[++i];
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (quoted || (c != ' ' && c != '\t')) out += c;
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> HeaderFromAddresses(std::string_view data) {
  auto values = FromValues(data);
  if (values.empty()) return Status::Permanent("no From header");
  if (values.size() > 1) {
    return Status::Permanent("more than one From header");
  }
  const std::string& v = values[0];
  std::vector<std::string> addrs;
  Mailbox mb;
  bool in_angle = false, in_quote = false, angle_closed = false;
  int comment = 0;
  auto finish = [&]() -> Status {
    std::string addr = StripWsp(mb.angles ? mb.angle : mb.bare);
    if (mb.angles > 1 || mb.after_angle_text) return Malformed();
    if (!mb.angles && addr.empty()) {  // "a, ,b" or an empty group.
      mb = Mailbox();
      return Status::Ok();
    }
    // An obsolete source route, "<@a,@b:user@d>": the address is last.
    if (size_t c = addr.rfind(':'); mb.angles && c != std::string::npos) {
      addr = addr.substr(c + 1);
    }
    if (addr.find('@') == std::string::npos) return Malformed();
    addrs.push_back(addr);
    mb = Mailbox();
    angle_closed = false;
    return Status::Ok();
  };
  for (size_t i = 0; i < v.size(); i++) {
    char c = v[i];
    std::string* dst = in_angle ? &mb.angle : &mb.bare;
    if (comment > 0) {
      if (c == '\\') {
        i++;
      } else if (c == '(') {
        comment++;
      } else if (c == ')') {
        comment--;
      }
      continue;
    }
    if (in_quote) {
      // Kept verbatim, quotes and escapes included: a quoted local part
      // ("john doe"@d) is a different mailbox from johndoe@d, and a
      // display name is dropped whole anyway.
      if (c == '\\' && i + 1 < v.size()) {
        *dst += c;
        *dst += v[++i];
      } else {
        if (c == '"') in_quote = false;
        *dst += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_quote = true;
        if (angle_closed) mb.after_angle_text = true;
        *dst += c;
        break;
      case '(':
        comment = 1;
        break;
      case '<':
        if (in_angle) return Malformed();
        in_angle = true;
        mb.angles++;
        break;
      case '>':
        if (!in_angle) return Malformed();
        in_angle = false;
        angle_closed = true;
        break;
      case ',':
      case ';':
        if (in_angle) {
          *dst += c;  // Inside a source route.
          break;
        }
        if (Status s = finish(); !s.ok()) return s;
        break;
      case ':':
        if (in_angle) {
          *dst += c;
          break;
        }
        // A group's display name: what came before is not an address.
        if (mb.angles) return Malformed();
        mb = Mailbox();
        break;
      default:
        if (angle_closed && c != ' ' && c != '\t') {
          mb.after_angle_text = true;
        }
        *dst += c;
    }
  }
  if (in_angle || in_quote || comment > 0) return Malformed();
  if (Status s = finish(); !s.ok()) return s;
  if (addrs.empty()) return Status::Permanent("empty From header");
  return addrs;
}

}  // namespace chasquid::smtp
