#include "tlsrpt/tlsrpt.h"

#include <openssl/x509_vfy.h>

namespace chasquid::tlsrpt {

const char* ResultTypeName(ResultType t) {
  switch (t) {
    case ResultType::kStarttlsNotSupported:
      return "starttls-not-supported";
    case ResultType::kCertificateHostMismatch:
      return "certificate-host-mismatch";
    case ResultType::kCertificateExpired:
      return "certificate-expired";
    case ResultType::kCertificateNotTrusted:
      return "certificate-not-trusted";
    case ResultType::kValidationFailure:
      return "validation-failure";
    case ResultType::kStsPolicyFetchError:
      return "sts-policy-fetch-error";
    case ResultType::kStsPolicyInvalid:
      return "sts-policy-invalid";
    case ResultType::kStsWebpkiInvalid:
      return "sts-webpki-invalid";
    case ResultType::kTlsaInvalid:
      return "tlsa-invalid";
    case ResultType::kDnssecInvalid:
      return "dnssec-invalid";
    case ResultType::kDaneRequired:
      return "dane-required";
  }
  return "validation-failure";
}

const std::vector<ResultType>& AllResultTypes() {
  static const std::vector<ResultType> all = {
      ResultType::kStarttlsNotSupported, ResultType::kCertificateHostMismatch,
      ResultType::kCertificateExpired,   ResultType::kCertificateNotTrusted,
      ResultType::kValidationFailure,    ResultType::kStsPolicyFetchError,
      ResultType::kStsPolicyInvalid,     ResultType::kStsWebpkiInvalid,
      ResultType::kTlsaInvalid,          ResultType::kDnssecInvalid,
      ResultType::kDaneRequired};
  return all;
}

const char* PolicyTypeName(PolicyType t) {
  switch (t) {
    case PolicyType::kSts:
      return "sts";
    case PolicyType::kTlsa:
      return "tlsa";
    default:
      return "no-policy-found";
  }
}

ResultType ResultFromVerifyError(long e) {
  switch (e) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return ResultType::kCertificateExpired;
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return ResultType::kCertificateHostMismatch;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
      return ResultType::kCertificateNotTrusted;
    default:
      return ResultType::kValidationFailure;
  }
}

metrics::CounterMap* FailureCount() {
  static auto* m = metrics::NewMap(
      "chasquid/tlsrpt/failures", "result_type",
      "count of failed outgoing TLS sessions recorded for TLS reporting, by "
      "RFC 8460 result type");
  return m;
}

metrics::CounterMap* SuccessCount() {
  static auto* m = metrics::NewMap(
      "chasquid/tlsrpt/successes", "policy_type",
      "count of successful outgoing TLS sessions recorded for TLS "
      "reporting, by policy type");
  return m;
}

metrics::CounterMap* ReportCount() {
  static auto* m = metrics::NewMap(
      "chasquid/tlsrpt/reports", "result",
      "count of TLS reports (RFC 8460) sent or failed, per destination");
  return m;
}

metrics::CounterMap* RequireTlsCount() {
  static auto* m = metrics::NewMap(
      "chasquid/requireTls/messages", "event",
      "count of REQUIRETLS (RFC 8689) messages accepted, relayed and "
      "bounced");
  return m;
}

void RegisterVars() {
  FailureCount();
  SuccessCount();
  ReportCount();
  RequireTlsCount();
}

}  // namespace chasquid::tlsrpt
