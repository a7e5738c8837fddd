#include "limits/client_limits.h"

namespace chasquid::limits {

const char* ClientLimits::LimitName(Limit l) {
  switch (l) {
    case Limit::kOpen:
      return "connectionsPerClient";
    case Limit::kRate:
      return "newConnectionsPerClientMinute";
    case Limit::kNone:
      break;
  }
  return "";
}

ClientLimits::ClientLimits(ClientLimitsOptions opts)
    : opts_(opts), rates_(opts.capacity) {}

ClientLimits::Limit ClientLimits::Admit(const std::string& client,
                                        Clock::time_point now) {
  std::lock_guard<std::mutex> l(mu_);
  if (opts_.max_per_minute > 0) {
    Rate* r = rates_.GetOrInsert(client);
    if (r->count == 0 || now - r->window_start >= kWindow) {
      r->window_start = now;
      r->count = 0;
    }
    if (r->count < UINT32_MAX) r->count++;
    if (r->count > opts_.max_per_minute) return Limit::kRate;
  }
  uint32_t& open = open_[client];
  if (opts_.max_open > 0 && open >= opts_.max_open) {
    if (open == 0) open_.erase(client);
    return Limit::kOpen;
  }
  open++;
  return Limit::kNone;
}

void ClientLimits::Release(const std::string& client) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = open_.find(client);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

size_t ClientLimits::open_clients() const {
  std::lock_guard<std::mutex> l(mu_);
  return open_.size();
}

}  // namespace chasquid::limits
