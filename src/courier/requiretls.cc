#include "courier/requiretls.h"

#include <chrono>

#include <openssl/x509_vfy.h>

#include "base/strings.h"

namespace chasquid::courier {

bool HasTlsRequiredNo(const std::string& data) {
  // Header lines up to the first empty line; folded lines continue the
  // field before them.
  size_t pos = 0;
  std::string current;
  auto check = [](const std::string& field) {
    size_t colon = field.find(':');
    if (colon == std::string::npos) return false;
    if (AsciiToLower(TrimSpace(field.substr(0, colon))) != "tls-required") {
      return false;
    }
    return AsciiToLower(TrimSpace(field.substr(colon + 1))) == "no";
  };
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    std::string line = data.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = end + 1;
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') {
      current += line;
      continue;
    }
    if (check(current)) return true;
    current = line;
  }
  return check(current);
}

Status RequireTlsBounce(const std::string& why) {
  tlsrpt::RequireTlsCount()->Add("bounced");
  return Status::Permanent(std::string("5.7.30 REQUIRETLS support required (")
                               .append(why)
                               .append(")"));
}

tlsrpt::SessionResult TlsOutcome(const std::string& domain,
                                 const std::string& mx,
                                 const std::optional<sts::Policy>& policy,
                                 bool offered_starttls, SSL* ssl,
                                 bool verified) {
  tlsrpt::SessionResult r;
  r.policy_domain = domain;
  r.mx_host = mx;
  if (policy && policy->mode != "none") {
    r.policy_type = tlsrpt::PolicyType::kSts;
    r.policy_strings.push_back(
        std::string("version: ").append(policy->version));
    r.policy_strings.push_back(std::string("mode: ").append(policy->mode));
    for (const auto& m : policy->mxs)
      r.policy_strings.push_back(std::string("mx: ").append(m));
    r.policy_strings.push_back(
        std::string("max_age: ")
            .append(
                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                   policy->max_age)
                                   .count())));
    r.mx_patterns = policy->mxs;
  }
  bool has_policy = r.policy_type != tlsrpt::PolicyType::kNoPolicyFound;
  if (!offered_starttls) {
    // Without a policy, plain text is what the domain asked for.
    r.success = !has_policy;
    r.result = tlsrpt::ResultType::kStarttlsNotSupported;
    return r;
  }
  if (!ssl) {
    // STARTTLS was offered but the handshake failed.
    r.success = false;
    r.result = tlsrpt::ResultType::kValidationFailure;
    r.detail = "TLS handshake failed";
    return r;
  }
  if (!verified && has_policy) {
    r.success = false;
    long e = SSL_get_verify_result(ssl);
    r.result = e == X509_V_OK ? tlsrpt::ResultType::kCertificateHostMismatch
                              : tlsrpt::ResultFromVerifyError(e);
    if (e != X509_V_OK) r.detail = X509_verify_cert_error_string(e);
  }
  return r;
}

tlsrpt::SessionResult DaneOutcome(const std::string& domain,
                                  const std::string& mx, const DanePolicy& dane,
                                  bool success, tlsrpt::ResultType result,
                                  const std::string& detail) {
  tlsrpt::SessionResult r;
  r.policy_domain = domain;
  r.mx_host = mx;
  r.policy_type = tlsrpt::PolicyType::kTlsa;
  for (const auto& t : dane.records) r.policy_strings.push_back(TlsaText(t));
  r.success = success;
  r.result = result;
  if (!success) r.detail = detail;
  return r;
}

tlsrpt::ResultType DaneFailureResult(long verify_error) {
  if (verify_error == X509_V_OK || verify_error == X509_V_ERR_DANE_NO_MATCH) {
    // RFC 8460 §4.3.2.1: none of the records in the RRset was found valid
    // for the peer.
    return tlsrpt::ResultType::kTlsaInvalid;
  }
  return tlsrpt::ResultFromVerifyError(verify_error);
}

tlsrpt::SessionResult StsFailureOutcome(const std::string& domain,
                                        const std::string& mx,
                                        const sts::PolicyLookup& lookup) {
  tlsrpt::SessionResult r;
  r.policy_domain = domain;
  r.mx_host = mx;
  r.policy_type = tlsrpt::PolicyType::kSts;
  r.success = false;
  switch (lookup.failure) {
    case sts::PolicyLookup::Failure::kInvalid:
      r.result = tlsrpt::ResultType::kStsPolicyInvalid;
      break;
    case sts::PolicyLookup::Failure::kWebPki:
      r.result = tlsrpt::ResultType::kStsWebpkiInvalid;
      break;
    default:
      r.result = tlsrpt::ResultType::kStsPolicyFetchError;
      break;
  }
  r.detail = lookup.error;
  return r;
}

}  // namespace chasquid::courier
