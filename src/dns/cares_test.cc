#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "dns/dns.h"

namespace chasquid::dns {
namespace {

// Runs tests/integration/dnsserver.py (the integration tests' DNS server)
// with testdata/zone.txt on a free loopback port.
class TestServer {
 public:
  TestServer() {
    std::string testdata =
        std::getenv("TESTDATA") ? std::getenv("TESTDATA") : "testdata";
    std::string script = testdata + "/../../../tests/integration/dnsserver.py";
    std::string zone = testdata + "/zone.txt";
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      execl("/usr/bin/python3", "python3", script.c_str(), zone.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
    char line[200] = {};
    if (out_ && fgets(line, sizeof(line), out_)) {
      std::string l(line);
      if (l.rfind("listening on ", 0) == 0) {
        addr_ = l.substr(13, l.find('\n') - 13);
      }
    }
  }
  ~TestServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (out_) fclose(out_);
  }
  const std::string& addr() const { return addr_; }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::string addr_;
};

TestServer* server;

class CaresTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server = new TestServer(); }
  static void TearDownTestSuite() { delete server; }

  void SetUp() override {
    ASSERT_FALSE(server->addr().empty()) << "test DNS server did not start";
    auto r = NewCaresResolver(io_.get_executor(), server->addr());
    ASSERT_TRUE(r.ok()) << r.status().message();
    resolver_ = std::move(*r);
  }

  template <typename T>
  T Run(net::awaitable<T> aw) {
    std::optional<T> out;
    net::co_spawn(
        io_,
        [&out, aw = std::move(aw)]() mutable -> net::awaitable<void> {
          out.emplace(co_await std::move(aw));
        },
        net::detached);
    io_.restart();
    io_.run();
    return std::move(*out);
  }

