#include "smtp/auth.h"

#include <gtest/gtest.h>

namespace chasquid::smtp {
namespace {

TEST(AuthTest, Base64MatchesGo) {
  EXPECT_EQ(*DecodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(*DecodeBase64("aGVs\r\nbG8="), "hello");
  EXPECT_EQ(*DecodeBase64(""), "");
  EXPECT_EQ(DecodeBase64("aGVsbG8").status().message(),
            "illegal base64 data at input byte 4");
  EXPECT_EQ(DecodeBase64("ab*d").status().message(),
            "illegal base64 data at input byte 2");
  EXPECT_EQ(DecodeBase64("*").status().message(),
            "illegal base64 data at input byte 0");
  EXPECT_EQ(DecodeBase64("aGVsbA==x").status().message(),
            "illegal base64 data at input byte 8");
  EXPECT_EQ(DecodeBase64("aGVsbA=").status().message(),
            "illegal base64 data at input byte 7");
  EXPECT_EQ(EncodeBase64("hello"), "aGVsbG8=");
  EXPECT_EQ(EncodeBase64("hell"), "aGVsbA==");
}

TEST(AuthTest, PlainSpecExamples) {
  for (const char* r : {"dUBkAHVAZABwYXNz", "dUBkAABwYXNz", "AHVAZABwYXNz"}) {
    auto c = DecodePlain(r);
    ASSERT_TRUE(c.ok()) << r;
    EXPECT_EQ(c->user, "u");
    EXPECT_EQ(c->domain, "d");
    EXPECT_EQ(c->password, "pass");
  }
  auto c = DecodePlain("dQB1AHBhc3M=");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->user, "u");
  EXPECT_EQ(c->domain, "");
}

TEST(AuthTest, PlainErrors) {
  EXPECT_EQ(
      DecodePlain(EncodeBase64(std::string("a\0b", 3))).status().message(),
      "response pieces != 3, as per RFC");
  EXPECT_EQ(
      DecodePlain(EncodeBase64(std::string("a\0b\0c", 5))).status().message(),
      "auth IDs do not match");
  EXPECT_EQ(
      DecodePlain(EncodeBase64(std::string("\0\0c", 3))).status().message(),
      "empty identity, must be in the form user@domain");
  EXPECT_EQ(DecodePlain("*").status().message(),
            "illegal base64 data at input byte 0");
}

}  // namespace
}  // namespace chasquid::smtp
