// DANE for outgoing SMTP (RFC 7672, RFC 7671): what the TLSA records of an
// MX host demand, and the verdict of one delivery attempt.
//
// Only TLSA answers that a trusted (loopback) validating resolver marked
// authenticated count. Usable records are DANE-TA(2) and DANE-EE(3) with
// selectors 0/1 and matching types 0/1/2 (RFC 7672 §3.1); PKIX-TA(0) and
// PKIX-EE(1) are not used for SMTP. OpenSSL does the matching
// (SSL_dane_enable, SSL_dane_tlsa_add); the name checks for DANE-TA are
// RFC 7672 §3.2's (the MX host name, wildcards only as a whole leftmost
// label), and DANE-EE records match without name checks (§3.1.1).
#pragma once

#include <string>
#include <vector>

#include <openssl/ssl.h>
#include <boost/asio/awaitable.hpp>

#include "base/status.h"
#include "dns/dns.h"

namespace chasquid::courier {

// The DANE outcome of one attempt to deliver to one MX host. Other parts
// (TLS reporting) may record it; DaneResultName gives the label of the
// chasquid/smtpOut/dane counter.
enum class DaneResult {
  kOff,          // DANE not enabled, or the resolver is not trusted.
  kInsecure,     // TLSA answer not authenticated: the usual rules apply.
  kNoRecords,    // Authenticated denial: no TLSA records for the host.
  kVerified,     // The peer's certificate matched a usable record.
  kMismatch,     // It matched none: not delivered.
  kNoStartTLS,   // Records demand TLS, the peer offered none or it broke.
  kUnusable,     // Records, but none usable: TLS required, no matching.
  kBogus,        // The TLSA answer failed DNSSEC validation: deferred.
  kLookupError,  // The TLSA lookup failed in a signed zone: deferred.
};

// "verified", "mismatch", "insecure", "bogus", "lookuperror", "none",
// "nostarttls", "unusable", "off".
const char* DaneResultName(DaneResult r);

// One DANE outcome, as the courier reports it to SmtpOptions::dane_observer
// (once per MX host tried, when DANE is on).
struct DaneAttempt {
  std::string domain;  // The recipient domain (the policy domain).
  std::string host;    // The MX host.
  DaneResult result = DaneResult::kOff;
  std::string detail;  // Why, for the failures; empty otherwise.
};

// What the TLSA records of one host ask for.
struct DanePolicy {
  // Before the connection: kOff, kInsecure, kNoRecords, kBogus,
  // kLookupError, or kVerified meaning "usable records, to be matched",
  // or kUnusable.
  DaneResult lookup = DaneResult::kOff;
  std::vector<dns::TLSA> usable;  // For lookup == kVerified.
  // Every authenticated record, usable or not (kVerified, kUnusable): the
  // policy a TLS report shows (RFC 8460 §4.4, policy type "tlsa").
  std::vector<dns::TLSA> records;
  std::string error;  // For kBogus and kLookupError.

  // STARTTLS is mandatory and there is no fallback to plain text.
  bool RequiresTLS() const {
    return lookup == DaneResult::kVerified || lookup == DaneResult::kUnusable;
  }
  // Delivery to this host must wait (bogus data or a failed lookup).
  bool Defers() const {
    return lookup == DaneResult::kBogus || lookup == DaneResult::kLookupError;
  }
};

// Whether a record is usable for SMTP (RFC 7672 §3.1): usage 2 or 3,
// selector 0 or 1, matching type 0, 1 or 2 with data of the right length.
bool UsableForSmtp(const dns::TLSA& t);

// The presentation form of a record, "3 1 1 <hex>" (RFC 6698 §2.2).
std::string TlsaText(const dns::TLSA& t);

// Turns a resolver's TLSA answer into a policy. Pure.
DanePolicy PolicyFrom(const dns::TLSAAnswer& answer);

// Looks up "_<port>._tcp.<host>" TLSA through `resolver` and decides. The
// port is the one being connected to (25 in production).
boost::asio::awaitable<DanePolicy> LookupDane(dns::Resolver* resolver,
                                              std::string host,
                                              std::string port);

// Enables DANE matching on `ctx` (once, before any connection uses it).
Status EnableDaneContext(SSL_CTX* ctx);
// Prepares `ssl` (after tlsroots::PrepareClient, before the handshake) to
// match the peer against `records`, with `host` as the reference name.
// Fails when OpenSSL accepts none of the records.
Status PrepareDane(SSL* ssl, const std::string& host,
                   const std::vector<dns::TLSA>& records);
// After the handshake: whether a record matched (and the chain verified
// through it). `why` gets OpenSSL's verification error otherwise.
bool DaneMatched(SSL* ssl, std::string* why);

}  // namespace chasquid::courier
