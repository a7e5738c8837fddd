// The abuse-limit settings of chasquid.conf (our fields, 120-139), turned
// into the options of the limits library, with their defaults and
// validation. Thread-safe (pure functions).
#pragma once

#include "base/status.h"
#include "config/config.pb.h"
#include "limits/auth_throttle.h"
#include "limits/client_limits.h"
#include "limits/send_brake.h"

namespace chasquid::config {

// auth_throttle, over limits::AuthThrottleOptions' defaults. Errors:
// `invalid auth_throttle.<field> value "<v>": <err>`, and
// `invalid auth_throttle: max_delay must be at most 30s`,
// `invalid auth_throttle: user_failures must be above ip_failures` (the
// per-user limit is only safe above the per-client one; see
// limits/auth_throttle.h).
Result<limits::AuthThrottleOptions> AuthThrottleOptions(const Config& c);

// The per-client and per-user limits, unset fields at their defaults.
// The defaults are generous on purpose, chosen so that no legitimate
// client meets them and the benchmarks (one client address) do not
// either:
//   - 15000 open connections per client: three quarters of the server's
//     20000, so one client can never take every slot, while
//     bench/conn_memory's 10000 idle connections from 127.0.0.1 pass;
//   - 60000 new connections per client per minute (1000/s): above
//     bench/smtp_source's peak of about 630 messages/s, one connection
//     each, from a single address;
//   - 1000 messages and 10000 recipients per authenticated user per
//     hour: far above what a person sends, far below what a spammer
//     with a stolen password pushes through before a blocklist notices.
inline constexpr uint32_t kDefaultMaxConnectionsPerClient = 15000;
inline constexpr uint32_t kDefaultMaxNewConnectionsPerClientMinute = 60000;
inline constexpr uint32_t kDefaultMaxMessagesPerUserHour = 1000;
inline constexpr uint32_t kDefaultMaxRecipientsPerUserHour = 10000;
limits::ClientLimitsOptions ClientLimitsOptions(const Config& c);
limits::SendBrakeOptions SendBrakeOptions(const Config& c);

// Every check above, for Load.
Status ValidateAbuse(const Config& c);

}  // namespace chasquid::config
