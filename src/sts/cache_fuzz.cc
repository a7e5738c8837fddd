// Fuzzes the MTA-STS policy cache as the daemon reads it: a "pol:<domain>"
// file in the cache directory (not yet expired) with whatever bytes a crash
// or a hand edit left, looked up through Cache::Get and walked by a refresh
// pass. The input's first line is the domain (the file name), the rest the
// file. DNS finds no _mta-sts record, so nothing reaches the network; a
// policy that comes back must be one that validates.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "sts/sts.h"

namespace {

namespace net = boost::asio;
namespace sts = chasquid::sts;
using chasquid::Result;
using chasquid::Status;

class NoDNS : public chasquid::dns::Resolver {
 public:
  net::awaitable<Result<std::vector<chasquid::dns::MX>>> LookupMX(
      std::string) override {
    co_return Status::Permanent("no such host");
  }
  net::awaitable<Result<std::vector<std::string>>> LookupIP(
      std::string) override {
    co_return Status::Permanent("no such host");
  }
  net::awaitable<Result<std::vector<std::string>>> LookupTXT(
      std::string) override {
    co_return Status::Permanent("no such host");
  }
};

std::string TempDir() {
  std::string tmpl = access("/dev/shm", W_OK) == 0
                         ? "/dev/shm/sts_cache_fuzz.XXXXXX"
                         : "/tmp/sts_cache_fuzz.XXXXXX";
  if (!mkdtemp(tmpl.data())) abort();
  return tmpl;
}

// Writes the file with an mtime (the policy's expiry) an hour from now.
void WriteFresh(const std::string& path, const std::string& body) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) abort();
  if (write(fd, body.data(), body.size()) !=
      static_cast<ssize_t>(body.size())) {
    abort();
  }
  timespec ts[2];
  clock_gettime(CLOCK_REALTIME, &ts[0]);
  ts[0].tv_sec += 3600;
  ts[1] = ts[0];
  if (futimens(fd, ts) != 0) abort();
  close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = TempDir();
  static NoDNS* dns = new NoDNS();
  static auto tls =
      std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  static auto cache = [] {
    auto c = sts::Cache::Open(dir, dns, tls);
    if (!c.ok()) abort();
    return std::move(*c);
  }();

  std::string in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string domain = in.substr(0, nl);
  std::string body = nl == std::string::npos ? "" : in.substr(nl + 1);
  // A file name cannot hold these; Get refuses such domains before any
  // file is touched, which is also exercised.
  bool nameable = !domain.empty() && domain.size() < 200 &&
                  domain.find('/') == std::string::npos &&
                  domain.find('\0') == std::string::npos && domain != "." &&
                  domain != "..";
  std::string path = dir + "/pol:" + domain;
  if (nameable) WriteFresh(path, body);

  net::io_context io;
  std::optional<sts::Policy> got;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        auto get = cache->Get(domain, std::chrono::seconds(1));
        sts::PolicyLookup l = co_await std::move(get);
        got = l.policy;
        auto refresh = cache->RefreshOnce();
        co_await std::move(refresh);
      },
      [](std::exception_ptr e) {
        if (e) abort();
      });
  io.run();
  if (got && !sts::Check(*got).ok()) __builtin_trap();
  if (got) (void)sts::MXIsAllowed(*got, "mx.example.com");
  if (nameable) unlink(path.c_str());
  return 0;
}
