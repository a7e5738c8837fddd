#include "startup/wiring.h"

#include <dlfcn.h>
#include <pthread.h>

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>

#include "base/version.h"
#include "courier/options.h"
#include "dovecot/dovecot.h"
#include "maillog/maillog.h"
#include "metrics/latency.h"
#include "metrics/metrics.h"
#include "metrics/process.h"
#include "normalize/normalize.h"
#include "startup/startup.h"
#include "tlsrpt/options.h"

namespace chasquid::startup {

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
}

bool LimitAllocatorCaches() {
  // An administrator's own setting wins (tcmalloc reads it at start-up).
  if (getenv("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES") != nullptr) return false;
  // gperftools' C entry point, found at run time: tcmalloc is linked into
  // the daemon only outside sanitizer builds (CMakeLists.txt).
  using SetFn = int (*)(const char*, size_t);
  auto set = reinterpret_cast<SetFn>(
      dlsym(RTLD_DEFAULT, "MallocExtension_SetNumericProperty"));
  if (set == nullptr) return false;
  return set("tcmalloc.max_total_thread_cache_bytes", kThreadCacheBytes) != 0;
}

struct IoThreads::Extra {
  // One thread runs it (the concurrency hint), and it serves connections
  // that come and go: kept running while it has none.
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work = boost::asio::make_work_guard(io);
};

IoThreads::IoThreads() {
  // The connections' threads, one per core: the main thread's work comes
  // and goes with the deliveries, and the kernel shares the cores.
  unsigned n = std::max(2u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; i++) extra_.push_back(std::make_unique<Extra>());
}

IoThreads::~IoThreads() = default;

std::vector<boost::asio::io_context*> IoThreads::contexts() {
  std::vector<boost::asio::io_context*> out;
  for (auto& e : extra_) out.push_back(&e->io);
  return out;
}

void IoThreads::Run(boost::asio::io_context& main) {
  std::vector<std::thread> threads;
  for (size_t i = 0; i < extra_.size(); i++) {
    boost::asio::io_context* io = &extra_[i]->io;
    threads.emplace_back([io] { io->run(); });
    pthread_setname_np(threads.back().native_handle(),
                       ("io-" + std::to_string(i + 1)).c_str());
  }
  main.run();
  for (auto& e : extra_) {
    e->work.reset();
    e->io.stop();
  }
  for (auto& t : threads) t.join();
}

void AddDovecotFallback(const Config& conf, auth::Authenticator* authr) {
  if (!conf.dovecot_auth()) return;
  auto dovecot = std::make_unique<dovecot::Auth>(conf.dovecot_userdb_path(),
                                                 conf.dovecot_client_path());
  CLOG_INFO("Fallback authenticator: " + dovecot->String());
  if (Status s = dovecot->Check(); !s.ok()) {
    CLOG_ERROR("Warning: Dovecot auth is not responding: " + s.message());
  }
  authr->SetFallback(std::move(dovecot));
}

std::unique_ptr<aliases::FileResolver> NewAliasResolver(
    const Config& conf, auth::Authenticator* authr) {
  auto aliasr = std::make_unique<aliases::FileResolver>(
      conf.suffix_separators(), conf.drop_characters(),
      [authr](const std::string& user, const std::string& domain) {
        auto u = normalize::User(user);
        auto r = authr->Exists(u.ok() ? *u : user, domain);
        return r.ok() && *r;
      });
  aliasr->SetHookPath("hooks/alias-resolve");
  return aliasr;
}

Result<std::vector<std::string>> LoadAllDomains(auth::Authenticator* authr,
                                                aliases::FileResolver* aliasr,
                                                checks::Checker* checker) {
  std::vector<std::string> local_domains;
  DomainLoaders loaders;
  loaders.load_aliases = [aliasr](const std::string& d,
                                  const std::string& dir) {
    return aliasr->AddAliasesFile(d, dir + "/aliases");
  };
  loaders.load_dkim = [checker](const std::string& d, const std::string& dir) {
    return checker->LoadDKIM(d, dir);
  };
  loaders.add_local_domain = [&local_domains](const std::string& d) {
    local_domains.push_back(d);
  };
  auto loaded = LoadDomains(authr, loaders);
  if (!loaded.ok()) return loaded.status();
  local_domains.push_back("localhost");
  aliasr->AddDomain("localhost");
  return local_domains;
}

