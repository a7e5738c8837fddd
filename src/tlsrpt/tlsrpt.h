// SMTP TLS reporting (RFC 8460), ours: chasquid has none.
//
// Every outgoing SMTP session's TLS outcome is recorded against the
// recipient's domain (the "policy domain") and the UTC day it happened:
// a success, or a failure of one of the RFC's result types (§4.3), with
// the policy that applied (§4.4: "sts", "tlsa" or "no-policy-found").
// The counts live in <data_dir>/tlsrpt/ (store.h), bounded in size, so
// they survive restarts. Once a day the reporter (reporter.h) sends each
// domain that publishes a `_smtp._tls` TXT record (§3) an aggregate report
// (§4.4 JSON, gzip'd, in a multipart/report mail, §5.3) for the days that
// ended.
//
// This header holds the vocabulary shared by the courier, which records
// outcomes, and the reporter: result and policy types, one session's
// outcome, the Recorder interface and the variables.
//
// REQUIRETLS (RFC 8689) is counted here too, since the server, the queue
// and the courier each move one of its counters.
#pragma once

#include <string>
#include <vector>

#include "metrics/metrics.h"

namespace chasquid::tlsrpt {

// RFC 8460 §4.3's result types. The courier records all but
// kDaneRequired, which is for senders configured to demand DANE of every
// MX (RFC 7672 §6); ours has no such mode.
enum class ResultType {
  kStarttlsNotSupported,
  kCertificateHostMismatch,
  kCertificateExpired,
  kCertificateNotTrusted,
  kValidationFailure,
  kStsPolicyFetchError,
  kStsPolicyInvalid,
  kStsWebpkiInvalid,
  kTlsaInvalid,
  kDnssecInvalid,
  kDaneRequired,
};
// The RFC's name ("starttls-not-supported", ...).
const char* ResultTypeName(ResultType t);
// All of them, in the RFC's order.
const std::vector<ResultType>& AllResultTypes();

enum class PolicyType { kSts, kTlsa, kNoPolicyFound };
// "sts", "tlsa", "no-policy-found".
const char* PolicyTypeName(PolicyType t);

// One outgoing session's outcome.
struct SessionResult {
  std::string policy_domain;  // The recipient's domain (ASCII).
  PolicyType policy_type = PolicyType::kNoPolicyFound;
  // The policy as the RFC shows it: the MTA-STS policy's lines, or the
  // TLSA records' presentation forms.
  std::vector<std::string> policy_strings;
  std::vector<std::string> mx_patterns;  // An STS policy's mx: values.
  std::string mx_host;                   // The receiving MX's host name.
  std::string receiving_ip;              // May be empty.
  std::string sending_ip;                // Our side's address; may be empty.
  bool success = true;
  ResultType result = ResultType::kValidationFailure;  // When !success.
  std::string detail;  // additional-information, short; may be empty.
};

// Where the courier records outcomes. Thread-safe implementations.
class Recorder {
 public:
  virtual ~Recorder() = default;
  virtual void Record(const SessionResult& r) = 0;
};

// Maps an X.509 verification error (X509_V_ERR_*) to a result type:
// expired or not yet valid, host mismatch, untrusted chain, else
// validation-failure.
ResultType ResultFromVerifyError(long verify_error);

// Variables (all ours).
// chasquid/tlsrpt/failures: failed sessions recorded, by result type.
metrics::CounterMap* FailureCount();
// chasquid/tlsrpt/successes: successful sessions recorded, by policy type.
metrics::CounterMap* SuccessCount();
// chasquid/tlsrpt/reports: reports by outcome ("sent", "failed").
metrics::CounterMap* ReportCount();
// chasquid/requireTls/messages: REQUIRETLS messages by event ("accepted"
// by the server, "relayed" by the courier, "bounced" with 5.7.30,
// "refusedPlain" when asked for outside TLS, "tlsRequiredNo" for
// messages whose TLS-Required: No header lifted the TLS policies).
metrics::CounterMap* RequireTlsCount();
// Registers all of the above, so they are exported from start-up on.
void RegisterVars();

}  // namespace chasquid::tlsrpt
