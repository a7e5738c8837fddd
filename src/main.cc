// chasquid: the daemon. Flags, config, wiring and signals, in the order of
// spec/config-and-files §2 (tests check which error is reported first).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <gflags/gflags.h>

#include "base/exit.h"
#include "base/goflag.h"
#include "base/log.h"
#include "base/strings.h"
#include "base/version.h"
#include "aliases/aliases.h"
#include "auth/auth.h"
#include "courier/mda.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/reload.h"
#include "dns/dns.h"
#include "courier/smtp.h"
#include "domaininfo/domaininfo.h"
#include "dovecot/dovecot.h"
#include "flags.h"
#include "localrpc/localrpc.h"
#include "maillog/maillog.h"
#include "metrics/metrics.h"
#include "metrics/latency.h"
#include "metrics/process.h"
#include "monitoring/pprof.h"
#include "monitoring/server.h"
#include "monitoring/tasks_page.h"
#include "monitoring/traces_page.h"
#include "normalize/normalize.h"
#include "policy/policy.h"
#include "queue/queue.h"
#include "smtpsrv/server.h"
#include "smtpsrv/startup.h"
#include "smtpsrv/tls.h"
#include "sts/sts.h"
#include "tlsroots/tlsroots.h"

DEFINE_string(config_dir, "/etc/chasquid", "configuration directory");
DEFINE_string(config_overrides, "",
              "override configuration values (in text protobuf format)");
DEFINE_int32(v, 0, "verbosity level (1 = debug)");
DEFINE_string(logfile, "", "file to log to (enables logtime)");
DEFINE_string(logtosyslog, "", "log to syslog, with the given tag");
DEFINE_bool(logtime, false, "include the time when writing the log to stderr");
DEFINE_bool(alsologtostderr, false,
            "also log to stderr, in addition to the file");
DEFINE_string(testing__outgoing_smtp_port, "25",
              "port to use for outgoing SMTP connections, ONLY FOR TESTING");
DEFINE_int32(testing__max_received_headers, 50,
             "max Received headers, for loop detection; ONLY FOR TESTING");
DEFINE_string(testing__reload_every, "30s",
              "how often to reload, ONLY FOR TESTING");
DEFINE_string(testing__dns_addr, "127.0.0.1:9053",
              "DNS server address to use for every lookup, ONLY FOR TESTING "
              "(used only when given explicitly)");
// Undocumented, for tests of the receiving side only (smtp-in §2 timeouts
// and the connection bound); the defaults are chasquid's.
DEFINE_string(testing__command_timeout, "1m",
              "SMTP per-command timeout, ONLY FOR TESTING");
DEFINE_string(testing__connection_timeout, "20m",
              "SMTP per-connection timeout, ONLY FOR TESTING");
DEFINE_string(testing__hook_timeout, "1m",
              "post-data hook timeout, ONLY FOR TESTING");
DEFINE_int32(testing__max_connections, 20000,
             "max concurrent SMTP connections, ONLY FOR TESTING");
// Undocumented, for the delivery tests: a fixed delay between queue rounds
// instead of the 1-20 minute schedule (empty: the schedule), and the
// outgoing SMTP session deadline (chasquid's 10 minutes).
DEFINE_string(testing__queue_retry_delay, "",
              "fixed delay between delivery attempts, ONLY FOR TESTING");
DEFINE_string(testing__outgoing_session_timeout, "10m",
              "outgoing SMTP session timeout, ONLY FOR TESTING");
DECLARE_bool(version);  // gflags' own.

