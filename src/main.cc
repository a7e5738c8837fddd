// chasquid: the daemon. Only wiring: flags, config, construction of each
// component from its options, start, signals. The start-up order is
// chasquid's, and it is observable: on a broken set-up the first error
// reported is the one chasquid would report, so the steps below keep it.
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include "aliases/aliases.h"
#include "aliases/rpc.h"
#include "auth/auth.h"
#include "base/exit.h"
#include "base/log.h"
#include "base/strings.h"
#include "base/version.h"
#include "config/config.h"
#include "courier/mda.h"
#include "courier/options.h"
#include "courier/smtp.h"
#include "daemon/cert_reload.h"
#include "daemon/daemon.h"
#include "daemon/flags.h"
#include "daemon/reload.h"
#include "dns/dns.h"
#include "domaininfo/domaininfo.h"
#include "domaininfo/rpc.h"
#include "dovecot/dovecot.h"
#include "localrpc/localrpc.h"
#include "maillog/maillog.h"
#include "metrics/latency.h"
#include "metrics/metrics.h"
#include "metrics/process.h"
#include "monitoring/pprof.h"
#include "monitoring/start.h"
#include "normalize/normalize.h"
#include "policy/policy.h"
#include "queue/options.h"
#include "queue/queue.h"
#include "queue/rpc.h"
#include "smtpsrv/options.h"
#include "smtpsrv/server.h"
#include "smtpsrv/startup.h"
#include "smtpsrv/tls.h"
#include "sts/sts.h"
#include "tlsroots/tlsroots.h"
#include "tlsrpt/reporter.h"
#include "tlsrpt/store.h"
#include "tlsrpt/tlsrpt.h"

