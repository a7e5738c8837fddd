#include "sts/policy.h"

#include <gtest/gtest.h>

namespace chasquid::sts {
namespace {

using std::chrono::seconds;

TEST(PolicyTest, ParseRFCExample) {
  Policy p = Parse(
      "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
      "mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n");
  EXPECT_TRUE(Check(p).ok());
  EXPECT_EQ(p.version, "STSv1");
  EXPECT_EQ(p.mode, "enforce");
  EXPECT_EQ(p.mxs,
            (std::vector<std::string>{"mail.example.com", "*.example.net",
                                      "backupmx.example.com"}));
  EXPECT_EQ(p.max_age, seconds(604800));
}

TEST(PolicyTest, ParseLeniency) {
  // Last value wins, unknown keys and lines without ':' are ignored, keys
  // are case-sensitive, whitespace is trimmed.
  Policy p = Parse(
      "version: STSv0\nversion:STSv1\n  mode :  testing \nMode: enforce\n"
      "junk\nfoo: bar\nmax_age: x\nmx: a.example.com\n");
  EXPECT_EQ(p.version, "STSv1");
  EXPECT_EQ(p.mode, "testing");
  EXPECT_EQ(p.max_age, seconds(0));
  EXPECT_EQ(Check(p).message(), "invalid max_age");
}

TEST(PolicyTest, CheckErrors) {
  Policy good = Parse("version: STSv1\nmode: none\nmx: a\nmax_age: 1\n");
  EXPECT_TRUE(Check(good).ok());
  Policy p = good;
  p.version = "STSv2";
  EXPECT_EQ(Check(p).message(), "unknown policy version");
  p = good;
  p.mode = "Enforce";
  EXPECT_EQ(Check(p).message(), "invalid mode");
  p = good;
  p.mxs.clear();
  EXPECT_EQ(Check(p).message(), "invalid mx");
  EXPECT_EQ(Check(Parse("version: STSv1\nmode: none\nmx: a\n"
                        "max_age: 31557601\n"))
                .message(),
            "invalid max_age");
  EXPECT_TRUE(Check(Parse("version: STSv1\nmode: none\nmx: a\n"
                          "max_age: 31557600\n"))
                  .ok());
  EXPECT_EQ(Check(Parse("version: STSv1\nmode: none\nmx: a\n"
                        "max_age: -5\n"))
                .message(),
            "invalid max_age");
  EXPECT_EQ(Check(Parse("version: STSv1\nmode: none\nmx: a\n"
                        "max_age: 99999999999999999999999\n"))
                .message(),
            "invalid max_age");
}

TEST(PolicyTest, MXMatching) {
  Policy p = Parse(
      "version: STSv1\nmode: enforce\nmx: mx.example.com\n"
      "mx: *.Example.NET.\nmx: ñandú.com\nmax_age: 10\n");
  EXPECT_TRUE(MXIsAllowed(p, "mx.example.com"));
  EXPECT_TRUE(MXIsAllowed(p, "MX.example.com."));
  EXPECT_TRUE(MXIsAllowed(p, "a.example.net"));
  EXPECT_FALSE(MXIsAllowed(p, "a.b.example.net"));  // One label only.
  EXPECT_FALSE(MXIsAllowed(p, "example.net"));
  EXPECT_FALSE(MXIsAllowed(p, "mx2.example.com"));
  EXPECT_TRUE(MXIsAllowed(p, "xn--and-6ma2c.com"));
  EXPECT_TRUE(MXIsAllowed(p, "ñandú.com"));
  p.mode = "testing";
  EXPECT_TRUE(MXIsAllowed(p, "anything.org"));
}

TEST(PolicyTest, JSONRoundTripInGoFormat) {
  Policy p = Parse(
      "version: STSv1\nmode: enforce\nmx: mx1.example.com\n"
      "mx: *.example.net\nmax_age: 86400\n");
  std::string j = ToJSON(p);
  EXPECT_EQ(j,
            "{\"version\":\"STSv1\",\"mode\":\"enforce\",\"mx\":"
            "[\"mx1.example.com\",\"*.example.net\"],"
            "\"max_age\":86400000000000}");
  auto back = FromJSON(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->mxs, p.mxs);
  EXPECT_EQ(back->max_age, p.max_age);
  EXPECT_TRUE(Check(*back).ok());
  EXPECT_FALSE(FromJSON("{").ok());
  // Invalid UTF-8 is replaced, as Go's encoding/json does.
  Policy odd = p;
  odd.mxs = {"a\xff<b>"};
  EXPECT_NE(ToJSON(odd).find("\"a\\ufffd\\u003cb\\u003e\""), std::string::npos);
  ASSERT_TRUE(FromJSON(ToJSON(odd)).ok());
  EXPECT_FALSE(FromJSON("{\"max_age\":\"x\"}").ok());
  EXPECT_EQ(DebugString(p),
            "{Version:STSv1 Mode:enforce MXs:[mx1.example.com *.example.net]"
            " MaxAge:24h0m0s}");
}

}  // namespace
}  // namespace chasquid::sts
