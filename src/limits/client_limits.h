// Per-client connection limits: connections open at once, and new
// connections per minute, per client (ClientKey: the IPv4 address or the
// IPv6 /64). A client that opens thousands of connections can otherwise
// take every slot of the server's max_connections and starve the rest.
//
// Cheap on the accept path: one mutex, two hash lookups.
//
// Bounds: the open-connection counts are erased at zero, so that map
// holds at most one entry per live connection (itself bounded by the
// server's max_connections); the per-minute counts live in a
// fixed-capacity LruTable (`capacity` clients).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "limits/lru_table.h"

namespace chasquid::limits {

struct ClientLimitsOptions {
  uint32_t max_open = 0;        // Open connections per client; 0: none.
  uint32_t max_per_minute = 0;  // New connections per client; 0: none.
  size_t capacity = 16384;
};

class ClientLimits {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::minutes kWindow{1};

  enum class Limit { kNone, kOpen, kRate };
  // "connectionsPerClient", "newConnectionsPerClientMinute".
  static const char* LimitName(Limit l);

  explicit ClientLimits(ClientLimitsOptions opts);

  // A new connection from `client`. kNone: admitted, and the caller must
  // call Release(client) when it ends. Otherwise refused (nothing to
  // release); a refused connection still counts towards the rate.
  Limit Admit(const std::string& client, Clock::time_point now);
  void Release(const std::string& client);

  size_t open_clients() const;  // Entries (tests).

 private:
  struct Rate {
    Clock::time_point window_start{};
    uint32_t count = 0;
  };
  const ClientLimitsOptions opts_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, uint32_t> open_;
  LruTable<Rate> rates_;
};

}  // namespace chasquid::limits
