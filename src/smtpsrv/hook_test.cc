#include "smtpsrv/hook.h"

#include <gtest/gtest.h>

namespace chasquid::smtpsrv {
namespace {

TEST(HookTest, LooksLikeHeaders) {
  EXPECT_TRUE(LooksLikeHeaders(""));
  EXPECT_TRUE(LooksLikeHeaders("X-A: b\n"));
  EXPECT_TRUE(LooksLikeHeaders("X-A: b\n\tc\nX-D: e\n"));
  EXPECT_FALSE(LooksLikeHeaders("\n"));
  EXPECT_FALSE(LooksLikeHeaders("X-A: b"));
  EXPECT_FALSE(LooksLikeHeaders("X-A: b\n\nX-C: d\n"));
  EXPECT_FALSE(LooksLikeHeaders(" cont\n"));
  EXPECT_FALSE(LooksLikeHeaders("no colon\n"));
  EXPECT_EQ(HookErrorText("only"), "");
  EXPECT_EQ(HookErrorText("a\nb\n"), "b");
  EXPECT_EQ(SanitizeEhloDomain("a b;c[1]:-."), "abc[1]:-.");
}

}  // namespace
}  // namespace chasquid::smtpsrv
