#include "smtpsrv/sender_auth.h"

#include "normalize/normalize.h"

namespace chasquid::smtpsrv {

std::string SenderKey(const std::string& addr, const std::string& seps,
                      const std::string& drops) {
  auto n = normalize::Addr(addr);
  return normalize::RemoveDropsAndSuffix(n.ok() ? *n : addr, seps, drops);
}

}  // namespace chasquid::smtpsrv