void AddReloads(Reloader* reloader, aliases::FileResolver* aliasr,
                auth::Authenticator* authr, domaininfo::DB* dinfo) {
  reloader->Add("Error reloading aliases: ",
                [aliasr] { return aliasr->Reload(); });
  reloader->Add("Error reloading authenticators: ",
                [authr] { return authr->Reload(); });
  reloader->AddOnSignal("", false, [] {
    log::Reopen();
    return Status::Ok();
  });
  reloader->AddOnSignal("Error reopening mail log: ", true,
                        [] { return maillog::Reopen(); });
  reloader->AddOnSignal("Error reloading domain info: ", false,
                        [dinfo] { return dinfo->Reload(); });
}

courier::SmtpOptions RemoteCourierOptions(
    const Config& conf, const config::Testing& testing, dns::Resolver* resolver,
    domaininfo::DB* dinfo, std::shared_ptr<net::ssl::context> tls,
    sts::Cache* sts_cache, tlsrpt::Store* tlsrpt_store,
    net::thread_pool* blocking) {
  courier::SmtpOptions o = courier::SmtpOptionsFrom(conf, testing);
  OrDie(courier::CheckSourceAddrs(o.source), "Invalid configuration: ");
  o.resolver = resolver;
  o.dinfo = dinfo;
  o.tls = std::move(tls);
  o.sts_policy = [sts_cache](std::string domain) {
    return sts_cache->Get(std::move(domain), std::chrono::minutes(1));
  };
  o.tlsrpt = tlsrpt_store;
  o.blocking = blocking;
  return o;
}

std::unique_ptr<tlsrpt::Reporter> StartTlsReporter(
    const Config& conf, const config::Testing& testing, tlsrpt::Store* store,
    dns::Resolver* resolver, std::shared_ptr<net::ssl::context> tls,
    queue::DiskQueue* q, checks::Checker* checker, net::any_io_executor ex) {
  if (store == nullptr) return nullptr;
  tlsrpt::ReporterOptions ro = tlsrpt::ReporterOptionsFrom(conf, testing);
  ro.store = store;
  ro.resolver = resolver;
  ro.tls = std::move(tls);
  ro.put = [q](std::string from, std::vector<std::string> to,
               std::shared_ptr<const std::string> data) {
    return q->Put(std::move(from), std::move(to), std::move(data));
  };
  ro.sign = [checker](std::string domain, std::string* data) {
    return checker->DkimSign(std::move(domain), data, nullptr);
  };
  auto reporter = std::make_unique<tlsrpt::Reporter>(std::move(ro));
  reporter->Start(std::move(ex));
  return reporter;
}

smtpsrv::Deps SmtpServerDeps(const SmtpServerParts& parts) {
  smtpsrv::Deps deps;
  deps.blocking = parts.blocking;
  deps.tls = parts.tls;
  deps.local_domains = {parts.local_domains->begin(),
                        parts.local_domains->end()};
  auth::Authenticator* authr = parts.authr;
  deps.authenticate = [authr](const std::string& user,
                              const std::string& domain,
                              const std::string& password) {
    return authr->Authenticate(user, domain, password);
  };
  deps.user_exists = [authr](const std::string& user,
                             const std::string& domain) {
    return authr->Exists(user, domain);
  };
  deps.user_exists_never_blocks = [authr](const std::string& domain) {
    return authr->ExistsNeverBlocks(domain);
  };
  deps.queue = parts.queue;
  deps.aliases = parts.aliases;
  deps.checks = parts.checker;
  return deps;
}

}  // namespace chasquid::startup
