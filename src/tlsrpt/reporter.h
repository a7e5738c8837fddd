// The daily TLS report run (RFC 8460 §4, §5.3): for each day that has
// ended (UTC), each domain recorded in the store, the domain's
// `_smtp._tls.<domain>` TXT record is looked up; each `mailto:` rua gets
// one report mail through the queue (DKIM-signed when the sending domain
// has a key), each `https:` rua one POST (https.h), then the day's record
// is forgotten. A domain without a record is forgotten without a report.
// Other rua schemes count as failed reports and are logged.
//
// Counters: chasquid/tlsrpt/reports ("sent" per mailto rua queued,
// "failed" otherwise). One trace per domain report (TLSRPT.Report).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "base/status.h"
#include "dns/dns.h"
#include "tlsrpt/store.h"

namespace chasquid::tlsrpt {

namespace net = boost::asio;

struct ReporterOptions {
  Store* store = nullptr;             // Required; must outlive the reporter.
  dns::Resolver* resolver = nullptr;  // Required; must outlive it.
  std::string submitter;  // organization-name and TLS-Report-Submitter.
  std::string from;       // From and envelope sender of the mails.
  std::string contact;    // contact-info; empty: `from`.
  // 0: once a day, a few minutes after UTC midnight, for the days that
  // ended. Otherwise (--testing__tlsrpt_period): every `period`, every
  // day held, today's too.
  std::chrono::nanoseconds period{0};
  // Queues a mail (LF line endings); the queue's Put.
  std::function<net::awaitable<Result<std::string>>(
      std::string from, std::vector<std::string> to,
      std::shared_ptr<const std::string> data)>
      put;
  // DKIM-signs `*data` for `domain` with its keys, if any (may be empty).
  std::function<net::awaitable<Result<int>>(std::string domain,
                                            std::string* data)>
      sign;
  // The trusted roots for https: rua; null: those fail.
  std::shared_ptr<net::ssl::context> tls;
  std::chrono::steady_clock::duration https_timeout = std::chrono::minutes(1);
};

class Reporter {
 public:
  explicit Reporter(ReporterOptions opts) : opts_(std::move(opts)) {}
  // Spawns the loop on `ex`; it runs until the executor stops.
  void Start(net::any_io_executor ex);
  // One pass over the store; `include_today`: today's records too.
  net::awaitable<void> RunOnce(bool include_today);

 private:
  net::awaitable<void> Loop(net::any_io_executor ex);
  net::awaitable<void> ReportDomain(DomainDay d);

  const ReporterOptions opts_;
};

}  // namespace chasquid::tlsrpt