  net::io_context io_;
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(CaresTest, MX) {
  auto r = Run(resolver_->LookupMX("example.com"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  std::vector<std::string> hosts;
  for (auto& mx : *r)
    hosts.push_back(mx.host + "/" + std::to_string(mx.preference));
  std::sort(hosts.begin(), hosts.end());
  EXPECT_EQ(hosts, (std::vector<std::string>{"mx1.example.com/10",
                                             "mx2.example.com/20"}));
}

TEST_F(CaresTest, NullMX) {
  auto r = Run(resolver_->LookupMX("nullmx.example.com"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].host, "");
  EXPECT_EQ((*r)[0].preference, 0);
}

TEST_F(CaresTest, NoRecordsOfTypeIsEmptyNotError) {
  auto r = Run(resolver_->LookupMX("nomx.example.com"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->empty());
  auto t = Run(resolver_->LookupTXT("srv-b"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_TRUE(t->empty());
}

TEST_F(CaresTest, NXDomainIsPermanent) {
  auto r = Run(resolver_->LookupMX("nonexistent.example.com"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().permanent());
  EXPECT_EQ(r.status().message(), "no such host");
  auto i = Run(resolver_->LookupIP("nonexistent.example.com"));
  ASSERT_FALSE(i.ok());
  EXPECT_TRUE(i.status().permanent());
}

TEST_F(CaresTest, IP) {
  auto r = Run(resolver_->LookupIP("example.com"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (std::vector<std::string>{"192.0.2.1", "2001:db8::1"}));
  // Single-label names are queried as they are (absolute).
  r = Run(resolver_->LookupIP("srv-b"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (std::vector<std::string>{"127.0.0.1"}));
  // IP literals are not queried.
  r = Run(resolver_->LookupIP("::1"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<std::string>{"::1"}));
}

TEST_F(CaresTest, TXTStringsAreConcatenated) {
  auto r = Run(resolver_->LookupTXT("example.com"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (std::vector<std::string>{"v=spf1 -all"}));
  r = Run(resolver_->LookupTXT("long.example.com"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].size(), 277u);  // Sent as two strings (255 + 22).
  EXPECT_EQ((*r)[0].back(), 'B');
}

TEST_F(CaresTest, PTR) {
  auto r = Run(resolver_->LookupAddr("127.0.0.1"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (std::vector<std::string>{"srv-b", "localhost.example.com"}));
  r = Run(resolver_->LookupAddr("192.0.2.1"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (std::vector<std::string>{"nomx.example.com"}));
  r = Run(resolver_->LookupAddr("2001:db8::1"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (std::vector<std::string>{"example.com"}));
}

TEST_F(CaresTest, PTRErrors) {
  // No reverse zone for it: NXDOMAIN.
  auto r = Run(resolver_->LookupAddr("192.0.2.77"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().permanent());
  EXPECT_EQ(r.status().message(), "no such host");
  r = Run(resolver_->LookupAddr("not-an-ip"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().permanent());
}

TEST(ResolverTest, DefaultLookupAddrIsNoSuchHost) {
  // A resolver written before LookupAddr existed.
  struct Old : Resolver {
    net::awaitable<Result<std::vector<MX>>> LookupMX(std::string) override {
      co_return std::vector<MX>{};
    }
    net::awaitable<Result<std::vector<std::string>>> LookupIP(
        std::string) override {
      co_return std::vector<std::string>{};
    }
    net::awaitable<Result<std::vector<std::string>>> LookupTXT(
        std::string) override {
      co_return std::vector<std::string>{};
    }
  } old;
  net::io_context io;
  std::optional<Result<std::vector<std::string>>> out;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        std::string ip = "127.0.0.1";
        out.emplace(co_await old.LookupAddr(ip));
      },
      net::detached);
  io.run();
  ASSERT_FALSE(out->ok());
  EXPECT_EQ(out->status().message(), "no such host");
}

TEST_F(CaresTest, ManyConcurrentQueries) {
  int ok = 0;
  auto one = [&]() -> net::awaitable<void> {
    std::string domain = "example.com";
    auto r = co_await resolver_->LookupMX(domain);
    if (r.ok() && r->size() == 2) ok++;
  };
  for (int i = 0; i < 50; i++) net::co_spawn(io_, one(), net::detached);
  io_.run();
  EXPECT_EQ(ok, 50);
}

TEST(CaresServerTest, UnreachableServerIsTransient) {
  net::io_context io;
  // Nothing listens on this UDP port: the query times out or is refused.
  auto r = NewCaresResolver(io.get_executor(), "127.0.0.1:9");
  ASSERT_TRUE(r.ok());
  std::optional<Result<std::vector<MX>>> out;
  auto* resolver = r->get();
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        std::string domain = "example.com";
        out.emplace(co_await resolver->LookupMX(domain));
      },
      net::detached);
  io.run();
  auto& res = *out;
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.status().transient()) << res.status().message();
}

TEST(CaresServerTest, BadServerAddress) {
  net::io_context io;
  EXPECT_FALSE(NewCaresResolver(io.get_executor(), "not an address").ok());
}

// Without the --testing__dns_addr override, names are first looked up in
// the hosts file (as Go does), on the resolver's strand. Regression: that
// path once double-freed (a GCC 12 coroutine bug) and crashed the daemon on
// its first remote delivery; ASan (CI's sanitizer run) catches it here.
TEST_F(CaresTest, HostsFileWithoutOverride) {
  auto sys = NewCaresResolver(io_.get_executor(), "");
  ASSERT_TRUE(sys.ok()) << sys.status().message();
  for (int i = 0; i < 3; i++) {
    auto r = Run((*sys)->LookupIP("localhost"));
    ASSERT_TRUE(r.ok()) << r.status().message();
    bool loopback = false;
    for (const auto& ip : *r) loopback |= ip == "127.0.0.1" || ip == "::1";
    EXPECT_TRUE(loopback);
  }
}

}  // namespace
}  // namespace chasquid::dns
