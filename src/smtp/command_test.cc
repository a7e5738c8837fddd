#include "smtp/command.h"

#include <gtest/gtest.h>

namespace chasquid::smtp {
namespace {

TEST(CommandTest, SplitsAtFirstSpace) {
  auto c = ParseCommand("mail FROM:<a@b> BODY=8BITMIME");
  EXPECT_EQ(c.verb, "MAIL");
  EXPECT_EQ(c.params, "FROM:<a@b> BODY=8BITMIME");
}

TEST(CommandTest, KeepsExtraSpacesAndTabsInParams) {
  auto c = ParseCommand("EHLO   x");
  EXPECT_EQ(c.verb, "EHLO");
  EXPECT_EQ(c.params, "  x");
  c = ParseCommand("EHLO\tx");
  EXPECT_EQ(c.verb, "EHLO\tX");
  EXPECT_EQ(c.params, "");
}

TEST(CommandTest, EmptyLine) {
  auto c = ParseCommand("");
  EXPECT_EQ(c.verb, "");
  EXPECT_EQ(c.params, "");
  EXPECT_EQ(UnknownCommandLabel(c.verb), "unknown<\"\">");
}

TEST(CommandTest, UnicodeUpperAndInvalidBytes) {
  EXPECT_EQ(ParseCommand("ñop").verb, "ÑOP");
  EXPECT_EQ(ParseCommand("a\xff").verb, "A\xEF\xBF\xBD");
}

TEST(CommandTest, UnknownLabelKeepsSixRunes) {
  EXPECT_EQ(UnknownCommandLabel("WHATISTHIS"), "unknown<\"WHATIS\">");
  EXPECT_EQ(UnknownCommandLabel("ÑÑÑÑÑÑÑ"), "unknown<\"ÑÑÑÑÑÑ\">");
  EXPECT_EQ(UnknownCommandLabel("A\"B"), "unknown<\"A\\\"B\">");
}

}  // namespace
}  // namespace chasquid::smtp
