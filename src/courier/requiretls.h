// Ours: the courier's parts of REQUIRETLS (RFC 8689) and of TLS reporting
// (RFC 8460), kept apart from the SMTP dialog in smtp.cc.
#pragma once

#include <optional>
#include <string>

#include <openssl/ssl.h>

#include "base/status.h"
#include "courier/dane.h"
#include "sts/policy.h"
#include "tlsrpt/tlsrpt.h"

namespace chasquid::courier {

// RFC 8689 §4.1: whether the message's header has "TLS-Required: No"
// (field name and value case-insensitive). `data` is LF or CRLF; only the
// header block is read.
bool HasTlsRequiredNo(const std::string& data);

// The permanent 5.7.30 failure a REQUIRETLS message gets when it cannot be
// relayed as asked (RFC 8689 §5), with `why` for the DSN; counted as
// "bounced".
Status RequireTlsBounce(const std::string& why);

// The TLS reporting outcome of one session to `mx` for `domain`, from what
// the courier saw: whether STARTTLS was offered and worked (`ssl` is the
// session, null without TLS), whether the certificate was validated, and
// the MTA-STS policy in force (testing or enforce; nullopt: none).
tlsrpt::SessionResult TlsOutcome(const std::string& domain,
                                 const std::string& mx,
                                 const std::optional<sts::Policy>& policy,
                                 bool offered_starttls, SSL* ssl,
                                 bool verified);

// The TLS reporting outcome of one session to `mx` where DANE applied
// (RFC 8460 policy type "tlsa", the records as its policy strings): a
// success, or a failure of type `result` with `detail`.
tlsrpt::SessionResult DaneOutcome(const std::string& domain,
                                  const std::string& mx, const DanePolicy& dane,
                                  bool success, tlsrpt::ResultType result,
                                  const std::string& detail);

// The result type of a DANE verification failure (RFC 8460 §4.3), from
// OpenSSL's verification error: no record matched the peer is
// tlsa-invalid; a DANE-TA chain whose leaf does not name the MX is
// certificate-host-mismatch; expired, untrusted, other: as for WebPKI.
tlsrpt::ResultType DaneFailureResult(long verify_error);

// The TLS reporting outcome of a session to `mx` for a domain that
// announced an MTA-STS policy which could not be had (`lookup.failure`
// is not kNone): policy type "sts" without policy strings, failure
// sts-policy-fetch-error, sts-policy-invalid or sts-webpki-invalid.
tlsrpt::SessionResult StsFailureOutcome(const std::string& domain,
                                        const std::string& mx,
                                        const sts::PolicyLookup& lookup);

}  // namespace chasquid::courier
