#include "normalize/normalize.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <vector>

#include "base/strings.h"
#include "normalize/precis.h"
#include "normalize/punycode.h"
#include "normalize/utf8.h"

namespace chasquid::normalize {

namespace {

const char kDisallowed[] = "precis: disallowed rune encountered";
const char kBidi[] = "bidirule: failed Bidi Rule";

bool IsAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

std::string Nfc(std::string_view s) {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(err);
  if (U_FAILURE(err)) return std::string(s);
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(
      icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  icu::UnicodeString n = nfc->normalize(u, err);
  if (U_FAILURE(err)) return std::string(s);
  std::string out;
  n.toUTF8String(out);
  return out;
}

// Go's strings.ToLower: simple (one-to-one) lower-casing per rune; invalid
// UTF-8 becomes U+FFFD.
std::string SimpleLower(std::string_view s) {
  if (IsAscii(s)) return AsciiToLower(s);
  std::string out;
  for (char32_t r : DecodeUtf8Lossy(s)) {
    AppendUtf8(static_cast<char32_t>(u_tolower(static_cast<UChar32>(r))), &out);
  }
  return out;
}

bool ContainsRune(std::string_view set, char32_t r) {
  for (char32_t x : DecodeUtf8Lossy(set)) {
    if (x == r) return true;
  }
  return false;
}

std::string UserOrOriginal(const std::string& u) {
  auto n = User(u);
  return n.ok() ? *n : u;
}

}  // namespace

Result<std::string> User(std::string_view user) {
  if (IsAscii(user)) {
    // Go's fast path: lower-case A-Z, then only 0x21-0x7E are allowed.
    std::string out(user);
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c < 0x21 || c > 0x7E) return Status::Error(kDisallowed);
    }
    return out;
  }
  if (!IsValidUtf8(user)) return Status::Error(kDisallowed);
  std::vector<char32_t> runes = precis::MapAndNormalize(DecodeUtf8Lossy(user));
  if (!precis::BidiRuleValid(runes)) return Status::Error(kBidi);
  if (!precis::IdentifierClassValid(runes)) return Status::Error(kDisallowed);
  return EncodeUtf8(runes);
}

Result<std::string> Domain(std::string_view domain) {
  // IDNA "Punycode" profile ToUnicode: only decode the exact "xn--" prefix,
  // no mapping and no validation.
  std::string decoded;
  size_t start = 0;
  while (true) {
    size_t dot = domain.find('.', start);
    std::string_view label = domain.substr(start, dot == std::string_view::npos
                                                      ? std::string_view::npos
                                                      : dot - start);
    if (HasPrefix(label, "xn--")) {
      auto u = PunycodeDecode(label.substr(4));
      if (!u.ok()) return u.status();
      decoded += *u;
    } else {
      decoded += label;
    }
    if (dot == std::string_view::npos) break;
    decoded += '.';
    start = dot + 1;
  }
  return SimpleLower(Nfc(decoded));
}

std::pair<std::string, std::string> Split(std::string_view addr) {
  size_t at = addr.find('@');
  if (at == std::string_view::npos) return {std::string(addr), ""};
  return {std::string(addr.substr(0, at)), std::string(addr.substr(at + 1))};
}

Result<std::string> Addr(std::string_view addr) {
  auto [user, domain] = Split(addr);
  auto u = User(user);
  if (!u.ok()) return u.status();
  auto d = Domain(domain);
  if (!d.ok()) return d.status();
  return *u + "@" + *d;
}

Result<std::string> DomainToUnicode(std::string_view addr) {
  if (addr == "<>") return std::string(addr);
  auto [user, domain] = Split(addr);
  auto d = Domain(domain);
  if (!d.ok()) return d.status();
  return user + "@" + *d;
}

std::string RemoveDropCharacters(std::string_view addr, std::string_view seps,
                                 std::string_view drops) {
  auto [user, domain] = Split(addr);
  std::string nu;
  for (size_t i = 0; i < user.size();) {
    size_t len;
    char32_t r = DecodeRuneAt(user, i, &len);
    if (ContainsRune(seps, r)) {
      nu += user.substr(i);  // The suffix is kept verbatim.
      break;
    }
    if (!ContainsRune(drops, r)) AppendUtf8(r, &nu);
    i += len;
  }
  return UserOrOriginal(nu) + "@" + domain;
}

std::string RemoveDropsAndSuffix(std::string_view addr, std::string_view seps,
                                 std::string_view drops) {
  auto [user, domain] = Split(addr);
  std::string nu;
  for (char32_t r : DecodeUtf8Lossy(user)) {
    if (ContainsRune(seps, r)) break;
    if (ContainsRune(drops, r)) continue;
    AppendUtf8(r, &nu);
  }
  return UserOrOriginal(nu) + "@" + domain;
}

Result<std::string> DomainToAscii(std::string_view domain) {
  // IDNA "Punycode" profile ToASCII: labels with non-ASCII are encoded,
  // the rest are left alone.
  std::string out;
  size_t start = 0;
  while (true) {
    size_t dot = domain.find('.', start);
    std::string_view label = domain.substr(start, dot == std::string_view::npos
                                                      ? std::string_view::npos
                                                      : dot - start);
    if (IsAscii(label)) {
      out += label;
    } else {
      auto enc = PunycodeEncode(label);
      if (!enc.ok()) return enc.status();
      out += "xn--" + *enc;
    }
    if (dot == std::string_view::npos) break;
    out += '.';
    start = dot + 1;
  }
  return out;
}

}  // namespace chasquid::normalize
