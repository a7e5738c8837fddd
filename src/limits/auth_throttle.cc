#include "limits/auth_throttle.h"

#include <algorithm>

namespace chasquid::limits {

const char* AuthThrottle::RuleName(Rule r) {
  switch (r) {
    case Rule::kClient:
      return "client";
    case Rule::kUser:
      return "user";
    case Rule::kNone:
      break;
  }
  return "";
}

AuthThrottle::AuthThrottle(AuthThrottleOptions opts)
    : opts_(opts), clients_(opts.ip_capacity), users_(opts.user_capacity) {}

bool AuthThrottle::Bump(Count* c, uint32_t limit, Clock::time_point now) const {
  if (c->failures == 0 || now - c->window_start >= opts_.window) {
    c->failures = 0;
    c->window_start = now;
  }
  if (c->failures < UINT32_MAX) c->failures++;
  if (limit > 0 && c->failures >= limit) {
    bool started = c->blocked_until <= now;
    c->blocked_until = now + opts_.block_time;
    return started;
  }
  return false;
}

bool AuthThrottle::Spared(const UserEntry& u, const std::string& client,
                          Clock::time_point now) const {
  for (const GoodClient& g : u.good) {
    if (!g.client.empty() && g.client == client &&
        now - g.when < opts_.remember_success) {
      return true;
    }
  }
  return false;
}

AuthThrottle::Verdict AuthThrottle::Check(const std::string& client,
                                          const std::string& user,
                                          Clock::time_point now) {
  Verdict v;
  if (!opts_.enabled) return v;
  std::lock_guard<std::mutex> l(mu_);
  if (const Count* c = clients_.Get(client); c && c->blocked_until > now) {
    v.refused = Rule::kClient;
    v.retry_after = c->blocked_until - now;
    return v;
  }
  if (const UserEntry* u = users_.Get(user);
      u && u->count.blocked_until > now) {
    if (Spared(*u, client, now)) {
      v.spared = true;
    } else {
      v.refused = Rule::kUser;
      v.retry_after = u->count.blocked_until - now;
    }
  }
  return v;
}

void AuthThrottle::Refused(const std::string& client, Rule rule,
                           Clock::time_point now) {
  if (!opts_.enabled || rule == Rule::kNone) return;
  std::lock_guard<std::mutex> l(mu_);
  Count* c = clients_.GetOrInsert(client);
  if (rule == Rule::kClient) {
    c->blocked_until = now + opts_.block_time;
  } else {
    (void)Bump(c, opts_.ip_failures, now);
  }
}

AuthThrottle::FailureOutcome AuthThrottle::Failed(const std::string& client,
                                                  const std::string& user,
                                                  Clock::time_point now) {
  FailureOutcome out;
  if (!opts_.enabled) return out;
  std::lock_guard<std::mutex> l(mu_);
  Count* c = clients_.GetOrInsert(client);
  out.client_blocked = Bump(c, opts_.ip_failures, now);
  uint32_t failures = c->failures;
  UserEntry* u = users_.GetOrInsert(user);
  out.user_blocked = Bump(&u->count, opts_.user_failures, now);
  if (failures > opts_.delay_after) {
    // 500ms, 1s, 2s, ... capped; the shift is bounded before it can
    // overflow.
    uint32_t steps = std::min<uint32_t>(failures - opts_.delay_after - 1, 20);
    auto d = std::chrono::duration_cast<Clock::duration>(kFirstDelay) *
             (int64_t{1} << steps);
    out.delay = std::min<Clock::duration>(
        d, std::chrono::duration_cast<Clock::duration>(opts_.max_delay));
  }
  return out;
}

void AuthThrottle::Succeeded(const std::string& client, const std::string& user,
                             Clock::time_point now) {
  if (!opts_.enabled) return;
  std::lock_guard<std::mutex> l(mu_);
  UserEntry* u = users_.GetOrInsert(user);
  // Refresh this client's slot, or take the empty or oldest one.
  GoodClient* slot = &u->good[0];
  for (GoodClient& g : u->good) {
    if (g.client == client) {
      slot = &g;
      break;
    }
    if (g.client.empty() || g.when < slot->when) slot = &g;
  }
  slot->client = client;
  slot->when = now;
}

size_t AuthThrottle::clients() const {
  std::lock_guard<std::mutex> l(mu_);
  return clients_.size();
}

size_t AuthThrottle::users() const {
  std::lock_guard<std::mutex> l(mu_);
  return users_.size();
}

}  // namespace chasquid::limits
