#include "config/abuse.h"

#include "base/strings.h"

namespace chasquid::config {

namespace {

Status Duration(const char* field, bool has, const std::string& v,
                std::chrono::nanoseconds* out) {
  if (!has) return Status::Ok();
  auto d = ParseGoDuration(v);
  if (!d.ok() || d->count() < 0) {
    return Status::Error(std::string("invalid auth_throttle.") + field +
                         " value " + GoQuote(v) + ": " +
                         (d.ok() ? "negative" : d.status().message()));
  }
  *out = *d;
  return Status::Ok();
}

}  // namespace

Result<limits::AuthThrottleOptions> AuthThrottleOptions(const Config& c) {
  limits::AuthThrottleOptions o;
  const AuthThrottle& a = c.auth_throttle();
  if (a.has_enabled()) o.enabled = a.enabled();
  if (a.has_delay_after()) o.delay_after = a.delay_after();
  if (a.has_ip_failures()) o.ip_failures = a.ip_failures();
  if (a.has_user_failures()) o.user_failures = a.user_failures();
  for (Status s : {
           Duration("max_delay", a.has_max_delay(), a.max_delay(),
                    &o.max_delay),
           Duration("window", a.has_window(), a.window(), &o.window),
           Duration("block_time", a.has_block_time(), a.block_time(),
                    &o.block_time),
           Duration("remember_success", a.has_remember_success(),
                    a.remember_success(), &o.remember_success),
       }) {
    if (!s.ok()) return s;
  }
  // The delay holds a reply: it must stay well inside the one-minute
  // command timeout of the client waiting for it.
  if (o.max_delay > std::chrono::seconds(30)) {
    return Status::Error(
        "invalid auth_throttle: max_delay must be at most 30s");
  }
  if (o.enabled && o.user_failures != 0 && o.user_failures <= o.ip_failures) {
    return Status::Error(
        "invalid auth_throttle: user_failures must be above ip_failures");
  }
  return o;
}

limits::ClientLimitsOptions ClientLimitsOptions(const Config& c) {
  limits::ClientLimitsOptions o;
  o.max_open = c.has_max_connections_per_client()
                   ? c.max_connections_per_client()
                   : kDefaultMaxConnectionsPerClient;
  o.max_per_minute = c.has_max_new_connections_per_client_minute()
                         ? c.max_new_connections_per_client_minute()
                         : kDefaultMaxNewConnectionsPerClientMinute;
  return o;
}

limits::SendBrakeOptions SendBrakeOptions(const Config& c) {
  limits::SendBrakeOptions o;
  o.messages_per_hour = c.has_max_messages_per_user_hour()
                            ? c.max_messages_per_user_hour()
                            : kDefaultMaxMessagesPerUserHour;
  o.recipients_per_hour = c.has_max_recipients_per_user_hour()
                              ? c.max_recipients_per_user_hour()
                              : kDefaultMaxRecipientsPerUserHour;
  return o;
}

Status ValidateAbuse(const Config& c) {
  return AuthThrottleOptions(c).status();
}

}  // namespace chasquid::config
