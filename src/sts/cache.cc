// The on-disk policy cache (docs/formats.md, "MTA-STS cache") and its
// refresh loop, with chasquid's counters at the same events.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/async.h"
#include "base/log.h"
#include "metrics/metrics.h"
#include "nettrace/trace.h"
#include "safeio/safeio.h"
#include "sts/sts.h"

namespace chasquid::sts {
namespace {

using Clock = std::chrono::steady_clock;

metrics::Counter* Var(const char* name, const char* help) {
  return metrics::NewCounter(std::string("chasquid/sts/cache/") + name, help);
}
metrics::Counter* const kFetches =
    Var("fetches", "count of total fetches in the STS cache");
metrics::Counter* const kHits = Var("hits", "count of hits in the STS cache");
metrics::Counter* const kExpired =
    Var("expired", "count of expired entries in the STS cache");
metrics::Counter* const kIOErrors =
    Var("ioErrors", "count of I/O errors when maintaining STS cache");
metrics::Counter* const kFailedFetch =
    Var("failedFetch", "count of failed fetches in the STS cache");
metrics::Counter* const kInvalid =
    Var("invalid", "count of invalid policies in the STS cache");
metrics::Counter* const kMarshalErrors = Var(
    "marshalErrors", "count of marshalling errors when maintaining STS cache");
metrics::Counter* const kUnmarshalErrors =
    Var("unmarshalErrors", "count of unmarshalling errors in STS cache");
metrics::Counter* const kRefreshCycles =
    Var("refreshCycles", "count of STS cache refresh cycles");
metrics::Counter* const kRefreshes =
    Var("refreshes", "count of STS cache refreshes");
metrics::Counter* const kRefreshErrors =
    Var("refreshErrors", "count of STS cache refresh errors");

constexpr char kPrefix[] = "pol:";

// The whole file, with read errors reported (an ifstream would read a
// directory as an empty file, hiding what Go's os.ReadFile reports).
Result<std::string> ReadAll(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(strerror(errno));
  std::string data;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return Status::Error(strerror(err));
    }
    if (n == 0) break;
    data.append(buf, n);
  }
  close(fd);
  return data;
}

}  // namespace

Result<std::unique_ptr<Cache>> Cache::Open(
    std::string dir, dns::Resolver* resolver,
    std::shared_ptr<net::ssl::context> tls) {
  Status s = safeio::MkdirAll(dir, 0770);
  if (!s.ok()) return s;
  return std::unique_ptr<Cache>(
      new Cache(std::move(dir), resolver, std::move(tls)));
}

std::string Cache::PathFor(const std::string& domain) const {
  return dir_ + "/" + kPrefix + domain;
}

std::optional<Policy> Cache::Load(const std::string& domain) {
  struct stat st;
  if (stat(PathFor(domain).c_str(), &st) != 0) return std::nullopt;
  auto mtime = std::chrono::system_clock::time_point(
      std::chrono::seconds(st.st_mtim.tv_sec) +
      std::chrono::nanoseconds(st.st_mtim.tv_nsec));
  if (mtime <= std::chrono::system_clock::now()) {
    kExpired->Add();
    return std::nullopt;
  }
  auto data = ReadAll(PathFor(domain));
  if (!data.ok()) {
    kIOErrors->Add();
    return std::nullopt;
  }
  auto p = FromJSON(*data);
  if (!p.ok()) {
    kUnmarshalErrors->Add();
    return std::nullopt;
  }
  if (!Check(*p).ok()) {
    kInvalid->Add();
    return std::nullopt;
  }
  return *p;
}

Status Cache::Store(const std::string& domain, const Policy& p) {
  // Go's json.Marshal cannot fail for this struct; marshalErrors stays 0
  // unless the policy cannot be represented (never, with std::string).
  std::string data = ToJSON(p);
  auto expiry = std::chrono::system_clock::now() + p.max_age;
  auto set_times = [expiry](const std::string&, int fd) -> Status {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  expiry.time_since_epoch())
                  .count();
    timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = ns / 1000000000;
    ts[0].tv_nsec = ts[1].tv_nsec = ns % 1000000000;
    if (futimens(fd, ts) != 0) return Status::Error("chtimes failed");
    return Status::Ok();
  };
  // Synced before the rename: see sts.h.
  Status s = safeio::WriteFile(PathFor(domain), data, 0640,
                               {set_times, safeio::FsyncFileOp});
  if (!s.ok()) {
    kIOErrors->Add();
    CLOG_ERROR("STS cache: error storing " + domain + ": " + s.message());
  }
  return s;
}

