// Listening addresses as the config writes them, the way Go's
// net.Listen("tcp", addr) reads them: "host:port", "[v6 literal]:port" or
// ":port" (every address, IPv4 and IPv6), the port a number or a service
// name from /etc/services. Both servers (SMTP and monitoring) parse their
// addresses here, so their error texts are the same.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace chasquid {

struct ListenAddr {
  std::string host;  // Without brackets. Empty: every address.
  uint16_t port = 0;
};

// Errors are Go's texts after "listen tcp: ": "address <addr>: missing
// port in address", "lookup tcp/<port>: unknown port".
Result<ListenAddr> ParseListenAddr(const std::string& addr);

}  // namespace chasquid
