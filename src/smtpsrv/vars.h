// The chasquid/smtpIn/* monitoring variables, created once
// with their exact names and HELP texts. Thread-safe (metrics registry).
#pragma once

#ifndef CHASQUID_INSIDE_SMTPSRV
#error "smtpsrv/vars.h is private to smtpsrv/"
#endif

#include <string_view>

#include "metrics/metrics.h"

namespace chasquid::smtpsrv {

struct Vars {
  metrics::CounterMap* command_count;
  metrics::CounterMap* response_code_count;
  metrics::CounterMap* spf_result_count;
  metrics::Counter* loops_detected;
  metrics::CounterMap* tls_count;
  metrics::CounterMap* tls_versions;  // Ours: handshakes by TLS version.
  // Ours: see CountAuth.
  metrics::CounterMap* auth_attempts;
  metrics::CounterMap* auth_success;
  metrics::CounterMap* auth_failure;
  metrics::CounterMap* auth_error;
  metrics::CounterMap* security_level_checks;
  metrics::CounterMap* hook_results;
  metrics::CounterMap* wrong_proto_count;
  metrics::Counter* dkim_signed;
  metrics::Counter* dkim_sign_errors;
  metrics::Counter* dkim_verify_found;
  metrics::Counter* dkim_verify_not_found;
  metrics::Counter* dkim_verify_valid;
  metrics::Counter* dkim_verify_errors;
  // Ours: AUTH throttling (conn_auth.cc), by result.
  metrics::CounterMap* auth_throttle;
  // Ours: sender authorization (conn_sender.cc), by result.
  metrics::CounterMap* sender_authorization;
  // Ours: per-client and per-user limits (conn_limits.cc), by limit name.
  metrics::CounterMap* limit_refusals;
  // Ours: connections turned away (421) while out of file descriptors.
  metrics::Counter* refused_out_of_fds;
  // Ours: messages whose body outgrew memory and was spooled to disk
  // while it was received (conn_data.cc).
  metrics::Counter* spooled_messages;
};

const Vars& GetVars();

// Ours: counts one AUTH command by mechanism ("PLAIN", "LOGIN", "other")
// and by what its final reply `code` means, in
// chasquid/smtpIn/authAttempts{mechanism} and, for 235,
// chasquid/smtpIn/authSuccess, for 535 chasquid/smtpIn/authFailure (wrong
// credentials), otherwise chasquid/smtpIn/authError (malformed, unknown
// mechanism, backend down).
void CountAuth(std::string_view params, int code);

}  // namespace chasquid::smtpsrv