namespace chasquid {
namespace {

namespace net = boost::asio;

void InitLogging() {
  log::Options o;
  o.verbosity = FLAGS_v;
  if (!FLAGS_logfile.empty()) {
    // Relative to the starting directory: we chdir later.
    if (FLAGS_logfile[0] != '/') {
      char cwd[PATH_MAX];
      if (getcwd(cwd, sizeof(cwd))) {
        FLAGS_logfile = std::string(cwd) + "/" + FLAGS_logfile;
      }
    }
    FLAGS_logtime = true;  // Not via SetCommandLineOption: stays "default".
  }
  o.logfile = FLAGS_logfile;
  o.syslog_tag = FLAGS_logtosyslog;
  o.logtime = FLAGS_logtime;
  o.also_to_stderr = FLAGS_alsologtostderr;
  log::Init(o);
}

std::chrono::nanoseconds TestingDuration(const std::string& flag,
                                         const std::string& v) {
  auto d = ParseGoDuration(v);
  if (!d.ok()) CLOG_FATAL("Invalid --" + flag + ": " + d.status().message());
  return *d;
}

// Step 8: the SMTP server's settings.
smtpsrv::Options SmtpOptions(const Config& conf) {
  smtpsrv::Options o;
  o.hostname = conf.hostname();
  o.max_data_size = static_cast<uint64_t>(conf.max_data_size_mb()) * 1048576;
  o.hooks_dir = "hooks";
  o.haproxy_incoming = conf.haproxy_incoming();
  o.suffix_separators = conf.suffix_separators();
  o.drop_characters = conf.drop_characters();
  o.max_received_headers = FLAGS_testing__max_received_headers;
  o.command_timeout = TestingDuration("testing__command_timeout",
                                      FLAGS_testing__command_timeout);
  o.connection_timeout = TestingDuration("testing__connection_timeout",
                                         FLAGS_testing__connection_timeout);
  o.hook_timeout = TestingDuration("testing__hook_timeout",
                                   FLAGS_testing__hook_timeout);
  o.max_connections = FLAGS_testing__max_connections;
  return o;
}

void RegisterBuildVars(int argc, char** argv) {
  metrics::NewString("chasquid/version")->Set(version::Version());
  metrics::NewString("chasquid/sourceDateStr")->Set(version::SourceDateStr());
  metrics::NewCounter(
      "chasquid/sourceDateTimestamp",
      "timestamp when the binary was built, in seconds since epoch")
      ->Set(version::SourceDateTimestamp());
  metrics::RegisterProcessVars(argc, argv);
  metrics::RegisterBuildInfo(version::Version(), version::SourceDateStr());
  metrics::RegisterLatencyMetrics();
  courier::RegisterSmtpOutVars();
}

// The daemon's flags as Go's flag package would list them: ours, and
// gflags' --version (chasquid has -version too), not gflags' other
// built-ins, which chasquid does not have.
std::vector<goflag::Flag> DaemonFlags() {
  std::vector<gflags::CommandLineFlagInfo> all;
  gflags::GetAllFlags(&all);
  std::vector<goflag::Flag> out;
  for (const auto& f : all) {
    bool builtin = f.filename.find("gflags") != std::string::npos;
    if (builtin && f.name != "version") continue;
    goflag::Kind kind = goflag::Kind::kString;
    if (f.type == "bool") kind = goflag::Kind::kBool;
    if (f.type == "int32" || f.type == "int64") kind = goflag::Kind::kInt;
    out.push_back({f.name, kind, f.description, f.default_value});
  }
  return out;
}

int Main(int argc, char** argv) {
  monitoring::EnableHeapSampling();
  std::vector<std::string> args(argv, argv + argc);
  // A bad command line gets Go's texts and exit status 2, as chasquid's
  // does; gflags then parses the same, already valid, flags.
  const std::vector<goflag::Flag> known = DaemonFlags();
  if (goflag::Outcome o = goflag::Check(argc, argv, known);
      o.what != goflag::Outcome::kOk) {
    goflag::Fail(o, argv[0], known);
  }
  gflags::SetUsageMessage("chasquid [flags]");
  gflags::ParseCommandLineNonHelpFlags(&argc, &argv, true);
  if (FLAGS_version) {
    printf("chasquid %s (source date: %s)\n", version::Version().c_str(),
           version::SourceDateStr().c_str());
    return 0;
  }
  gflags::HandleCommandLineHelpFlags();

  InitLogging();
  CLOG_INFO("chasquid starting (version " + version::Version() + ")");
  RegisterBuildVars(static_cast<int>(args.size()),
                    const_cast<char**>([&] {
                      static std::vector<char*> p;
                      for (auto& a : args) p.push_back(a.data());
                      return p.data();
                    }()));

  auto conf = config::Load(FLAGS_config_dir + "/chasquid.conf",
                           FLAGS_config_overrides);
  if (!conf.ok()) {
    CLOG_FATAL("Error loading config: " + conf.status().message());
  }
  CLOG_INFO("Configuration:\n" + config::LogLines(*conf));

  if (chdir(FLAGS_config_dir.c_str()) != 0) {
    CLOG_FATAL("Error changing to config dir " + GoQuote(FLAGS_config_dir) +
               ": " + PathError("chdir", FLAGS_config_dir, errno));
  }

  // Step 6.
  if (Status s = maillog::Init(conf->mail_log_path()); !s.ok()) {
    CLOG_FATAL("Error opening mail log: " + s.message());
  }

  net::io_context io;
  // Registered now, handled from step 18 on: a signal that arrives during
  // start-up waits for the handler instead of killing the process with
  // its default action.
  net::signal_set signals(io, SIGHUP, SIGTERM, SIGINT);

  // Every DNS lookup of the daemon goes through this resolver; the test
  // override applies only when the flag was given explicitly.
  std::string dns_server;
  if (!gflags::GetCommandLineFlagInfoOrDie("testing__dns_addr").is_default) {
    dns_server = FLAGS_testing__dns_addr;
  }
  auto resolver_or = dns::NewCaresResolver(io.get_executor(), dns_server);
  if (!resolver_or.ok()) {
    CLOG_FATAL("Error initializing DNS resolver: " +
               resolver_or.status().message());
  }
  std::unique_ptr<dns::Resolver> resolver = std::move(*resolver_or);

  std::unique_ptr<monitoring::Server> mon;
  if (!conf->monitoring_address().empty()) {
    monitoring::Info info;
    info.config_hostname = conf->hostname();
    info.config_text = config::ToText(*conf);
    info.argv = args;
    info.on_exit = [] { base::QuickExit(0); };
    mon = std::make_unique<monitoring::Server>(io, std::move(info));
    monitoring::RegisterTracesPage(*mon);
    monitoring::RegisterTasksPage(*mon);
    monitoring::RegisterPprof(*mon);
    Status s = mon->Listen(conf->monitoring_address());
    if (!s.ok()) CLOG_FATAL("Monitoring server failed: " + s.message());
    CLOG_INFO("Monitoring HTTP server listening on " +
              conf->monitoring_address());
    mon->Start();
  }

  // Who exists and who may authenticate: one userdb backend per domain
  // (registered by LoadDomains below) plus the optional Dovecot fallback.
  // Thread-safe; Authenticate is slow on purpose: call it via RunBlocking.
  auth::Authenticator authr;

  // Step 9: the Dovecot fallback authenticator.
  if (conf->dovecot_auth()) {
    auto dovecot = std::make_unique<dovecot::Auth>(conf->dovecot_userdb_path(),
                                                   conf->dovecot_client_path());
    CLOG_INFO("Fallback authenticator: " + dovecot->String());
    if (Status s = dovecot->Check(); !s.ok()) {
      CLOG_ERROR("Warning: Dovecot auth is not responding: " + s.message());
    }
    authr.SetFallback(std::move(dovecot));
  }

  // Step 10: certificates. `certs` are the checked (fullchain, privkey)
  // pairs in name order, for the TLS context.
  auto certs_or = daemon::DiscoverCerts();
  if (!certs_or.ok()) CLOG_FATAL(certs_or.status().message());
  std::vector<daemon::CertPair> certs = std::move(*certs_or);

  // Aliases of every domain (and the alias-resolve hook). Resolve may run
  // the hook: callers off the network threads only (the queue's pool).
  aliases::FileResolver aliasr(
      conf->suffix_separators(), conf->drop_characters(),
      [&authr](const std::string& user, const std::string& domain) {
        auto u = normalize::User(user);
        auto r = authr.Exists(u.ok() ? *u : user, domain);
        return r.ok() && *r;
      });
  aliasr.SetHookPath("hooks/alias-resolve");

  // Step 11: domains. The aliases and DKIM work set their loaders here.
  daemon::DomainLoaders loaders;
  loaders.load_aliases = [&aliasr](const std::string& domain,
                                   const std::string& dir) {
    return aliasr.AddAliasesFile(domain, dir + "/aliases");
  };
  // DKIM keys go to the receiving policy (SPF, security level, DKIM); the
  // domaininfo DB and the blocking pool it needs are set before serving.
  policy::Policy policy(resolver.get());
  loaders.load_dkim = [&policy](const std::string& domain,
                                const std::string& dir) {
    return policy.LoadDKIM(domain, dir);
  };
  std::vector<std::string> local_domains;
  loaders.add_local_domain = [&](const std::string& d) {
    local_domains.push_back(d);
  };
  auto domains_or = daemon::LoadDomains(&authr, loaders);
  if (!domains_or.ok()) CLOG_FATAL(domains_or.status().message());
  // Step 12.
  local_domains.push_back("localhost");
  aliasr.AddDomain("localhost");

  // Reload steps (§9), in order: the aliases work adds "Error reloading
  // aliases: " before this line; users come last.
  daemon::Reloader reloader;
  reloader.Add("Error reloading aliases: ", [&aliasr] { return aliasr.Reload(); });
  reloader.Add("Error reloading authenticators: ",
               [&authr] { return authr.Reload(); });

  // The data directory, created as chasquid's first MkdirAll under it
  // (the domaininfo one) would, so its errors read the same.
  if (Status s = daemon::CreateDataDir(conf->data_dir()); !s.ok()) {
    CLOG_FATAL("Error opening domain info database: " + s.message());
  }

  // Step 13 of the start-up sequence.
  auto dinfo_or = domaininfo::DB::Open(conf->data_dir() + "/domaininfo");
  if (!dinfo_or.ok()) {
    CLOG_FATAL("Error opening domain info database: " +
               dinfo_or.status().message());
  }
  std::unique_ptr<domaininfo::DB> dinfo = std::move(*dinfo_or);

  // Step 14: the MTA-STS cache, refreshed in the background from now on.
  auto client_tls_or = tlsroots::NewClientContext();
  if (!client_tls_or.ok()) {
    CLOG_FATAL("Failed to initialize STS cache: " +
               client_tls_or.status().message());
  }
  std::shared_ptr<net::ssl::context> client_tls = *client_tls_or;
  auto sts_or = sts::Cache::Open(conf->data_dir() + "/sts-cache",
                                 resolver.get(), client_tls);
  if (!sts_or.ok()) {
    CLOG_FATAL("Failed to initialize STS cache: " + sts_or.status().message());
  }
  std::unique_ptr<sts::Cache> sts_cache = std::move(*sts_or);
  sts_cache->StartRefresh(io.get_executor(), std::chrono::minutes(10));

  // The remote courier, for the queue. Everything it points to lives in
  // this frame until exit.
  courier::SmtpOptions smtp_opts;
  smtp_opts.hostname = conf->hostname();
  smtp_opts.port = FLAGS_testing__outgoing_smtp_port;
  smtp_opts.session_timeout =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          TestingDuration("testing__outgoing_session_timeout",
                          FLAGS_testing__outgoing_session_timeout));
  smtp_opts.resolver = resolver.get();
  smtp_opts.dinfo = dinfo.get();
  smtp_opts.tls = client_tls;
  smtp_opts.sts_policy = [cache = sts_cache.get()](std::string domain) {
    return cache->Get(std::move(domain), std::chrono::minutes(1));
  };
  auto remote_courier =
      std::make_unique<courier::SmtpCourier>(std::move(smtp_opts));

