#include "base/strings.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace chasquid {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(GoQuoteTest, MatchesGo) {
  EXPECT_EQ(GoQuote("abc"), "\"abc\"");
  EXPECT_EQ(GoQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(GoQuote("line\nnext\t"), "\"line\\nnext\\t\"");
  EXPECT_EQ(GoQuote("\x01"), "\"\\x01\"");
  EXPECT_EQ(GoQuote("\xff"), "\"\\xff\"");
  EXPECT_EQ(GoQuote("ñandú"), "\"ñandú\"");
  EXPECT_EQ(GoQuote("ñ", /*ascii_only=*/true), "\"\\u00f1\"");
  EXPECT_EQ(GoQuote("\U0001F600", true), "\"\\U0001f600\"");
}

TEST(ErrnoTextTest, LowerCaseLikeGo) {
  EXPECT_EQ(ErrnoText(ENOENT), "no such file or directory");
  EXPECT_EQ(PathError("open", "x/y", EACCES), "open x/y: permission denied");
}

TEST(DurationTest, Parse) {
  EXPECT_EQ(*ParseGoDuration("20h"), std::chrono::hours(20));
  EXPECT_EQ(*ParseGoDuration("50ms"), milliseconds(50));
  EXPECT_EQ(*ParseGoDuration("1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(*ParseGoDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(*ParseGoDuration("0"), nanoseconds(0));
  auto r = ParseGoDuration("10");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "time: missing unit in duration \"10\"");
  EXPECT_FALSE(ParseGoDuration("").ok());
  EXPECT_FALSE(ParseGoDuration("3d").ok());
  EXPECT_FALSE(ParseGoDuration("abc").ok());
}

TEST(DurationTest, Format) {
  EXPECT_EQ(FormatGoDuration(seconds(30)), "30s");
  EXPECT_EQ(FormatGoDuration(milliseconds(50)), "50ms");
  EXPECT_EQ(FormatGoDuration(std::chrono::hours(20)), "20h0m0s");
  EXPECT_EQ(FormatGoDuration(seconds(3723)), "1h2m3s");
  EXPECT_EQ(FormatGoDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatGoDuration(nanoseconds(0)), "0s");
}

TEST(QueryEscapeTest, RoundTrip) {
  EXPECT_EQ(QueryEscape("test@test.com"), "test%40test.com");
  EXPECT_EQ(QueryEscape("cmd args"), "cmd+args");
  EXPECT_EQ(*QueryUnescape("cmd%20args+x"), "cmd args x");
  EXPECT_FALSE(QueryUnescape("%zz").ok());
  EXPECT_FALSE(QueryUnescape("abc%4").ok());
}

}  // namespace
}  // namespace chasquid

namespace chasquid {
namespace {

TEST(StringsTest, ToCRLF) {
  EXPECT_EQ(ToCRLF(""), "");
  EXPECT_EQ(ToCRLF("no newline"), "no newline");
  EXPECT_EQ(ToCRLF("\n"), "\r\n");
  EXPECT_EQ(ToCRLF("a\nb\r\nc\n"), "a\r\nb\r\nc\r\n");
  EXPECT_EQ(ToCRLF("\r\n\r\n"), "\r\n\r\n");
  EXPECT_EQ(ToCRLF("\n\n"), "\r\n\r\n");
  EXPECT_EQ(ToCRLF("x\r"), "x\r");
}

}  // namespace
}  // namespace chasquid
