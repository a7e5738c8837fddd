// The remote courier: delivers by SMTP to the recipient domain's MXs
// (Deliver) or to the servers of a "via" alias (Forward), with STARTTLS,
// the domaininfo security levels and MTA-STS, mapping every failure to
// transient or permanent the way chasquid does (RFC 5321 §4.2.1 classes,
// with chasquid's own choices for DNS and TLS failures).
//
// Counters: chasquid/smtpOut/tlsCount, securityLevelChecks, sts/mode,
// sts/security, and ours: tlsVersions, dane; and the TLS reporting ones
// (tlsrpt.h), for each session: its policy is "tlsa" where DANE applied
// (usable or unusable records, or bogus/failed TLSA lookups), else "sts"
// or "no-policy-found". One trace per delivery
// (Courier.SMTP.Deliver or Courier.SMTP.Forward, titled with the
// recipient), and one per DANE lookup (Courier.DANE, titled with the host).
//
// DANE (RFC 7672) applies to deliveries to MX hosts, not to the servers of
// a "via" alias, which the administrator named. It takes precedence over
// MTA-STS (RFC 8461 §2): a host with usable TLSA records is tried even if
// an enforced policy does not list it, and its DANE match stands in for
// the policy's certificate check. It applies to an MX host only when the
// MX RRset itself was authenticated (RFC 7672 §2.2.1): with an unsigned
// MX answer, every host counts as "insecure". A DANE-verified MX also
// satisfies REQUIRETLS (RFC 8689 §4.2.1), as an enforced MTA-STS policy
// does.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "courier/courier.h"
#include "courier/dane.h"
#include "courier/smtp_client.h"
#include "dns/dns.h"
#include "domaininfo/domaininfo.h"
#include "sts/policy.h"
#include "tlsrpt/tlsrpt.h"

namespace chasquid::courier {

struct SmtpOptions {
  std::string hostname;               // EHLO name (config `hostname`).
  std::string port = "25";            // --testing__outgoing_smtp_port.
  dns::Resolver* resolver = nullptr;  // Required; must outlive the courier.
  domaininfo::DB* dinfo = nullptr;    // Required; must outlive the courier.
  // TLS client context with the trusted roots (tlsroots::NewClientContext).
  std::shared_ptr<net::ssl::context> tls;
  // The MTA-STS policy of a domain through the cache (sts::Cache::Get:
  // no policy, or why a policy the domain announced could not be had,
  // for TLS reports); empty function: MTA-STS disabled.
  std::function<net::awaitable<sts::PolicyLookup>(std::string)> sts_policy;
  std::chrono::steady_clock::duration connect_timeout = std::chrono::minutes(1);
  std::chrono::steady_clock::duration session_timeout =
      std::chrono::minutes(10);
  // Local addresses to connect from (config outgoing_source_ipv4/6).
  SourceAddrs source;
  // DANE (courier/dane.h; config `dane`, ours): TLSA records of each MX
  // host, believed only from a resolver on loopback (TrustsAD).
  bool dane = false;
  // Told every DANE outcome when DANE is on; may be empty. Called on the
  // delivering coroutine: must not block.
  std::function<void(DaneAttempt)> dane_observer;
  // Ours: where each session's TLS outcome is recorded for TLS reporting
  // (RFC 8460); null: counted only. Must outlive the courier.
  tlsrpt::Recorder* tlsrpt = nullptr;
  // The daemon's pool for blocking work: a spooled body is read from its
  // file there, a piece at a time, never on the network thread that
  // sends it. Null: read where the delivery runs (tests). Must outlive
  // the courier.
  net::thread_pool* blocking = nullptr;
};

// Thread-safe: each call uses its own connection; shared state is the
// resolver, domaininfo and STS cache, all thread-safe.
class SmtpCourier : public Courier {
 public:
  // With opts.dane, enables DANE on opts.tls, or logs once that DANE is
  // off because the resolver is not on loopback.
  explicit SmtpCourier(SmtpOptions opts);

  net::awaitable<Status> Deliver(
      std::string from, std::string to,
      std::shared_ptr<const std::string> data) override;
  net::awaitable<Status> Forward(
      std::string from, std::string to, std::vector<std::string> servers,
      std::shared_ptr<const std::string> data) override;
  // The body is read from its file and sent a piece at a time.
  net::awaitable<Status> DeliverSpooled(
      std::string from, std::string to, std::shared_ptr<const std::string> head,
      std::shared_ptr<const safeio::Spool> body) override;
  // As Forward; the body is read from its file and sent a piece at a time.
  net::awaitable<Status> ForwardSpooled(
      std::string from, std::string to, std::vector<std::string> servers,
      std::shared_ptr<const std::string> head,
      std::shared_ptr<const safeio::Spool> body) override;
  // Ours: RFC 8689 (courier.h).
  net::awaitable<Status> DeliverRequireTls(
      std::string from, std::string to,
      std::shared_ptr<const std::string> data) override;
  // As DeliverRequireTls; the body is read from its file and sent a piece
  // at a time.
  net::awaitable<Status> DeliverRequireTlsSpooled(
      std::string from, std::string to, std::shared_ptr<const std::string> head,
      std::shared_ptr<const safeio::Spool> body) override;

 private:
  struct Attempt;
  net::awaitable<Status> DeliverWith(std::string from, std::string to,
                                     std::shared_ptr<const std::string> data,
                                     std::shared_ptr<const safeio::Spool> body,
                                     bool require_tls);
  net::awaitable<Status> ForwardWith(std::string from, std::string to,
                                     std::vector<std::string> servers,
                                     std::shared_ptr<const std::string> data,
                                     std::shared_ptr<const safeio::Spool> body);
  // Records one session's TLS outcome (counters and opts_.tlsrpt), with
  // the addresses of `c` (may be null).
  void RecordTls(const Attempt& a, const std::string& host, bool offered,
                 SSL* ssl, bool verified, const Client* c);
  // Records one session's TLS reporting outcome, as built.
  void Report(const Attempt& a, tlsrpt::SessionResult r, const Client* c);
  net::awaitable<Status> TryHost(Attempt& a, std::string host, DanePolicy dane);
  net::awaitable<Status> TryHostOnce(Attempt& a, std::string host,
                                     bool allow_tls, bool* tls_failed,
                                     DanePolicy dane);
  net::awaitable<DanePolicy> DaneFor(Attempt& a, std::string host);
  void RecordDane(Attempt& a, const std::string& host, DaneResult r,
                  const std::string& detail);
  // Runs `read` (a read of the spool file) on opts_.blocking, or here
  // without a pool.
  net::awaitable<Status> ReadSpool(std::function<Status()> read);
  // Sends the message of `a` after DATA's 354, encoded for the wire: a
  // spooled body a piece at a time, each piece read by ReadSpool.
  net::awaitable<Status> SendBody(Attempt& a, Client* c);

  const SmtpOptions opts_;
  bool dane_ = false;  // opts_.dane, and the resolver is trusted.
};

// How `addr` is sent to a server with or without SMTPUTF8. Sets
// *needs_smtputf8 when it goes as UTF-8. Errors are permanent 599s.
Result<std::string> AddrForServer(const std::string& addr,
                                  bool server_has_smtputf8,
                                  bool* needs_smtputf8);

// IDNA ToASCII of a domain (lenient, as Go's idna.ToASCII).
Result<std::string> DomainToAscii(const std::string& domain);

// Registers chasquid/smtpOut/* so they are exported from start-up on, as
// chasquid's are (Go registers them at package init), not only after the
// first remote delivery. Call once from main.
void RegisterSmtpOutVars();

}  // namespace chasquid::courier
