// HAProxy PROXY protocol, as accepted on incoming connections when
// `haproxy_incoming` is set (https://www.haproxy.org/download/2.8/doc/
// proxy-protocol.txt): version 1 (text, §2.1), as chasquid accepts it, and
// version 2 (binary, §2.2), our addition. The two are told apart by v2's
// 12-byte signature, as HAProxy's own `accept-proxy` does.
//
// Version 2's header is the signature, a version/command byte, an address
// family/protocol byte, a 16-bit big-endian length, and that many bytes:
// the addresses (12 for TCP over IPv4, 36 over IPv6) followed by TLVs,
// which are checked to fit and skipped. The LOCAL command (a proxy's own
// health check) carries no client: the connection's own peer stands.
//
// Only the parsing lives here; the connection reads the bytes and hands
// them over. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace chasquid::haproxy {

struct Endpoints {
  std::string src_ip, dst_ip;  // Textual IPs as parsed (v4 or v6).
  uint16_t src_port = 0, dst_port = 0;
  // v2 LOCAL: no addresses; keep the connection's own peer.
  bool local = false;
};

// Parses "PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n". Errors, exactly
// as chasquid's: "invalid protocol identifier", "unknown protocol",
// "invalid number of fields", "invalid src ip", "invalid dst ip",
// "invalid src port", "invalid dst port".
Result<Endpoints> Parse(std::string_view line);

// The v2 signature, and the size of the fixed part of a v2 header.
inline constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
inline constexpr size_t kV2FixedSize = 16;
// The largest v2 header accepted, fixed part included: room for the
// addresses and a generous set of TLVs (HAProxy's unique ID, SSL details);
// a peer may not make us buffer 64 KiB before the dialog starts.
inline constexpr size_t kV2MaxSize = 4096;

// Whether `start` (the first bytes received, any number) could still be
// or is the v2 signature: false means a v1 line (or garbage).
bool MaybeV2(std::string_view start);

// From at least kV2FixedSize bytes of a v2 header, its total size. Errors:
// "invalid v2 signature", "v2 header too short", "v2 header too long".
Result<size_t> V2Size(std::string_view start);

// Parses one whole v2 header (exactly V2Size bytes). Errors: those of
// V2Size, "invalid v2 version", "invalid v2 command", "unsupported v2
// address family" (AF_UNSPEC or AF_UNIX under PROXY: no client IP),
// "unsupported v2 protocol" (not STREAM), "v2 address block too short",
// "truncated v2 TLV".
Result<Endpoints> ParseV2(std::string_view header);

}  // namespace chasquid::haproxy
