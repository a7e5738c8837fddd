// The remote courier: delivers by SMTP to the recipient domain's MXs
// (Deliver) or to the servers of a "via" alias (Forward), with STARTTLS,
// the domaininfo security levels and MTA-STS, mapping every failure to
// transient or permanent the way chasquid does (RFC 5321 §4.2.1 classes,
// with chasquid's own choices for DNS and TLS failures).
//
// Counters: chasquid/smtpOut/tlsCount, securityLevelChecks, sts/mode,
// sts/security. One trace per delivery (Courier.SMTP.Deliver or
// Courier.SMTP.Forward, titled with the recipient).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "courier/courier.h"
#include "courier/smtp_client.h"
#include "dns/dns.h"
#include "domaininfo/domaininfo.h"
#include "sts/policy.h"
#include "tlsrpt/tlsrpt.h"

namespace chasquid::courier {

struct SmtpOptions {
  std::string hostname;  // EHLO name (config `hostname`).
  std::string port = "25";  // --testing__outgoing_smtp_port.
  dns::Resolver* resolver = nullptr;  // Required; must outlive the courier.
  domaininfo::DB* dinfo = nullptr;    // Required; must outlive the courier.
  // TLS client context with the trusted roots (tlsroots::NewClientContext).
  std::shared_ptr<net::ssl::context> tls;
  // The MTA-STS policy of a domain through the cache (nullopt: no policy);
  // empty function: MTA-STS disabled.
  std::function<net::awaitable<std::optional<sts::Policy>>(std::string)>
      sts_policy;
  std::chrono::steady_clock::duration connect_timeout =
      std::chrono::minutes(1);
  std::chrono::steady_clock::duration session_timeout =
      std::chrono::minutes(10);
  // Local addresses to connect from (config outgoing_source_ipv4/6).
  SourceAddrs source;
  // Ours: where each session's TLS outcome is recorded for TLS reporting
  // (RFC 8460); null: counted only. Must outlive the courier.
  tlsrpt::Recorder* tlsrpt = nullptr;
};

// Thread-safe: each call uses its own connection; shared state is the
// resolver, domaininfo and STS cache, all thread-safe.
class SmtpCourier : public Courier {
 public:
  explicit SmtpCourier(SmtpOptions opts) : opts_(std::move(opts)) {}

  net::awaitable<Status> Deliver(
      std::string from, std::string to,
      std::shared_ptr<const std::string> data) override;
  net::awaitable<Status> Forward(
      std::string from, std::string to, std::vector<std::string> servers,
      std::shared_ptr<const std::string> data) override;
  // Ours: RFC 8689 (courier.h).
  net::awaitable<Status> DeliverRequireTls(
      std::string from, std::string to,
      std::shared_ptr<const std::string> data) override;

 private:
  struct Attempt;
  net::awaitable<Status> DeliverWith(std::string from, std::string to,
                                     std::shared_ptr<const std::string> data,
                                     bool require_tls);
  // Records one session's TLS outcome (counters and opts_.tlsrpt).
  void RecordTls(const Attempt& a, const std::string& host, bool offered,
                 SSL* ssl, bool verified);
  net::awaitable<Status> TryHost(Attempt& a, std::string host);
  net::awaitable<Status> TryHostOnce(Attempt& a, std::string host,
                                     bool allow_tls, bool* tls_failed);

  const SmtpOptions opts_;
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
