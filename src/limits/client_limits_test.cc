#include "limits/client_limits.h"

#include <gtest/gtest.h>

namespace chasquid::limits {
namespace {

using Limit = ClientLimits::Limit;
using std::chrono::seconds;
const ClientLimits::Clock::time_point kNow =
    ClientLimits::Clock::time_point() + std::chrono::hours(5);

TEST(ClientLimitsTest, OpenConnections) {
  ClientLimits l({.max_open = 2});
  EXPECT_EQ(l.Admit("a", kNow), Limit::kNone);
  EXPECT_EQ(l.Admit("a", kNow), Limit::kNone);
  EXPECT_EQ(l.Admit("a", kNow), Limit::kOpen);
  EXPECT_EQ(l.Admit("b", kNow), Limit::kNone);  // Per client.
  l.Release("a");
  EXPECT_EQ(l.Admit("a", kNow), Limit::kNone);
  l.Release("a");
  l.Release("a");
  l.Release("b");
  EXPECT_EQ(l.open_clients(), 0u);  // Erased at zero: bounded.
}

TEST(ClientLimitsTest, NewConnectionsPerMinute) {
  ClientLimits l({.max_per_minute = 3});
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(l.Admit("a", kNow + seconds(i)), Limit::kNone);
    l.Release("a");
  }
  EXPECT_EQ(l.Admit("a", kNow + seconds(59)), Limit::kRate);
  EXPECT_EQ(l.Admit("b", kNow + seconds(59)), Limit::kNone);
  EXPECT_EQ(l.Admit("a", kNow + seconds(60)), Limit::kNone);
  EXPECT_STREQ(ClientLimits::LimitName(Limit::kRate),
               "newConnectionsPerClientMinute");
}

TEST(ClientLimitsTest, OffAndBounded) {
  ClientLimits off({});
  for (int i = 0; i < 1000; i++) ASSERT_EQ(off.Admit("a", kNow), Limit::kNone);

  ClientLimits l({.max_per_minute = 10, .capacity = 100});
  for (int i = 0; i < 100000; i++) {
    std::string c = std::to_string(i);
    ASSERT_EQ(l.Admit(c, kNow), Limit::kNone);
    l.Release(c);
  }
  EXPECT_EQ(l.open_clients(), 0u);
}

}  // namespace
}  // namespace chasquid::limits
