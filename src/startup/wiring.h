// The daemon's wiring, in pieces: what main() would otherwise spell out
// between constructing one component and the next. Each function is one
// step of the start-up, with chasquid's log lines and fatal messages.
// Main thread only, before serving.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "aliases/aliases.h"
#include "auth/auth.h"
#include "base/log.h"
#include "base/status.h"
#include "checks/checks.h"
#include "config/config.h"
#include "config/testing.h"
#include "courier/smtp.h"
#include "dns/dns.h"
#include "domaininfo/domaininfo.h"
#include "queue/queue.h"
#include "smtpsrv/server.h"
#include "startup/reload.h"
#include "sts/sts.h"
#include "tlsrpt/reporter.h"
#include "tlsrpt/store.h"

namespace chasquid::startup {

namespace net = boost::asio;

// Threads of the one pool for blocking work: scrypt, hooks, alias hooks,
// fsyncs, the local RPC's methods. Eight concurrent fsyncs is where this
// kind of disk stops gaining from more writers. /debug/flags shows it.
inline constexpr int kBlockingThreads = 8;

// The value, or the process ends with the fatal log line `prefix` +
// the error (chasquid's texts: the prefixes are part of them).
template <typename T>
T OrDie(Result<T> r, const std::string& prefix) {
  if (!r.ok()) CLOG_FATAL(prefix + r.status().message());
  return std::move(*r);
}
void OrDie(const Status& s, const std::string& prefix);

// chasquid/version and the other build variables, the process variables
// (with the command line `args`) and the latency metrics.
void RegisterBuildVars(std::vector<std::string> args);

// Caps the memory tcmalloc keeps in its per-thread caches, all threads
// together, at kThreadCacheBytes (its default is 32 MiB). The daemon's
// peak RSS at 50 sessions of 10 KiB messages was 32.3 MiB with the
// default, 29.0 MiB with this cap, at the same CPU per message
// (bench/README.md). No-op, returning false, when tcmalloc is not linked
// (sanitizer builds, unit tests) or TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES
// is set in the environment (the administrator's value stands).
inline constexpr size_t kThreadCacheBytes = 2 << 20;
bool LimitAllocatorCaches();

// The network threads, each running an io_context of its own. This
// thread runs the main one: the queue and its deliveries, the listeners,
// timers, DNS and the monitoring server. One more thread per core (at
// least two: io-1, io-2..., as the tasks page and top -H name them) each
// runs one that serves SMTP connections, which the server hands out in
// turn. A connection thus lives on one thread, receiving never waits
// behind deliveries, and TLS handshakes still use every core. Measured on
// 2 cores (bench/README.md): one io_context run by both threads, as
// before, woke the other thread for most handlers, which cost 15-18% of
// the daemon's CPU per message and a third of the rate at one session;
// a single connection thread beside the main one was 3-7% cheaper still
// on plain SMTP but took 13% fewer TLS handshakes a second.
//
// Declare it before the main io_context, so that it outlives it: the
// main one's pending accepts hold strands of these for the next socket.
class IoThreads {
 public:
  IoThreads();
  ~IoThreads();
  // Where SMTP connections go (smtpsrv::Server::SetConnectionContexts):
  // every io_context but the main one.
  std::vector<boost::asio::io_context*> contexts();
  // Runs `main` on this thread and the others on theirs, until `main`
  // stops.
  void Run(boost::asio::io_context& main);

 private:
  struct Extra;
  std::vector<std::unique_ptr<Extra>> extra_;
};

// With dovecot_auth, Dovecot becomes the fallback authenticator. A Dovecot
// that does not answer now is logged as a warning, not fatal.
void AddDovecotFallback(const Config& conf, auth::Authenticator* authr);

// The aliases resolver with the config's suffix separators and drop
// characters and the hooks/alias-resolve hook; whether a user exists is
// asked of `authr` (the user normalised first). `authr` must outlive it.
std::unique_ptr<aliases::FileResolver> NewAliasResolver(
    const Config& conf, auth::Authenticator* authr);

// Domain discovery (LoadDomains): each domain's users go to `authr`, its
// aliases to `aliasr` and its DKIM keys to `checker`. Returns the local
// domains, ending with "localhost", which `aliasr` learns as well.
Result<std::vector<std::string>> LoadAllDomains(auth::Authenticator* authr,
                                                aliases::FileResolver* aliasr,
                                                checks::Checker* checker);

// What reloads: aliases first and users last, on the timer and on SIGHUP;
// on SIGHUP also the daemon's log, the mail log and domaininfo. All the
// pointers must outlive `reloader`.
void AddReloads(Reloader* reloader, aliases::FileResolver* aliasr,
                auth::Authenticator* authr, domaininfo::DB* dinfo);

// The remote courier's options: SmtpOptionsFrom plus what lives
// elsewhere: the resolver, domaininfo, the TLS roots, the MTA-STS cache,
// when TLS reporting is on, its store, and the blocking pool (spooled
// bodies are read there). Checks the outgoing source addresses (fatal:
// "Invalid configuration: ...").
courier::SmtpOptions RemoteCourierOptions(
    const Config& conf, const config::Testing& testing, dns::Resolver* resolver,
    domaininfo::DB* dinfo, std::shared_ptr<net::ssl::context> tls,
    sts::Cache* sts_cache, tlsrpt::Store* tlsrpt_store,
    net::thread_pool* blocking);

// With TLS reporting on (`store` not null), starts the daily reporter on
// `ex`: its mails go through `q` and are DKIM-signed by `checker`. Null
// when reporting is off. Every pointer must outlive the reporter.
std::unique_ptr<tlsrpt::Reporter> StartTlsReporter(
    const Config& conf, const config::Testing& testing, tlsrpt::Store* store,
    dns::Resolver* resolver, std::shared_ptr<net::ssl::context> tls,
    queue::DiskQueue* q, checks::Checker* checker, net::any_io_executor ex);

// What the SMTP server uses of the rest of the daemon. Every pointer must
// outlive the server.
struct SmtpServerParts {
  net::thread_pool* blocking;
  smtpsrv::TlsStore* tls;
  const std::vector<std::string>* local_domains;
  auth::Authenticator* authr;
  queue::DiskQueue* queue;
  aliases::FileResolver* aliases;
  checks::Checker* checker;
};
smtpsrv::Deps SmtpServerDeps(const SmtpServerParts& parts);

}  // namespace chasquid::startup
