// HAProxy PROXY protocol, version 1 (text) only, as chasquid accepts it on
// incoming connections when `haproxy_incoming` is set (smtp-in §1.3; spec:
// https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt §2.1).
//
// Only the parsing lives here; the connection reads the line (up to and
// including "\n") and hands it over. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace chasquid::haproxy {

struct Endpoints {
  std::string src_ip, dst_ip;  // Textual IPs as parsed (v4 or v6).
  uint16_t src_port = 0, dst_port = 0;
};

// Parses "PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n". Errors, exactly
// as chasquid's: "invalid protocol identifier", "unknown protocol",
// "invalid number of fields", "invalid src ip", "invalid dst ip",
// "invalid src port", "invalid dst port".
Result<Endpoints> Parse(std::string_view line);

}  // namespace chasquid::haproxy
