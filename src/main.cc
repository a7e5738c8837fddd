// chasquid: the daemon. Only wiring: flags, config, construction of each
// component from its options, start, signals. The start-up order is
// chasquid's, and it is observable: on a broken set-up the first error
// reported is the one chasquid would report, so the steps below keep it.
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include "aliases/rpc.h"
#include "base/exit.h"
#include "base/strings.h"
#include "base/version.h"
#include "courier/mda.h"
#include "dns/dns.h"
#include "domaininfo/rpc.h"
#include "localrpc/localrpc.h"
#include "maillog/maillog.h"
#include "monitoring/pprof.h"
#include "monitoring/start.h"
#include "queue/debug_page.h"
#include "queue/options.h"
#include "queue/rpc.h"
#include "smtpsrv/options.h"
#include "startup/cert_reload.h"
#include "startup/flags.h"
#include "startup/listeners.h"
#include "startup/startup.h"
#include "startup/wiring.h"
#include "sts/sts.h"
#include "tlsroots/tlsroots.h"

namespace chasquid {
namespace {

namespace net = boost::asio;
using startup::OrDie;

int Main(int argc, char** argv) {
  monitoring::EnableHeapSampling();
  std::vector<std::string> args(argv, argv + argc);
  const startup::Flags flags = startup::ParseFlags(argc, argv);
  const config::Testing& testing = flags.testing;
  CLOG_INFO("chasquid starting (version " + version::Version() + ")");
  startup::RegisterBuildVars(args);
  startup::LimitAllocatorCaches();
  courier::RegisterSmtpOutVars();
  tlsrpt::RegisterVars();

  const Config conf = OrDie(
      config::Load(flags.config_dir + "/chasquid.conf", flags.config_overrides),
      "Error loading config: ");
  CLOG_INFO("Configuration:\n" + config::LogLines(conf));
  if (chdir(flags.config_dir.c_str()) != 0) {
    CLOG_FATAL("Error changing to config dir " + GoQuote(flags.config_dir) +
               ": " + PathError("chdir", flags.config_dir, errno));
  }
  OrDie(maillog::Init(conf.mail_log_path()), "Error opening mail log: ");

  // The network threads; `io` is the main one's, run by this thread.
  startup::IoThreads io_threads;
  net::io_context io(1);
  // Registered now, handled once serving: a signal during start-up waits
  // for the handler instead of killing the process.
  net::signal_set signals(io, SIGHUP, SIGTERM, SIGINT);
  net::thread_pool blocking(startup::kBlockingThreads);
  std::unique_ptr<dns::Resolver> resolver =
      OrDie(dns::NewCaresResolver(io.get_executor(), testing.dns_addr),
            "Error initializing DNS resolver: ");
  std::unique_ptr<monitoring::Server> mon;
  if (!conf.monitoring_address().empty()) {
    monitoring::Info info{conf.hostname(), config::ToText(conf), args,
                          [] { base::QuickExit(0); },
                          startup::kBlockingThreads};
    mon =
        OrDie(monitoring::Start(io, std::move(info), conf.monitoring_address()),
              "Monitoring server failed: ");
    CLOG_INFO("Monitoring HTTP server listening on " +
              conf.monitoring_address());
  }

  // Users, certificates, aliases, domains (users, aliases, DKIM keys).
  auth::Authenticator authr;
  startup::AddDovecotFallback(conf, &authr);
  std::vector<startup::CertPair> certs = OrDie(startup::DiscoverCerts(), "");
  std::unique_ptr<aliases::FileResolver> aliasr =
      startup::NewAliasResolver(conf, &authr);
  checks::Checker checker(resolver.get());
  const std::vector<std::string> local_domains =
      OrDie(startup::LoadAllDomains(&authr, aliasr.get(), &checker), "");

  // The data directory is created as chasquid's first use of it (the
  // domaininfo database) would, so its errors read the same.
  OrDie(startup::CreateDataDir(conf.data_dir()),
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
  sts_cache->SetBlocking(&blocking);
  sts_cache->StartRefresh(io.get_executor(), std::chrono::minutes(10));

  // Couriers: remote SMTP (with TLS reporting when enabled), MDA, pipes.
  std::unique_ptr<tlsrpt::Store> tlsrpt_store;
  if (conf.tls_reporting().enabled()) {
    tlsrpt_store = OrDie(tlsrpt::Store::Open(conf.data_dir() + "/tlsrpt",
                                             tlsrpt::Store::Limits{}),
                         "Error opening TLS reporting store: ");
  }
  courier::SmtpCourier remote(startup::RemoteCourierOptions(
      conf, testing, resolver.get(), dinfo.get(), client_tls, sts_cache.get(),
      tlsrpt_store.get(), &blocking));
  courier::MDA mda(conf.mail_delivery_agent_bin(),
                   {conf.mail_delivery_agent_args().begin(),
                    conf.mail_delivery_agent_args().end()});
  courier::Pipe pipe;

  // The queue. Loaded items start their send loops at once.
  queue::Options qopts = queue::OptionsFrom(conf, testing);
  qopts.local_domains = {local_domains.begin(), local_domains.end()};
  qopts.aliases = aliasr.get();
  qopts.local = &mda;
  qopts.remote = &remote;
  qopts.pipe = &pipe;
  qopts.pool = &blocking;
  std::unique_ptr<queue::DiskQueue> q =
      OrDie(queue::DiskQueue::New(io.get_executor(), std::move(qopts)),
            "Error initializing queue: ");
  OrDie(q->Load(), "Error loading queue: ");
  std::unique_ptr<tlsrpt::Reporter> tlsrpt_reporter = startup::StartTlsReporter(
      conf, testing, tlsrpt_store.get(), resolver.get(), client_tls, q.get(),
      &checker, io.get_executor());
  if (mon) queue::RegisterDebugPage(mon.get(), q.get());

  startup::ListenPlan plan;
  OrDie(startup::CollectListeners(conf, &plan), "");

  // The local RPC for chasquid-util.
  localrpc::Server rpc(io.get_executor(), &blocking);
  aliases::RegisterRpc(rpc, *aliasr);
  domaininfo::RegisterRpc(rpc, *dinfo);
  queue::RegisterRpc(&rpc, q.get());
  OrDie(rpc.Listen(conf.data_dir() + "/localrpc-v1"),
        "Error starting local RPC server: ");
  rpc.Start();

  startup::Reloader reloader;
  startup::AddReloads(&reloader, aliasr.get(), &authr, dinfo.get());
  reloader.HandleSignals(signals);

  if (certs.empty()) {
    CLOG_ERROR("No SSL/TLS certificates found");
    CLOG_ERROR("Ideally there should be a certificate for each MX you act as");
    CLOG_FATAL("At least one valid certificate is needed");
  }
  // Certificates reload on SIGHUP and on the reload timer (ours).
  smtpsrv::TlsStore tls;
  startup::CertReloader cert_reloader("certs/", &tls);
  OrDie(cert_reloader.Init(certs), "    ");
  reloader.Add("", [&cert_reloader] {
    cert_reloader.Check();
    return Status::Ok();
  });

  checker.SetDomainInfo(dinfo.get(), &blocking);
  smtpsrv::Server smtp(
      io, smtpsrv::OptionsFrom(conf, testing),
      startup::SmtpServerDeps({&blocking, &tls, &local_domains, &authr, q.get(),
                               aliasr.get(), &checker}));
  smtp.SetConnectionContexts(io_threads.contexts());
  OrDie(startup::BindListeners(&smtp, plan), "");
  smtp.Start();
  reloader.StartPeriodic(io, testing.reload_every);

  io_threads.Run(io);
  return 0;
}

}  // namespace
}  // namespace chasquid

int main(int argc, char** argv) { return chasquid::Main(argc, argv); }
