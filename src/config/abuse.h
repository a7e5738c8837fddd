// The abuse-limit settings of chasquid.conf (our fields, 120-139), turned
// into the options of the limits library, with their defaults and
// validation. Thread-safe (pure functions).
#pragma once

#include "base/status.h"
#include "config/config.pb.h"
#include "limits/auth_throttle.h"

namespace chasquid::config {

// auth_throttle, over limits::AuthThrottleOptions' defaults. Errors:
// `invalid auth_throttle.<field> value "<v>": <err>`, and
// `invalid auth_throttle: max_delay must be at most 30s`,
// `invalid auth_throttle: user_failures must be above ip_failures` (the
// per-user limit is only safe above the per-client one; see
// limits/auth_throttle.h).
Result<limits::AuthThrottleOptions> AuthThrottleOptions(const Config& c);

// Every check above, for Load.
Status ValidateAbuse(const Config& c);

}  // namespace chasquid::config
