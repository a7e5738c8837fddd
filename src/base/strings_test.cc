#include "base/strings.h"
#include "base/textproto.h"
#include "base/utf8.h"

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

// Go's own strconv test table (Quote and QuoteToASCII columns), written
// with raw strings to read as Go's backquoted expectations do.
TEST(GoQuoteTest, GoStrconvCases) {
  struct Case {
    std::string in, quote, ascii;
  } cases[] = {
      {"\a\b\f\r\n\t\v", R"("\a\b\f\r\n\t\v")", R"("\a\b\f\r\n\t\v")"},
      {"\\", R"("\\")", R"("\\")"},
      {"abc\xff"
       "def",
       R"("abc\xffdef")", R"("abc\xffdef")"},
      {"\u263a", "\"\u263a\"", R"("\u263a")"},
      {"\U0010ffff", R"("\U0010ffff")", R"("\U0010ffff")"},
      {"\x04", R"("\x04")", R"("\x04")"},
      // Graphic but not printable: spaces other than U+0020.
      {"!\u00a0!\u2000!\u3000!", R"("!\u00a0!\u2000!\u3000!")",
       R"("!\u00a0!\u2000!\u3000!")"},
      {"\x7f", R"("\x7f")", R"("\x7f")"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(GoQuote(c.in), c.quote) << c.quote;
    EXPECT_EQ(GoQuote(c.in, /*ascii_only=*/true), c.ascii) << c.ascii;
  }
}

TEST(GoQuoteTest, PrintableIsLetterMarkNumberPunctuationSymbol) {
  // C1 controls are runes, so \u, not \x as for bytes.
  EXPECT_EQ(GoQuote("a\u0085b"), R"("a\u0085b")");
  // Format characters: soft hyphen, zero-width space, BOM.
  EXPECT_EQ(GoQuote("\u00ad\u200b\ufeff"), R"("\u00ad\u200b\ufeff")");
  // Line and paragraph separators.
  EXPECT_EQ(GoQuote("\u2028\u2029"), R"("\u2028\u2029")");
  // Private use and unassigned code points.
  EXPECT_EQ(GoQuote("\ue000\U000f0000"), R"("\ue000\U000f0000")");
  EXPECT_EQ(GoQuote("\u0378"), R"("\u0378")");
  // Combining marks, digits, symbols and punctuation of other scripts
  // are printable and copied as they are.
  for (std::string s : {"e\u0301", "\u0663", "\u20ac", "\u00bf", "\u3002",
                        "\U0001F600", "\ufffd", "\u4e2d\u6587"}) {
    EXPECT_EQ(GoQuote(s), "\"" + s + "\"") << s;
  }
  EXPECT_EQ(GoQuote("\u20ac", true), R"("\u20ac")");
}

TEST(GoQuoteTest, InvalidUtf8IsEscapedBytewise) {
  EXPECT_EQ(GoQuote("\xc0\x80"), R"("\xc0\x80")");          // Overlong.
  EXPECT_EQ(GoQuote("\xed\xa0\x80"), R"("\xed\xa0\x80")");  // Surrogate.
  EXPECT_EQ(GoQuote("\xf4\x90\x80\x80"), R"("\xf4\x90\x80\x80")");
  EXPECT_EQ(GoQuote("\xe2\x98"), R"("\xe2\x98")");  // Truncated.
  EXPECT_EQ(GoQuote("\xe2\x98x"), R"("\xe2\x98x")");
  EXPECT_EQ(GoQuote("\x80\u263a"), "\"\\x80\u263a\"");
  EXPECT_EQ(GoQuote(std::string_view("a\0b", 3)), R"("a\x00b")");
  EXPECT_EQ(GoQuote(""), R"("")");
}

// Go's json.Marshal of the same strings (Go 1.22 and later write \b and
// \f short).
TEST(GoJsonQuoteTest, MatchesEncodingJson) {
  EXPECT_EQ(GoJsonQuote("a<b>&\"c\\"), "\"a\\u003cb\\u003e\\u0026\\\"c\\\\\"");
  EXPECT_EQ(GoJsonQuote("\b\f\n\r\t\x01\x7f"),
            "\"\\b\\f\\n\\r\\t\\u0001\x7f\"");
  EXPECT_EQ(GoJsonQuote("\xe2\x80\xa8\xe2\x80\xa9"), "\"\\u2028\\u2029\"");
  EXPECT_EQ(GoJsonQuote("ñ\xff\xc0\x80"), "\"ñ\\ufffd\\ufffd\\ufffd\"");
}

TEST(Utf8Test, DecodeRuneRejectsWhatGoRejects) {
  EXPECT_EQ(DecodeRune("a", 0), (std::pair<int32_t, int>{'a', 1}));
  EXPECT_EQ(DecodeRune("ñ", 0), (std::pair<int32_t, int>{0xF1, 2}));
  EXPECT_EQ(DecodeRune("\xf0\x9f\x98\x80", 0),
            (std::pair<int32_t, int>{0x1F600, 4}));
  for (std::string_view bad :
       {"\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf8",
        "\x80", "\xe2\x80"}) {
    EXPECT_EQ(DecodeRune(bad, 0), (std::pair<int32_t, int>{-1, 1})) << bad;
  }
  std::string out;
  AppendRune(out, 0x1F600);
  AppendRune(out, 0xD800);
  EXPECT_EQ(out, "\xf0\x9f\x98\x80\xef\xbf\xbd");
}

TEST(TextprotoErrorTest, CodeAndQuotedText) {
  EXPECT_EQ(TextprotoError(452, "Nananana"), R"(452 "Nananana")");
  EXPECT_EQ(TextprotoError(550, "5.7.23 SPF check failed: matched all"),
            R"(550 "5.7.23 SPF check failed: matched all")");
  EXPECT_EQ(TextprotoError(250, "first\nsecond \"x\""),
            R"(250 "first\nsecond \"x\"")");
  EXPECT_EQ(TextprotoError(42, ""), R"(042 "")");
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

// Found by config_fuzz: these threw out of std::stold and ended the process
// (give_up_send_after is parsed at start-up).
TEST(DurationTest, MalformedNumbersAreErrors) {
  auto dots = ParseGoDuration("......s");
  ASSERT_FALSE(dots.ok());
  EXPECT_EQ(dots.status().message(), "time: invalid duration \"......s\"");
  EXPECT_FALSE(ParseGoDuration(".s").ok());
  EXPECT_FALSE(ParseGoDuration(std::string(5000, '9') + "s").ok());
  auto two = ParseGoDuration("1.2.3s");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.status().message(),
            "time: missing unit in duration \"1.2.3s\"");
  EXPECT_EQ(*ParseGoDuration(".5s"), milliseconds(500));
  EXPECT_EQ(*ParseGoDuration("5.s"), seconds(5));
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
