// Knobs that only the test suites turn, through the daemon's
// --testing__* flags. Their defaults are chasquid's behaviour; a
// production daemon never changes them. Each component reads the ones it
// needs when it builds its options from the config (OptionsFrom).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace chasquid::config {

struct Testing {
  // Port of outgoing SMTP connections.
  std::string outgoing_smtp_port = "25";
  // Received headers beyond which a message is taken to be looping.
  int max_received_headers = 50;
  // How often aliases and users are reloaded.
  std::chrono::nanoseconds reload_every = std::chrono::seconds(30);
  // One DNS server for every lookup ("127.0.0.1:9053"); empty: the
  // system's resolver configuration.
  std::string dns_addr;
  // The receiving side's timeouts and connection bound.
  std::chrono::nanoseconds command_timeout = std::chrono::minutes(1);
  std::chrono::nanoseconds connection_timeout = std::chrono::minutes(20);
  std::chrono::nanoseconds hook_timeout = std::chrono::minutes(1);
  int max_connections = 20000;
  // A fixed delay between delivery attempts instead of the 1 to 20 minute
  // schedule.
  std::optional<std::chrono::nanoseconds> queue_retry_delay;
  // Deadline of one outgoing SMTP session.
  std::chrono::nanoseconds outgoing_session_timeout = std::chrono::minutes(10);
  // Ours: TLS reports every this often, today's records included, instead
  // of once a day after UTC midnight (0).
  std::chrono::nanoseconds tlsrpt_period{0};
};

}  // namespace chasquid::config
