#include "base/listen_addr.h"

#include <netdb.h>
#include <netinet/in.h>

#include <cstdlib>

namespace chasquid {

Result<ListenAddr> ParseListenAddr(const std::string& addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) {
    return Status::Error("address " + addr + ": missing port in address");
  }
  ListenAddr out;
  out.host = addr.substr(0, colon);
  if (out.host.size() >= 2 && out.host.front() == '[' &&
      out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  std::string p = addr.substr(colon + 1);
  char* end = nullptr;
  long v = strtol(p.c_str(), &end, 10);
  if (!p.empty() && *end == '\0' && v >= 0 && v <= 65535) {
    out.port = static_cast<uint16_t>(v);
    return out;
  }
  // getservbyname_r: the SMTP and monitoring servers may parse at once.
  servent se{}, *found = nullptr;
  char buf[1024];
  if (p.empty() ||
      getservbyname_r(p.c_str(), "tcp", &se, buf, sizeof(buf), &found) != 0 ||
      found == nullptr) {
    return Status::Error("lookup tcp/" + p + ": unknown port");
  }
  out.port = ntohs(found->s_port);
  return out;
}

}  // namespace chasquid
