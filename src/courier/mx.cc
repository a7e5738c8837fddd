#include "courier/mx.h"

#include <algorithm>
#include <mutex>

namespace chasquid::courier {

std::vector<std::string> OrderMXs(std::vector<dns::MX> mxs,
                                  std::mt19937_64& rng) {
  std::shuffle(mxs.begin(), mxs.end(), rng);
  std::stable_sort(mxs.begin(), mxs.end(),
                   [](const dns::MX& a, const dns::MX& b) {
                     return a.preference < b.preference;
                   });
  std::vector<std::string> hosts;
  for (auto& mx : mxs) {
    if (hosts.size() == kMaxMXs) break;
    hosts.push_back(mx.host.empty() ? "." : mx.host);
  }
  return hosts;
}

net::awaitable<Result<std::vector<std::string>>> LookupMXs(
    dns::Resolver* resolver, std::string ascii_domain) {
  auto mxs = co_await resolver->LookupMX(ascii_domain);
  if (!mxs.ok()) {
    // NXDOMAIN is "not found": use the implicit MX, as Go's IsNotFound.
    if (mxs.status().not_found()) {
      co_return std::vector<std::string>{ascii_domain};
    }
    co_return mxs.status().Prefixed("Could not find mail server: ");
  }
  if (mxs->empty()) co_return std::vector<std::string>{ascii_domain};
  // RFC 7505 null MX ("0 ."): the domain accepts no mail. chasquid keeps
  // the "." host, fails to dial it and retries until give-up; the spec
  // asks us to follow the RFC (§3-§4.1: do not attempt delivery, fail
  // permanently) so the sender learns at once. A null MX mixed with real
  // ones is invalid (§3); the real ones are still tried.
  std::erase_if(*mxs, [](const dns::MX& mx) { return mx.host.empty(); });
  if (mxs->empty()) co_return Status::Permanent(kNullMXError);
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}());
  std::lock_guard<std::mutex> l(mu);
  co_return OrderMXs(std::move(*mxs), rng);
}

}  // namespace chasquid::courier
