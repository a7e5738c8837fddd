#include "courier/mx.h"

#include <set>

#include <gtest/gtest.h>

namespace chasquid::courier {
namespace {

TEST(MXTest, OrderByPreferenceShufflingTies) {
  std::mt19937_64 rng(1);
  std::set<std::string> firsts;
  for (int i = 0; i < 50; i++) {
    auto hosts = OrderMXs({{"c", 20}, {"a1", 10}, {"a2", 10}, {"b", 15}},
                          rng);
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
  for (int i = 0; i < 8; i++) mxs.push_back({"h" + std::to_string(i), 
                                             static_cast<uint16_t>(i)});
  auto hosts = OrderMXs(mxs, rng);
  EXPECT_EQ(hosts, (std::vector<std::string>{"h0", "h1", "h2", "h3", "h4"}));
  EXPECT_EQ(OrderMXs({{"", 0}}, rng), (std::vector<std::string>{"."}));
}

}  // namespace
}  // namespace chasquid::courier
