#include "haproxy/haproxy.h"

#include <arpa/inet.h>

#include <vector>

namespace chasquid::haproxy {

namespace {

// Go's strings.Fields over ASCII whitespace (the line is ASCII).
std::vector<std::string> Fields(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
  };
  while (i < s.size()) {
    while (i < s.size() && space(s[i])) i++;
    size_t start = i;
    while (i < s.size() && !space(s[i])) i++;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

// Go's net.ParseIP: either family, no zones; glibc's inet_pton also
// rejects leading zeros in IPv4 as Go does.
bool IsIP(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// strconv.ParseUint(s, 10, 16).
bool ParsePort(const std::string& s, uint16_t* port) {
  if (s.empty() || s.size() > 10) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

Result<Endpoints> Parse(std::string_view line) {
  auto f = Fields(line);
  if (f.size() < 2 || f[0] != "PROXY") {
    return Status::Permanent("invalid protocol identifier");
  }
  // "UNKNOWN" is valid PROXY, but we need the real source address.
  if (f[1] != "TCP4" && f[1] != "TCP6") {
    return Status::Permanent("unknown protocol");
  }
  if (f.size() != 6) return Status::Permanent("invalid number of fields");
  Endpoints e;
  if (!IsIP(f[2])) return Status::Permanent("invalid src ip");
  if (!IsIP(f[3])) return Status::Permanent("invalid dst ip");
  if (!ParsePort(f[4], &e.src_port)) {
    return Status::Permanent("invalid src port");
  }
  if (!ParsePort(f[5], &e.dst_port)) {
    return Status::Permanent("invalid dst port");
  }
  e.src_ip = f[2];
  e.dst_ip = f[3];
  return e;
}

}  // namespace chasquid::haproxy
