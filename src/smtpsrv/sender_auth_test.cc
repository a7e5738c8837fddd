#include "smtpsrv/sender_auth.h"

#include <gtest/gtest.h>

namespace chasquid::smtpsrv {
namespace {

TEST(SenderAuthTest, SenderKeyIsTheAliasFileForm) {
  EXPECT_EQ(SenderKey("u.ser+tag@Dom", "+", "."), "user@dom");
  EXPECT_EQ(SenderKey("USER@dom", "+", "."), "user@dom");
  EXPECT_EQ(SenderKey("u.ser+tag@dom", "", ""), "u.ser+tag@dom");
}

}  // namespace
}  // namespace chasquid::smtpsrv