  // Local couriers: the MDA, and pipe aliases.
  std::vector<std::string> mda_args(conf->mail_delivery_agent_args().begin(),
                                    conf->mail_delivery_agent_args().end());
  courier::MDA mda(conf->mail_delivery_agent_bin(), mda_args);
  courier::Pipe pipe;

  // Step 15: the queue; loaded items start their send loops at once (the
  // limits are applied first, avoiding chasquid's start-up race).
  queue::Options qopts;
  qopts.dir = conf->data_dir() + "/queue";
  qopts.local_domains.insert(local_domains.begin(), local_domains.end());
  qopts.max_items = conf->max_queue_items();
  qopts.give_up_after = config::GiveUpSendAfter(*conf);
  qopts.aliases = &aliasr;
  qopts.local = &mda;
  qopts.remote = remote_courier.get();
  qopts.pipe = &pipe;
  // The largest item a message of max_data_size_mb can make: the text
  // format escapes a byte in at most 4, plus headers and the envelope. The
  // floor keeps items queued under a larger limit loadable when an admin
  // lowers it.
  qopts.max_item_size =
      4 * std::max<uint64_t>(conf->max_data_size_mb(), 64) * 1048576 +
      1048576;
  if (!FLAGS_testing__queue_retry_delay.empty()) {
    auto delay = TestingDuration("testing__queue_retry_delay",
                                 FLAGS_testing__queue_retry_delay);
    qopts.next_delay = [delay](std::chrono::system_clock::time_point) {
      return delay;
    };
  }
  auto queue_or = queue::DiskQueue::New(io.get_executor(), qopts);
  if (!queue_or.ok()) {
    CLOG_FATAL("Error initializing queue: " + queue_or.status().message());
  }
  std::unique_ptr<queue::DiskQueue> q = std::move(*queue_or);
  if (Status s = q->Load(); !s.ok()) {
    CLOG_FATAL("Error loading queue: " + s.message());
  }
  if (mon) {
    // Handlers run only once io.run() starts below.
    mon->Handle("/debug/queue", [&q](const monitoring::Request&) {
      return monitoring::Response::Text(q->DumpText());
    });
  }

