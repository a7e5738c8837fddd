#include "limits/auth_throttle.h"

#include <gtest/gtest.h>

namespace chasquid::limits {
namespace {

using Clock = AuthThrottle::Clock;
using Rule = AuthThrottle::Rule;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

class AuthThrottleTest : public ::testing::Test {
 protected:
  Clock::time_point now_ = Clock::time_point() + std::chrono::hours(1000);
};

TEST_F(AuthThrottleTest, DelaysGrowThenClientIsBlocked) {
  AuthThrottle t({});  // Defaults: delays after 5, block at 10.
  std::vector<Clock::duration> delays;
  for (int i = 0; i < 9; i++) {
    ASSERT_EQ(t.Check("192.0.2.1", "u@d", now_).refused, Rule::kNone) << i;
    auto out = t.Failed("192.0.2.1", "u@d", now_);
    EXPECT_FALSE(out.client_blocked);
    delays.push_back(out.delay);
  }
  std::vector<Clock::duration> want = {
      {},         {},         {},        {}, {}, milliseconds(500),
      seconds(1), seconds(2), seconds(4)};
  EXPECT_EQ(delays, want);
  auto out = t.Failed("192.0.2.1", "u@d", now_);
  EXPECT_TRUE(out.client_blocked);
  EXPECT_EQ(out.delay, seconds(4));  // Capped at max_delay.

  auto v = t.Check("192.0.2.1", "other@d", now_ + seconds(1));
  EXPECT_EQ(v.refused, Rule::kClient);
  EXPECT_EQ(v.retry_after, minutes(15) - seconds(1));
  // Another client is not affected.
  EXPECT_EQ(t.Check("192.0.2.2", "u@d", now_).refused, Rule::kNone);
  // The block ends.
  EXPECT_EQ(t.Check("192.0.2.1", "u@d", now_ + minutes(15)).refused,
            Rule::kNone);
}

TEST_F(AuthThrottleTest, InsistingKeepsTheClientBlocked) {
  AuthThrottleOptions o;
  o.ip_failures = 2;
  AuthThrottle t(o);
  (void)t.Failed("c", "u@d", now_);
  EXPECT_TRUE(t.Failed("c", "u@d", now_).client_blocked);
  auto later = now_ + minutes(14);
  ASSERT_EQ(t.Check("c", "u@d", later).refused, Rule::kClient);
  t.Refused("c", Rule::kClient, later);
  EXPECT_EQ(t.Check("c", "u@d", later + minutes(14)).refused, Rule::kClient);
  EXPECT_EQ(t.Check("c", "u@d", later + minutes(15)).refused, Rule::kNone);
}

TEST_F(AuthThrottleTest, WindowForgetsOldFailures) {
  AuthThrottleOptions o;
  o.ip_failures = 3;
  AuthThrottle t(o);
  (void)t.Failed("c", "u@d", now_);
  (void)t.Failed("c", "u@d", now_ + minutes(1));
  // Ten minutes after the first failure, the window starts again.
  auto out = t.Failed("c", "u@d", now_ + minutes(10));
  EXPECT_FALSE(out.client_blocked);
  EXPECT_EQ(t.Check("c", "u@d", now_ + minutes(10)).refused, Rule::kNone);
}

TEST_F(AuthThrottleTest, UserBlockSparesTheClientThatSucceeded) {
  AuthThrottleOptions o;
  o.ip_failures = 3;
  o.user_failures = 6;
  o.remember_success = minutes(5);
  AuthThrottle t(o);
  t.Succeeded("good", "u@d", now_);
  bool blocked = false;
  // Three attacking clients, two failures each: none is blocked alone.
  for (const char* c : {"a1", "a2", "a3"}) {
    for (int i = 0; i < 2; i++) blocked = t.Failed(c, "u@d", now_).user_blocked;
  }
  EXPECT_TRUE(blocked);
  auto v = t.Check("a4", "u@d", now_);
  EXPECT_EQ(v.refused, Rule::kUser);
  EXPECT_FALSE(v.spared);
  // The legitimate client still gets its password checked.
  v = t.Check("good", "u@d", now_);
  EXPECT_EQ(v.refused, Rule::kNone);
  EXPECT_TRUE(v.spared);
  // Other users are not affected.
  EXPECT_EQ(t.Check("a4", "v@d", now_).refused, Rule::kNone);
  // A success forgotten is no longer a floor (the block lasts 15m).
  v = t.Check("good", "u@d", now_ + o.remember_success);
  EXPECT_EQ(v.refused, Rule::kUser);
}

TEST_F(AuthThrottleTest, UserRefusalsCountAgainstTheClient) {
  AuthThrottleOptions o;
  o.ip_failures = 3;
  o.user_failures = 2;
  AuthThrottle t(o);
  (void)t.Failed("a1", "u@d", now_);
  (void)t.Failed("a2", "u@d", now_);
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(t.Check("a3", "u@d", now_).refused, Rule::kUser);
    t.Refused("a3", Rule::kUser, now_);
  }
  EXPECT_EQ(t.Check("a3", "v@d", now_).refused, Rule::kClient);
}

TEST_F(AuthThrottleTest, SuccessDoesNotResetFailures) {
  AuthThrottleOptions o;
  o.ip_failures = 3;
  AuthThrottle t(o);
  (void)t.Failed("c", "x@d", now_);
  (void)t.Failed("c", "x@d", now_);
  t.Succeeded("c", "mine@d", now_);
  EXPECT_TRUE(t.Failed("c", "x@d", now_).client_blocked);
}

TEST_F(AuthThrottleTest, DisabledDoesNothing) {
  AuthThrottleOptions o;
  o.enabled = false;
  o.ip_failures = 1;
  AuthThrottle t(o);
  for (int i = 0; i < 100; i++) {
    auto out = t.Failed("c", "u@d", now_);
    EXPECT_EQ(out.delay, Clock::duration{});
  }
  EXPECT_EQ(t.Check("c", "u@d", now_).refused, Rule::kNone);
  EXPECT_EQ(t.clients(), 0u);
}

// An attacker rotating addresses and user names: the state stays within
// the configured capacities, whatever the number of keys.
TEST_F(AuthThrottleTest, StateIsBounded) {
  AuthThrottleOptions o;
  o.ip_capacity = 1000;
  o.user_capacity = 500;
  AuthThrottle t(o);
  for (int i = 0; i < 200000; i++) {
    std::string c = "10." + std::to_string(i >> 16) + "." +
                    std::to_string((i >> 8) & 255) + "." +
                    std::to_string(i & 255);
    (void)t.Check(c, "user" + std::to_string(i) + "@d", now_);
    (void)t.Failed(c, "user" + std::to_string(i) + "@d", now_);
    if (i % 7 == 0) t.Succeeded(c, "user" + std::to_string(i) + "@d", now_);
  }
  EXPECT_EQ(t.clients(), 1000u);
  EXPECT_EQ(t.users(), 500u);
  // The defaults are the documented bound.
  AuthThrottle d({});
  EXPECT_EQ(d.options().ip_capacity, 16384u);
  EXPECT_EQ(d.options().user_capacity, 4096u);
}

}  // namespace
}  // namespace chasquid::limits