net::awaitable<std::optional<Policy>> Cache::Read(std::string domain) {
  if (!blocking_) co_return Load(domain);
  // The cache outlives every Get and refresh, and the work owns its copy
  // of the domain.
  auto load = [this, domain] { return Load(domain); };
  co_return co_await RunBlocking(*blocking_, std::move(load));
}

net::awaitable<Status> Cache::Save(std::string domain, Policy p) {
  if (!blocking_) co_return Store(domain, p);
  auto store = [this, domain, p] { return Store(domain, p); };
  co_return co_await RunBlocking(*blocking_, std::move(store));
}

net::awaitable<PolicyLookup> Cache::Get(std::string domain,
                                        Clock::duration timeout) {
  nettrace::Trace tr("STSCache.Fetch", domain);
  kFetches->Add();
  PolicyLookup out;
  // chasquid would panic on a '/'; it cannot name a file here.
  if (domain.find('/') != std::string::npos || domain.empty()) {
    tr.Error("invalid domain");
    co_return out;
  }
  std::optional<Policy> cached = co_await Read(domain);
  if (auto& p = cached) {
    kHits->Add();
    tr.Debugf("cache hit");
    out.policy = std::move(p);
    co_return out;
  }
  auto lookup = Lookup(resolver_, *tls_, domain, timeout, port_);
  out = co_await std::move(lookup);
  if (!out.policy) {
    kFailedFetch->Add();
    tr.Debugf("failed to fetch: " + out.error);
    co_return out;
  }
  tr.Debugf("fetched, mode " + out.policy->mode);
  // A policy that cannot be stored (a full disk) is still the domain's
  // policy: this delivery uses it, and the next one fetches it again.
  Status st = co_await Save(domain, *out.policy);
  if (!st.ok()) {
    tr.Error(std::string("error storing the policy: ").append(st.message()));
  }
  co_return out;
}

net::awaitable<void> Cache::RefreshOnce() {
  nettrace::Trace tr("STSCache.Refresh", dir_);
  std::vector<std::string> domains;
  if (DIR* d = opendir(dir_.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      // As chasquid: only files (not directories) named pol:*.
      if (e->d_type == DT_DIR) continue;
      if (name.rfind(kPrefix, 0) == 0) domains.push_back(name.substr(4));
    }
    closedir(d);
  } else {
    tr.Error("failed to list directory");
    co_return;
  }
  for (const auto& domain : domains) {
    kRefreshes->Add();
    auto p = co_await UncheckedFetch(resolver_, *tls_, domain,
                                     std::chrono::seconds(30), port_);
    if (p.ok() && Check(*p).ok()) {
      Status st = co_await Save(domain, *p);
      if (!st.ok()) {
        tr.Error(domain + ": error storing the policy: " + st.message());
      } else {
        tr.Debugf(domain + ": refreshed");
      }
    } else {
      kRefreshErrors->Add();
      tr.Debugf(domain + ": refresh failed: " +
                (p.ok() ? Check(*p).message() : p.status().message()));
    }
  }
}

void Cache::StartRefresh(net::any_io_executor ex, Clock::duration every) {
  net::co_spawn(
      ex,
      [this, every]() -> net::awaitable<void> {
        nettrace::Task task("STSCache.Refresh", dir_);
        auto ex = co_await net::this_coro::executor;
        net::steady_timer timer(ex);
        for (;;) {
          task.SetState("refreshing");
          co_await RefreshOnce();
          kRefreshCycles->Add();
          task.SetState("sleeping");
          timer.expires_after(every);
          co_await timer.async_wait(net::use_awaitable);
        }
      },
      net::detached);
}

}  // namespace chasquid::sts
