#include "limits/send_brake.h"

#include <gtest/gtest.h>

namespace chasquid::limits {
namespace {

using Clock = SendBrake::Clock;
using Limit = SendBrake::Limit;
using std::chrono::minutes;

const Clock::time_point kNow = Clock::time_point() + std::chrono::hours(99);

TEST(SendBrakeTest, MessagesPerHour) {
  SendBrake b({.messages_per_hour = 3});
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(b.Check("u@d", 1, kNow), Limit::kNone) << i;
    b.Sent("u@d", 1, kNow);
  }
  EXPECT_EQ(b.Check("u@d", 1, kNow + minutes(59)), Limit::kMessages);
  EXPECT_EQ(b.Check("v@d", 1, kNow), Limit::kNone);  // Per user.
  EXPECT_EQ(b.Check("u@d", 1, kNow + minutes(60)), Limit::kNone);
}

TEST(SendBrakeTest, RecipientsPerHour) {
  SendBrake b({.recipients_per_hour = 10});
  b.Sent("u@d", 8, kNow);
  EXPECT_EQ(b.Check("u@d", 2, kNow), Limit::kNone);
  EXPECT_EQ(b.Check("u@d", 3, kNow), Limit::kRecipients);
  EXPECT_STREQ(SendBrake::LimitName(Limit::kRecipients),
               "recipientsPerUserHour");
}

TEST(SendBrakeTest, OffByDefaultAndBounded) {
  SendBrake off({});
  off.Sent("u@d", 1000, kNow);
  EXPECT_EQ(off.Check("u@d", 1000, kNow), Limit::kNone);
  EXPECT_EQ(off.users(), 0u);

  SendBrake b({.messages_per_hour = 1, .capacity = 10});
  // append(), not "u" + ...: GCC 12's -Wrestrict false positive at -O3.
  for (int i = 0; i < 1000; i++) {
    b.Sent(std::string("u").append(std::to_string(i)), 1, kNow);
  }
  EXPECT_EQ(b.users(), 10u);
}

}  // namespace
}  // namespace chasquid::limits