namespace chasquid {
namespace {

namespace net = boost::asio;

// Threads of the one pool for blocking work: scrypt, hooks, alias hooks,
// fsyncs, the local RPC's methods. Eight concurrent fsyncs is where this
// kind of disk stops gaining from more writers.
constexpr int kBlockingThreads = 8;

template <typename T>
T OrDie(Result<T> r, const std::string& prefix) {
  if (!r.ok()) CLOG_FATAL(prefix + r.status().message());
  return std::move(*r);
}

void OrDie(const Status& s, const std::string& prefix) {
  if (!s.ok()) CLOG_FATAL(prefix + s.message());
}

void RegisterBuildVars(std::vector<std::string> args) {
  metrics::NewString("chasquid/version")->Set(version::Version());
  metrics::NewString("chasquid/sourceDateStr")->Set(version::SourceDateStr());
  metrics::NewCounter(
      "chasquid/sourceDateTimestamp",
      "timestamp when the binary was built, in seconds since epoch")
      ->Set(version::SourceDateTimestamp());
  metrics::RegisterProcessVars(std::move(args));
  metrics::RegisterBuildInfo(version::Version(), version::SourceDateStr());
  metrics::RegisterLatencyMetrics();
  courier::RegisterSmtpOutVars();
  tlsrpt::RegisterVars();
}

// Runs `io` on one thread per core (at least two), this one included.
void RunIoThreads(net::io_context& io) {
  unsigned n = std::max(2u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < n; i++) {
    threads.emplace_back([&] { io.run(); });
    // Named for the tasks page and for top -H.
    pthread_setname_np(threads.back().native_handle(),
                       ("io-" + std::to_string(i)).c_str());
  }
  io.run();
  for (auto& t : threads) t.join();
}

int Main(int argc, char** argv) {
  monitoring::EnableHeapSampling();
  std::vector<std::string> args(argv, argv + argc);
  const daemon::Flags flags = daemon::ParseFlags(argc, argv);
  const config::Testing& testing = flags.testing;
  CLOG_INFO("chasquid starting (version " + version::Version() + ")");
  RegisterBuildVars(args);

  const Config conf = OrDie(
      config::Load(flags.config_dir + "/chasquid.conf", flags.config_overrides),
      "Error loading config: ");
  CLOG_INFO("Configuration:\n" + config::LogLines(conf));
  if (chdir(flags.config_dir.c_str()) != 0) {
    CLOG_FATAL("Error changing to config dir " + GoQuote(flags.config_dir) +
               ": " + PathError("chdir", flags.config_dir, errno));
  }
  OrDie(maillog::Init(conf.mail_log_path()), "Error opening mail log: ");

  net::io_context io;
  // Registered now, handled once serving: a signal during start-up waits
  // for the handler instead of killing the process.
  net::signal_set signals(io, SIGHUP, SIGTERM, SIGINT);
  net::thread_pool blocking(kBlockingThreads);
  std::unique_ptr<dns::Resolver> resolver =
      OrDie(dns::NewCaresResolver(io.get_executor(), testing.dns_addr),
            "Error initializing DNS resolver: ");

  std::unique_ptr<monitoring::Server> mon;
  if (!conf.monitoring_address().empty()) {
    monitoring::Info info{conf.hostname(), config::ToText(conf), args,
                          [] { base::QuickExit(0); }, kBlockingThreads};
    mon =
        OrDie(monitoring::Start(io, std::move(info), conf.monitoring_address()),
              "Monitoring server failed: ");
    CLOG_INFO("Monitoring HTTP server listening on " +
              conf.monitoring_address());
  }

  // Users: one userdb per domain (LoadDomains) and the Dovecot fallback.
  auth::Authenticator authr;
  if (conf.dovecot_auth()) {
    auto dovecot = std::make_unique<dovecot::Auth>(conf.dovecot_userdb_path(),
                                                   conf.dovecot_client_path());
    CLOG_INFO("Fallback authenticator: " + dovecot->String());
    if (Status s = dovecot->Check(); !s.ok()) {
      CLOG_ERROR("Warning: Dovecot auth is not responding: " + s.message());
    }
    authr.SetFallback(std::move(dovecot));
  }
  std::vector<daemon::CertPair> certs = OrDie(daemon::DiscoverCerts(), "");

  aliases::FileResolver aliasr(
      conf.suffix_separators(), conf.drop_characters(),
      [&authr](const std::string& user, const std::string& domain) {
        auto u = normalize::User(user);
        auto r = authr.Exists(u.ok() ? *u : user, domain);
        return r.ok() && *r;
      });
  aliasr.SetHookPath("hooks/alias-resolve");
  policy::Policy policy(resolver.get());
  std::vector<std::string> local_domains;
  daemon::DomainLoaders loaders;
  loaders.load_aliases = [&aliasr](const std::string& d,
                                   const std::string& dir) {
    return aliasr.AddAliasesFile(d, dir + "/aliases");
  };
  loaders.load_dkim = [&policy](const std::string& d, const std::string& dir) {
    return policy.LoadDKIM(d, dir);
  };
  loaders.add_local_domain = [&](const std::string& d) {
    local_domains.push_back(d);
  };
  OrDie(daemon::LoadDomains(&authr, loaders), "");
  local_domains.push_back("localhost");
  aliasr.AddDomain("localhost");

  // The data directory is created as chasquid's first use of it (the
  // domaininfo database) would, so its errors read the same.
  OrDie(daemon::CreateDataDir(conf.data_dir()),
        "Error opening domain info database: ");
  std::unique_ptr<domaininfo::DB> dinfo =
      OrDie(domaininfo::DB::Open(conf.data_dir() + "/domaininfo"),
            "Error opening domain info database: ");
  std::shared_ptr<net::ssl::context> client_tls =
      OrDie(tlsroots::NewClientContext(), "Failed to initialize STS cache: ");
  std::unique_ptr<sts::Cache> sts_cache =
      OrDie(sts::Cache::Open(conf.data_dir() + "/sts-cache", resolver.get(),
                             client_tls),
            "Failed to initialize STS cache: ");
  sts_cache->StartRefresh(io.get_executor(), std::chrono::minutes(10));

  courier::SmtpOptions smtp_opts = courier::SmtpOptionsFrom(conf, testing);
  smtp_opts.resolver = resolver.get();
  // Ours: the outgoing source addresses, which the host must have.
  smtp_opts.source = {conf.outgoing_source_ipv4(), conf.outgoing_source_ipv6()};
  OrDie(courier::CheckSourceAddrs(smtp_opts.source), "Invalid configuration: ");
  smtp_opts.dinfo = dinfo.get();
  smtp_opts.tls = client_tls;
  smtp_opts.sts_policy = [cache = sts_cache.get()](std::string domain) {
    return cache->Get(std::move(domain), std::chrono::minutes(1));
  };
  // Ours: TLS reporting (RFC 8460), when enabled.
  std::unique_ptr<tlsrpt::Store> tlsrpt_store;
  if (conf.tls_reporting().enabled()) {
    tlsrpt_store = OrDie(tlsrpt::Store::Open(conf.data_dir() + "/tlsrpt",
                                             tlsrpt::Store::Limits{}),
                         "Error opening TLS reporting store: ");
    smtp_opts.tlsrpt = tlsrpt_store.get();
  }
  courier::SmtpCourier remote(std::move(smtp_opts));
  courier::MDA mda(conf.mail_delivery_agent_bin(),
                   {conf.mail_delivery_agent_args().begin(),
                    conf.mail_delivery_agent_args().end()});
  courier::Pipe pipe;

  // Loaded items start their send loops at once.
  queue::Options qopts = queue::OptionsFrom(conf, testing);
  qopts.local_domains = {local_domains.begin(), local_domains.end()};
  qopts.aliases = &aliasr;
  qopts.local = &mda;
  qopts.remote = &remote;
  qopts.pipe = &pipe;
  qopts.pool = &blocking;
  std::unique_ptr<queue::DiskQueue> q =
      OrDie(queue::DiskQueue::New(io.get_executor(), std::move(qopts)),
            "Error initializing queue: ");
  OrDie(q->Load(), "Error loading queue: ");
  std::unique_ptr<tlsrpt::Reporter> tlsrpt_reporter;
  if (tlsrpt_store) {
    const auto& tc = conf.tls_reporting();
    tlsrpt::ReporterOptions ro;
    ro.store = tlsrpt_store.get();
    ro.resolver = resolver.get();
    ro.submitter = tc.submitter().empty() ? conf.hostname() : tc.submitter();
    ro.from = tc.from_address().empty()
                  ? std::string("tlsrpt-noreply@").append(conf.hostname())
                  : tc.from_address();
    ro.contact = tc.contact_info();
    ro.period = testing.tlsrpt_period;
    ro.tls = client_tls;
    ro.put = [qp = q.get()](std::string from, std::vector<std::string> to,
                            std::shared_ptr<const std::string> data) {
      return qp->Put(std::move(from), std::move(to), std::move(data));
    };
    ro.sign = [&policy](std::string domain, std::string* data) {
      return policy.DkimSign(std::move(domain), data, nullptr);
    };
    tlsrpt_reporter = std::make_unique<tlsrpt::Reporter>(std::move(ro));
    tlsrpt_reporter->Start(io.get_executor());
  }
  if (mon) {
    mon->Handle("/debug/queue", [&q](const monitoring::Request&) {
      return monitoring::Response::Text(q->DumpText());
    });
  }

  smtpsrv::ListenPlan plan;
  OrDie(
      smtpsrv::CollectListeners(
          {{conf.smtp_address().begin(), conf.smtp_address().end()},
           {conf.submission_address().begin(), conf.submission_address().end()},
           {conf.submission_over_tls_address().begin(),
            conf.submission_over_tls_address().end()}},
          &plan),
      "");

  // The local RPC for chasquid-util.
  localrpc::Server rpc(io.get_executor(), &blocking);
  aliases::RegisterRpc(rpc, aliasr);
  domaininfo::RegisterRpc(rpc, *dinfo);
  queue::RegisterRpc(&rpc, q.get());
  OrDie(rpc.Listen(conf.data_dir() + "/localrpc-v1"),
        "Error starting local RPC server: ");
  rpc.Start();

  // Reloads: aliases first, users last; SIGHUP also reopens the logs and
  // rereads domaininfo.
  daemon::Reloader reloader;
  reloader.Add("Error reloading aliases: ",
               [&aliasr] { return aliasr.Reload(); });
  reloader.Add("Error reloading authenticators: ",
               [&authr] { return authr.Reload(); });
  reloader.AddOnSignal("", false, [] {
    log::Reopen();
    return Status::Ok();
  });
  reloader.AddOnSignal("Error reopening mail log: ", true,
                       [] { return maillog::Reopen(); });
  reloader.AddOnSignal("Error reloading domain info: ", false,
                       [&dinfo] { return dinfo->Reload(); });
  reloader.HandleSignals(signals);

  if (certs.empty()) {
    CLOG_ERROR("No SSL/TLS certificates found");
    CLOG_ERROR("Ideally there should be a certificate for each MX you act as");
    CLOG_FATAL("At least one valid certificate is needed");
  }
  // Certificates reload on SIGHUP and on the reload timer (ours).
  smtpsrv::TlsStore tls;
  daemon::CertReloader cert_reloader("certs/", &tls);
  OrDie(cert_reloader.Init(certs), "    ");
  reloader.Add("", [&cert_reloader] {
    cert_reloader.Check();
    return Status::Ok();
  });

  policy.SetDomainInfo(dinfo.get(), &blocking);
  smtpsrv::Deps deps;
  deps.blocking = &blocking;
  deps.tls = &tls;
  deps.local_domains = {local_domains.begin(), local_domains.end()};
  deps.authenticate = [&authr](const std::string& user,
                               const std::string& domain,
                               const std::string& password) {
    return authr.Authenticate(user, domain, password);
  };
  deps.user_exists = [&authr](const std::string& user,
                              const std::string& domain) {
    return authr.Exists(user, domain);
  };
  deps.queue = q.get();
  deps.aliases = &aliasr;
  deps.checks = &policy;
  smtpsrv::Server smtp(io, smtpsrv::OptionsFrom(conf, testing),
                       std::move(deps));
  OrDie(smtpsrv::BindListeners(&smtp, plan), "");
  smtp.Start();
  reloader.StartPeriodic(io, testing.reload_every);

  RunIoThreads(io);
  return 0;
}

}  // namespace
}  // namespace chasquid

int main(int argc, char** argv) { return chasquid::Main(argc, argv); }
