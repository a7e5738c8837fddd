#include "limits/client_key.h"

#include <arpa/inet.h>

#include <cstring>

namespace chasquid::limits {

std::string ClientKey(const std::string& ip) {
  in_addr v4;
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) {
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &v4, buf, sizeof(buf));
    return buf;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, ip.c_str(), &v6) != 1) return ip;
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, v6.s6_addr + 12, 4);
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &v4, buf, sizeof(buf));
    return buf;
  }
  std::memset(v6.s6_addr + 8, 0, 8);
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &v6, buf, sizeof(buf));
  return std::string(buf) + "/64";
}

}  // namespace chasquid::limits
