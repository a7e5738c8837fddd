#include "courier/mx.h"

#include <optional>
#include <set>

#include <gtest/gtest.h>

#include "testlib/testlib.h"

namespace chasquid::courier {
namespace {

TEST(MXTest, OrderByPreferenceShufflingTies) {
  std::mt19937_64 rng(1);
  std::set<std::string> firsts;
  for (int i = 0; i < 50; i++) {
    auto hosts = OrderMXs({{"c", 20}, {"a1", 10}, {"a2", 10}, {"b", 15}}, rng);
    ASSERT_EQ(hosts.size(), 4u);
    EXPECT_EQ(hosts[2], "b");
    EXPECT_EQ(hosts[3], "c");
    firsts.insert(hosts[0]);
  }
  EXPECT_EQ(firsts, (std::set<std::string>{"a1", "a2"}));
}

TEST(MXTest, AtMostFiveAndNullMX) {
  std::mt19937_64 rng(1);
  std::vector<dns::MX> mxs;
  // append(), not "h" + ...: GCC 12's -Wrestrict false positive.
  for (int i = 0; i < 8; i++) {
    mxs.push_back(
        {std::string("h").append(std::to_string(i)), static_cast<uint16_t>(i)});
  }
  auto hosts = OrderMXs(mxs, rng);
  EXPECT_EQ(hosts, (std::vector<std::string>{"h0", "h1", "h2", "h3", "h4"}));
  EXPECT_EQ(OrderMXs({{"", 0}}, rng), (std::vector<std::string>{"."}));
}

Result<std::vector<std::string>> Lookup(std::vector<dns::MX> mxs) {
  testlib::FakeResolver r;
  r.Add("example.com", "A", "192.0.2.1");
  for (const dns::MX& mx : mxs)
    r.Add("example.com", "MX", mx.host, mx.preference);
  return testlib::Await(LookupMXs(&r, "example.com"));
}

TEST(MXTest, NullMXIsPermanent) {
  auto r = Lookup({{"", 0}});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().permanent());
  EXPECT_EQ(r.status().message(), kNullMXError);
  // Mixed with a real MX (invalid per RFC 7505 §3): the real one is used.
  r = Lookup({{"", 0}, {"mx.example.com", 10}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<std::string>{"mx.example.com"}));
  // No MX at all: the implicit MX.
  r = Lookup({});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<std::string>{"example.com"}));
}

}  // namespace
}  // namespace chasquid::courier
