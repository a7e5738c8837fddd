// PROXY protocol version 2 (proxy-protocol.txt §2.2).
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "haproxy/haproxy.h"

namespace chasquid::haproxy {

namespace {

constexpr uint8_t kCmdLocal = 0x0, kCmdProxy = 0x1;
constexpr uint8_t kAfUnspec = 0x0, kAfInet = 0x1, kAfInet6 = 0x2;
constexpr uint8_t kProtoStream = 0x1;
constexpr size_t kInetBlock = 12, kInet6Block = 36;

uint16_t Be16(const unsigned char* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

std::string Ntop(int af, const unsigned char* p) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(af, p, buf, sizeof(buf));
  return buf;
}

}  // namespace

bool MaybeV2(std::string_view start) {
  size_t n = std::min(start.size(), kV2Signature.size());
  return start.substr(0, n) == kV2Signature.substr(0, n);
}

Result<size_t> V2Size(std::string_view start) {
  if (start.size() < kV2FixedSize) {
    return Status::Permanent("v2 header too short");
  }
  if (start.substr(0, kV2Signature.size()) != kV2Signature) {
    return Status::Permanent("invalid v2 signature");
  }
  auto* p = reinterpret_cast<const unsigned char*>(start.data());
  size_t size = kV2FixedSize + Be16(p + 14);
  if (size > kV2MaxSize) return Status::Permanent("v2 header too long");
  return size;
}

Result<Endpoints> ParseV2(std::string_view h) {
  auto size = V2Size(h);
  if (!size.ok()) return size.status();
  if (h.size() < *size) return Status::Permanent("v2 header too short");
  auto* p = reinterpret_cast<const unsigned char*>(h.data());
  if ((p[12] >> 4) != 0x2) return Status::Permanent("invalid v2 version");
  uint8_t cmd = p[12] & 0x0f;
  if (cmd != kCmdLocal && cmd != kCmdProxy) {
    return Status::Permanent("invalid v2 command");
  }
  uint8_t af = p[13] >> 4, proto = p[13] & 0x0f;
  const unsigned char* block = p + kV2FixedSize;
  size_t len = *size - kV2FixedSize;

  Endpoints e;
  size_t addr_len = 0;
  if (cmd == kCmdLocal) {
    // §2.2: a receiver must accept LOCAL with whatever family and skip
    // the block; the connection's real endpoints are used.
    e.local = true;
  } else if (af == kAfInet || af == kAfInet6) {
    if (proto != kProtoStream) {
      return Status::Permanent("unsupported v2 protocol");
    }
    addr_len = af == kAfInet ? kInetBlock : kInet6Block;
    if (len < addr_len) {
      return Status::Permanent("v2 address block too short");
    }
    int sys_af = af == kAfInet ? AF_INET : AF_INET6;
    size_t ip = af == kAfInet ? 4 : 16;
    e.src_ip = Ntop(sys_af, block);
    e.dst_ip = Ntop(sys_af, block + ip);
    e.src_port = Be16(block + 2 * ip);
    e.dst_port = Be16(block + 2 * ip + 2);
  } else {
    // AF_UNSPEC or AF_UNIX under PROXY: no client IP to use, as v1's
    // "UNKNOWN" is refused.
    (void)kAfUnspec;
    return Status::Permanent("unsupported v2 address family");
  }
  if (e.local) return e;  // Its block (and TLVs) are not looked at.

  // TLVs: type (1), length (2, big-endian), value. None is needed here;
  // each must fit in the block, so a malformed one is caught rather than
  // read past.
  size_t pos = addr_len;
  while (pos < len) {
    if (len - pos < 3) return Status::Permanent("truncated v2 TLV");
    size_t vlen = Be16(block + pos + 1);
    if (len - pos - 3 < vlen) return Status::Permanent("truncated v2 TLV");
    pos += 3 + vlen;
  }
  return e;
}

}  // namespace chasquid::haproxy
