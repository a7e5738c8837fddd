// The chasquid/smtpIn/* monitoring variables, created once
// with their exact names and HELP texts. Thread-safe (metrics registry).
#pragma once

#include "metrics/metrics.h"

namespace chasquid::smtpsrv {

struct Vars {
  metrics::CounterMap* command_count;
  metrics::CounterMap* response_code_count;
  metrics::CounterMap* spf_result_count;
  metrics::Counter* loops_detected;
  metrics::CounterMap* tls_count;
  metrics::CounterMap* security_level_checks;
  metrics::CounterMap* hook_results;
  metrics::CounterMap* wrong_proto_count;
  metrics::Counter* dkim_signed;
  metrics::Counter* dkim_sign_errors;
  metrics::Counter* dkim_verify_found;
  metrics::Counter* dkim_verify_not_found;
  metrics::Counter* dkim_verify_valid;
  metrics::Counter* dkim_verify_errors;
  // Ours: connections turned away (421) while out of file descriptors.
  metrics::Counter* refused_out_of_fds;
};

const Vars& GetVars();

}  // namespace chasquid::smtpsrv
