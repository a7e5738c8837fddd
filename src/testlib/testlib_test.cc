#include "testlib/testlib.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace chasquid::testlib {
namespace {

TEST(TempDirTest, WritesAndCleansUp) {
  std::string path;
  {
    TempDir d;
    path = d.path();
    d.Write("a/b.txt", "hello");
    std::ifstream f(d / "a/b.txt");
    std::stringstream ss;
    ss << f.rdbuf();
    EXPECT_EQ(ss.str(), "hello");
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(FakeResolverTest, DnsSemantics) {
  FakeResolver r;
  r.Add("Example.COM.", "MX", "mx.example.com.", 10);
  r.Add("example.com", "TXT", "v=spf1 -all");
  r.Add("mx.example.com", "A", "192.0.2.1");
  r.Add("mx.example.com", "AAAA", "2001:db8::1");
  r.Add("192.0.2.1", "PTR", "mx.example.com.");

  auto mx = Await(r.LookupMX("example.com"));
  ASSERT_TRUE(mx.ok());
  ASSERT_EQ(mx->size(), 1u);
  EXPECT_EQ((*mx)[0].host, "mx.example.com");
  EXPECT_EQ((*mx)[0].preference, 10);

  auto ips = Await(r.LookupIP("MX.example.com"));
  ASSERT_TRUE(ips.ok());
  EXPECT_EQ(*ips, (std::vector<std::string>{"192.0.2.1", "2001:db8::1"}));

  // A name that exists without records of the type: an empty answer.
  auto none = Await(r.LookupIP("example.com"));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  // A name that does not exist: not found.
  auto nx = Await(r.LookupTXT("nx.example.com"));
  ASSERT_FALSE(nx.ok());
  EXPECT_TRUE(nx.status().not_found());

  auto ptr = Await(r.LookupAddr("192.0.2.1"));
  ASSERT_TRUE(ptr.ok());
  EXPECT_EQ(*ptr, (std::vector<std::string>{"mx.example.com"}));

  r.Fail("example.com", Status::Transient("lookup example.com: timeout"));
  auto failed = Await(r.LookupTXT("example.com"));
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(failed.status().transient());

  r.all_transient = true;
  EXPECT_TRUE(Await(r.LookupMX("x.example")).status().transient());
  EXPECT_EQ(r.queries["MX"], 2);
  EXPECT_EQ(r.queries["IP"], 2);
  EXPECT_EQ(r.queries["TXT"], 2);
  EXPECT_EQ(r.queries["PTR"], 1);
}

TEST(AwaitTest, PropagatesExceptions) {
  auto throws = []() -> net::awaitable<int> {
    throw std::runtime_error("boom");
    co_return 1;
  };
  EXPECT_THROW(Await(throws()), std::runtime_error);
}

}  // namespace
}  // namespace chasquid::testlib
