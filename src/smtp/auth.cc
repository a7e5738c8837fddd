#include "smtp/auth.h"

#include <array>
#include <vector>

namespace chasquid::smtp {

namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::array<uint8_t, 256> DecodeMap() {
  std::array<uint8_t, 256> m;
  m.fill(0xFF);
  for (int i = 0; i < 64; i++) m[uint8_t(kAlphabet[i])] = i;
  return m;
}

Status Corrupt(size_t pos) {
  return Status::Permanent("illegal base64 data at input byte " +
                           std::to_string(pos));
}

}  // namespace

// A port of Go's encoding/base64 decodeQuantum loop, so that the byte
// offsets in error messages match.
Result<std::string> DecodeBase64(std::string_view src) {
  static const std::array<uint8_t, 256> kMap = DecodeMap();
  std::string out;
  size_t si = 0;
  while (true) {
    uint8_t dbuf[4] = {0, 0, 0, 0};
    int dlen = 4;
    bool end = false;
    for (int j = 0; j < 4; j++) {
      if (si == src.size()) {
        if (j == 0) return out;
        return Corrupt(si - j);
      }
      uint8_t in = src[si++];
      uint8_t v = kMap[in];
      if (v != 0xFF) {
        dbuf[j] = v;
        continue;
      }
      if (in == '\n' || in == '\r') {
        j--;
        continue;
      }
      if (in != '=') return Corrupt(si - 1);
      // Padding: the end of the data.
      if (j == 0 || j == 1) return Corrupt(si - 1);
      if (j == 2) {
        while (si < src.size() && (src[si] == '\n' || src[si] == '\r')) si++;
        if (si == src.size()) return Corrupt(src.size());
        if (src[si] != '=') return Corrupt(si - 1);
        si++;
      }
      while (si < src.size() && (src[si] == '\n' || src[si] == '\r')) si++;
      if (si < src.size()) return Corrupt(si);
      dlen = j;
      end = true;
      break;
    }
    uint32_t val = uint32_t(dbuf[0]) << 18 | uint32_t(dbuf[1]) << 12 |
                   uint32_t(dbuf[2]) << 6 | uint32_t(dbuf[3]);
    out += char(val >> 16);
    if (dlen >= 3) out += char(val >> 8);
    if (dlen == 4) out += char(val);
    if (end) return out;
  }
}

std::string EncodeBase64(std::string_view s) {
  std::string out;
  size_t i = 0;
  for (; i + 3 <= s.size(); i += 3) {
    uint32_t v =
        uint8_t(s[i]) << 16 | uint8_t(s[i + 1]) << 8 | uint8_t(s[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (s.size() - i == 1) {
    uint32_t v = uint8_t(s[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (s.size() - i == 2) {
    uint32_t v = uint8_t(s[i]) << 16 | uint8_t(s[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

PlainCredentials SplitIdentity(std::string_view identity,
                               std::string password) {
  PlainCredentials c;
  size_t at = identity.find('@');
  if (at == std::string_view::npos) {
    c.user = std::string(identity);
  } else {
    c.user = std::string(identity.substr(0, at));
    c.domain = std::string(identity.substr(at + 1));
  }
  c.password = std::move(password);
  return c;
}

Result<PlainCredentials> DecodePlain(std::string_view response) {
  auto buf = DecodeBase64(response);
  if (!buf.ok()) return buf.status();
  std::vector<std::string> pieces;
  size_t start = 0;
  while (true) {
    size_t nul = buf->find('\0', start);
    if (nul == std::string::npos) {
      pieces.push_back(buf->substr(start));
      break;
    }
    pieces.push_back(buf->substr(start, nul - start));
    start = nul + 1;
  }
  if (pieces.size() != 3) {
    return Status::Permanent("response pieces != 3, as per RFC");
  }
  const std::string& authzid = pieces[0];
  const std::string& authcid = pieces[1];
  if (!authzid.empty() && !authcid.empty() && authzid != authcid) {
    return Status::Permanent("auth IDs do not match");
  }
  std::string identity = authcid.empty() ? authzid : authcid;
  if (identity.empty()) {
    return Status::Permanent("empty identity, must be in the form user@domain");
  }
  return SplitIdentity(identity, pieces[2]);
}

}  // namespace chasquid::smtp
