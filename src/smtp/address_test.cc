#include "smtp/address.h"

#include <gtest/gtest.h>

namespace chasquid::smtp {
namespace {

TEST(AddressTest, FirstToken) {
  EXPECT_EQ(FirstToken("  <a@b> SIZE=3"), "<a@b>");
  EXPECT_EQ(FirstToken("<a@b>\tBODY=8BITMIME"), "<a@b>");
  EXPECT_EQ(FirstToken("   "), std::nullopt);
  EXPECT_EQ(FirstToken(""), std::nullopt);
  EXPECT_EQ(FirstToken("\xC2\xA0x"), "x");  // U+00A0 is a space for fmt.
}

TEST(AddressTest, StripVerbPrefix) {
  EXPECT_EQ(StripVerbPrefix("FROM:<a@b>", "from:"), "<a@b>");
  EXPECT_EQ(StripVerbPrefix("fRoM:x", "from:"), "x");
  EXPECT_EQ(StripVerbPrefix("FROM :x", "from:"), std::nullopt);
  EXPECT_EQ(StripVerbPrefix("TO", "to:"), std::nullopt);
}

TEST(AddressTest, Accepts) {
  EXPECT_EQ(*ParseAddress("<a@b>"), "a@b");
  EXPECT_EQ(*ParseAddress("a@b"), "a@b");
  EXPECT_EQ(*ParseAddress("a.b+c@d.e"), "a.b+c@d.e");
  EXPECT_EQ(*ParseAddress("<ñandú@pingüino.ar>"), "ñandú@pingüino.ar");
  EXPECT_EQ(*ParseAddress("<\"a b\"@c>"), "a b@c");
  EXPECT_EQ(*ParseAddress("<a@[127.0.0.1]>"), "a@[127.0.0.1]");
  EXPECT_EQ(*ParseAddress("<a@b>(comment)"), "a@b");
  EXPECT_EQ(*ParseAddress("name<a@b>"), "a@b");
}

TEST(AddressTest, Rejects) {
  for (const char* bad :
       {"from", "<x>", "<pepe>", "><", "a", "<a@>", "<>", "<a@b", "a@b>",
        "<.a@b>", "<a..b@c>", "<a@b.>", "<a@b>x", "\xff@b", "<a@b>(unclosed"}) {
    EXPECT_FALSE(ParseAddress(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace chasquid::smtp
