#include "courier/wire.h"

#include <gtest/gtest.h>

namespace chasquid::courier::wire {
namespace {

TEST(WireTest, ParseCodeLine) {
  auto l = ParseCodeLine("250-PIPELINING");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->code, 250);
  EXPECT_TRUE(l->continued);
  EXPECT_EQ(l->text, "PIPELINING");
  EXPECT_EQ(ParseCodeLine("250").status().message(), "short response: 250");
  EXPECT_EQ(ParseCodeLine("25x hi").status().message(),
            "invalid response code: 25x hi");
  EXPECT_EQ(ParseCodeLine("099 hi").status().message(),
            "invalid response code: 099 hi");
}

TEST(WireTest, MultiLineReply) {
  ReplyReader r;
  ASSERT_TRUE(r.Feed("250-mx.example.com").ok());
  EXPECT_FALSE(r.done());
  ASSERT_TRUE(r.Feed("250-8BITMIME").ok());
  ASSERT_TRUE(r.Feed("251-odd code kept raw").ok());
  ASSERT_TRUE(r.Feed("250 SMTPUTF8").ok());
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.code(), 250);
  EXPECT_EQ(r.text(),
            "mx.example.com\n8BITMIME\n251-odd code kept raw\nSMTPUTF8");
  ReplyReader bad;
  EXPECT_FALSE(bad.Feed("hello").ok());
}

TEST(WireTest, ErrorsAndPermanence) {
  EXPECT_EQ(ReplyError(550, "5.7.23 SPF check failed: matched all"),
            "550 \"5.7.23 SPF check failed: matched all\"");
  EXPECT_EQ(ReplyError(451, "a\nb"), "451 \"a\\nb\"");
  EXPECT_TRUE(ReplyStatus(550, "no").permanent());
  EXPECT_TRUE(ReplyStatus(599, "no").permanent());
  EXPECT_TRUE(ReplyStatus(451, "later").transient());
  EXPECT_TRUE(ReplyStatus(250, "odd").transient());
  EXPECT_TRUE(CodeMatches(251, 25));
  EXPECT_FALSE(CodeMatches(251, 250));
  EXPECT_TRUE(CodeMatches(220, 2));
}

TEST(WireTest, DataEncoderInPiecesIsEncodeData) {
  const std::string in = ".a\r\n.\n\r\n..b\nc\r\r\n.\n\nend.";
  // Every split into three pieces, so each boundary falls everywhere.
  for (size_t i = 0; i <= in.size(); i++) {
    for (size_t j = i; j <= in.size(); j++) {
      DataEncoder enc;
      std::string out;
      enc.Feed(std::string_view(in).substr(0, i), &out);
      enc.Feed(std::string_view(in).substr(i, j - i), &out);
      enc.Feed(std::string_view(in).substr(j), &out);
      enc.Finish(&out);
      ASSERT_EQ(out, EncodeData(in)) << i << " " << j;
    }
  }
}

TEST(WireTest, EncodeData) {
  EXPECT_EQ(EncodeData("a\nb\n"), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(EncodeData("a\r\nb"), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(EncodeData(".x\n..\n.\nend"), "..x\r\n...\r\n..\r\nend\r\n.\r\n");
  EXPECT_EQ(EncodeData(""), ".\r\n");
}

}  // namespace
}  // namespace chasquid::courier::wire