  // Step 16: listeners (bound at step 19).
  smtpsrv::ListenPlan plan;
  Status ls = smtpsrv::CollectListeners(
      {{conf->smtp_address().begin(), conf->smtp_address().end()},
       {conf->submission_address().begin(), conf->submission_address().end()},
       {conf->submission_over_tls_address().begin(),
        conf->submission_over_tls_address().end()}},
      &plan);
  if (!ls.ok()) CLOG_FATAL(ls.message());

  // Step 17: the local RPC for chasquid-util. Its methods may block (the
  // alias hook, file writes): they run on their own small pool.
  net::thread_pool rpc_pool(2);
  localrpc::Server rpc(io.get_executor(), &rpc_pool);
  rpc.Register("AliasResolve", [&aliasr](const localrpc::Values& args)
                                   -> Result<localrpc::Values> {
    auto r = aliasr.Resolve(localrpc::Get(args, "Address"));
    if (!r.ok()) return r.status();
    localrpc::Values out;
    for (const auto& rcpt : *r) {
      const char* type = rcpt.type == aliases::RecipientType::kPipe
                             ? "(pipe)"
                             : rcpt.type == aliases::RecipientType::kForward
                                   ? "(forward)"
                                   : "(email)";
      out.emplace_back(type, rcpt.addr);
    }
    return out;
  });
  rpc.Register("DomaininfoClear", [&dinfo](const localrpc::Values& args)
                                      -> Result<localrpc::Values> {
    // The domain is used verbatim, as chasquid does (not normalised).
    if (Status s = dinfo->Clear(localrpc::Get(args, "Domain")); !s.ok()) {
      return s;
    }
    return localrpc::Values{};
  });
  if (Status s = rpc.Listen(conf->data_dir() + "/localrpc-v1"); !s.ok()) {
    CLOG_FATAL("Error starting local RPC server: " + s.message());
  }
  rpc.Start();

  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          CLOG_INFO("Received SIGHUP, reloading");
          log::Reopen();
          if (Status s = maillog::Reopen(); !s.ok()) {
            CLOG_FATAL("Error reopening mail log: " + s.message());
          }
          if (Status s = dinfo->Reload(); !s.ok()) {
            CLOG_ERROR("Error reloading domain info: " + s.message());
          }
          reloader.ReloadAll();
          signals.async_wait(on_signal);
          return;
        }
        CLOG_INFO(std::string("Got signal to exit: ") + strsignal(sig));
        base::QuickExit(0);
      };
  signals.async_wait(on_signal);

  // Step 19: serve.
  if (certs.empty()) {
    CLOG_ERROR("No SSL/TLS certificates found");
    CLOG_ERROR("Ideally there should be a certificate for each MX you act as");
    CLOG_FATAL("At least one valid certificate is needed");
  }
  std::vector<smtpsrv::CertPair> pairs;
  for (const auto& c : certs) pairs.push_back({c.cert_path, c.key_path});
  auto tls = smtpsrv::TlsContext::New(pairs);
  if (!tls.ok()) CLOG_FATAL("    " + tls.status().message());

  net::thread_pool blocking(4);  // Auth (scrypt), hooks, alias hooks.
  smtpsrv::Deps smtp_deps;
  smtp_deps.blocking = &blocking;
  smtp_deps.tls = &(*tls)->context();
  smtp_deps.local_domains = {local_domains.begin(), local_domains.end()};
  smtp_deps.authenticate = [&authr](const std::string& user,
                                    const std::string& domain,
                                    const std::string& password) {
    return authr.Authenticate(user, domain, password);
  };
  smtp_deps.user_exists = [&authr](const std::string& user,
                                   const std::string& domain) {
    return authr.Exists(user, domain);
  };
  smtp_deps.queue = q.get();
  smtp_deps.aliases = &aliasr;
  policy.SetDomainInfo(dinfo.get(), &blocking);
  smtp_deps.checks = &policy;
  smtpsrv::Server smtp(io, SmtpOptions(*conf), std::move(smtp_deps));
  if (Status s = smtpsrv::BindListeners(&smtp, plan); !s.ok()) {
    CLOG_FATAL(s.message());
  }
  smtp.Start();

  auto reload_every = ParseGoDuration(FLAGS_testing__reload_every);
  if (!reload_every.ok()) {
    CLOG_FATAL("invalid value for --testing__reload_every: " +
               reload_every.status().message());
  }
  reloader.StartPeriodic(io, *reload_every);

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
  return 0;
}

}  // namespace
}  // namespace chasquid

int main(int argc, char** argv) { return chasquid::Main(argc, argv); }
