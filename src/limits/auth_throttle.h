// AUTH throttling: holds off password guessing across connections.
//
// chasquid closes a connection after three errors, which does not stop a
// guesser: it reconnects. So failed AUTHs are counted here, in memory,
// per client (ClientKey: the IPv4 address, or the IPv6 /64) and per user
// (the normalised user@domain that was tried), in a fixed window that
// starts at the first failure and restarts once it has passed.
//
// What a failure earns:
//  - past `delay_after` failures from one client, each further failed
//    AUTH is answered only after a delay, 500ms doubling up to
//    `max_delay`: a serial guesser slows down and holds a connection;
//  - at `ip_failures` failures, the client is blocked for `block_time`:
//    every AUTH from it is refused without looking at the password, and a
//    blocked client that keeps trying extends its block;
//  - at `user_failures` failures for one user, summed over all clients,
//    that user is blocked the same way, against a guesser spread over
//    many addresses.
//
// The per-user block must not become a way to lock a user out: anyone can
// fail AUTH as anyone. So it has a floor: a client that authenticated
// successfully as that user within `remember_success` is spared (up to
// kGoodClientsPerUser clients per user are remembered), and the per-user
// limit sits well above the per-client one, so that it takes several
// addresses to reach it. A refusal under the user block also counts as a
// failure of the client that made it, so those addresses soon block
// themselves. Successes never reset the counters: otherwise a guesser
// holding one valid account could clear its record between guesses.
//
// Bounds: client and user state live in fixed-capacity tables
// (LruTable), `ip_capacity` and `user_capacity` entries, evicting the
// least recently used. An attacker rotating addresses or user names can
// only push out old entries; with the defaults the state stays under
// about 10 MiB (user keys are at most one SMTP line each). Flushing a
// victim's entry (and so its floor) out of the user table takes
// `user_capacity` distinct failures, which at `ip_failures` per client and
// window means hundreds of addresses.
//
// Thread-safety: all methods may be called from any thread (one mutex,
// held for a few map operations; never across I/O).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "limits/lru_table.h"

namespace chasquid::limits {

struct AuthThrottleOptions {
  bool enabled = true;
  uint32_t delay_after = 5;
  std::chrono::nanoseconds max_delay = std::chrono::seconds(4);
  uint32_t ip_failures = 10;
  uint32_t user_failures = 30;
  std::chrono::nanoseconds window = std::chrono::minutes(10);
  std::chrono::nanoseconds block_time = std::chrono::minutes(15);
  std::chrono::nanoseconds remember_success = std::chrono::hours(24 * 7);
  size_t ip_capacity = 16384;
  size_t user_capacity = 4096;
};

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kGoodClientsPerUser = 4;
  static constexpr std::chrono::milliseconds kFirstDelay{500};

  enum class Rule { kNone, kClient, kUser };
  // "client", "user" (for traces and logs); "" for kNone.
  static const char* RuleName(Rule r);

  struct Verdict {
    Rule refused = Rule::kNone;  // kNone: go on and check the password.
    // The user is blocked, but this client recently succeeded as it.
    bool spared = false;
    Clock::duration retry_after{};  // When refused: until the block ends.
  };

  struct FailureOutcome {
    Clock::duration delay{};      // Wait this long before replying.
    bool client_blocked = false;  // This failure started a client block.
    bool user_blocked = false;    // ... or a user block.
  };

  explicit AuthThrottle(AuthThrottleOptions opts);

  // Before checking the credentials of `user` from `client` (a ClientKey).
  Verdict Check(const std::string& client, const std::string& user,
                Clock::time_point now);
  // After Check refused: keeps a blocked client blocked while it insists,
  // and counts a user-rule refusal against the client.
  void Refused(const std::string& client, Rule rule, Clock::time_point now);
  // After the credentials were checked and were wrong.
  FailureOutcome Failed(const std::string& client, const std::string& user,
                        Clock::time_point now);
  // After the credentials were checked and were right.
  void Succeeded(const std::string& client, const std::string& user,
                 Clock::time_point now);

  const AuthThrottleOptions& options() const { return opts_; }
  size_t clients() const;  // Entries in each table (tests, monitoring).
  size_t users() const;

 private:
  struct Count {
    uint32_t failures = 0;
    Clock::time_point window_start{};
    Clock::time_point blocked_until{};
  };
  struct GoodClient {
    std::string client;
    Clock::time_point when{};
  };
  struct UserEntry {
    Count count;
    std::array<GoodClient, kGoodClientsPerUser> good;
  };
  // Adds one failure; true if it started a block.
  bool Bump(Count* c, uint32_t limit, Clock::time_point now) const;
  bool Spared(const UserEntry& u, const std::string& client,
              Clock::time_point now) const;

  const AuthThrottleOptions opts_;
  mutable std::mutex mu_;
  LruTable<Count> clients_;
  LruTable<UserEntry> users_;
};

}  // namespace chasquid::limits
