#include "smtp/dotreader.h"

#include <gtest/gtest.h>

namespace chasquid::smtp {
namespace {

struct Out {
  DotReader::State state;
  std::string data;
  size_t consumed;
  bool too_big;
};

Out Read(std::string_view in, uint64_t max = 1 << 20, size_t chunk = 0) {
  DotReader r(max);
  size_t consumed = 0;
  if (chunk == 0) chunk = in.size() ? in.size() : 1;
  while (consumed < in.size() && r.state() == DotReader::State::kMore) {
    consumed += r.Feed(in.substr(consumed, chunk));
  }
  return {r.state(), r.data(), consumed, r.too_big()};
}

TEST(DotReaderTest, UnstuffsAndEnds) {
  auto o = Read(".From: x\r\n.Muahahahaha\r\n..x\r\n..\r\n.This is stuffy.\r\n"
                ".\r\nNEXT");
  EXPECT_EQ(o.state, DotReader::State::kDone);
  EXPECT_EQ(o.data, "From: x\nMuahahahaha\n.x\n.\nThis is stuffy.\n");
  EXPECT_EQ(o.consumed, o.data.size() + 5 /*dots*/ + 5 /*CRs*/ + 3);
}

TEST(DotReaderTest, ByteByByteIsTheSame) {
  std::string in = "a\r\n..b\r\n\r\n.\r\n";
  auto whole = Read(in), bytes = Read(in, 1 << 20, 1);
  EXPECT_EQ(whole.data, bytes.data);
  EXPECT_EQ(bytes.data, "a\n.b\n\n");
  EXPECT_EQ(bytes.consumed, in.size());
}

TEST(DotReaderTest, EmptyBody) {
  auto o = Read(".\r\n");
  EXPECT_EQ(o.state, DotReader::State::kDone);
  EXPECT_EQ(o.data, "");
  o = Read("\r\n.\r\n");
  EXPECT_EQ(o.state, DotReader::State::kDone);
  EXPECT_EQ(o.data, "\n");
}

TEST(DotReaderTest, SmugglingVectorsAreRejected) {
  for (const char* bad : {".\n", "xxx\n.\n", "a\r\n.\n", "a\n.\r\n",
                          "a\r\r\n.\r\n", "a\rb\r\n.\r\n", "a\r\n.\r.\r\n",
                          "a\r\n.\rMAIL FROM:<x@y>\r\n"}) {
    EXPECT_EQ(Read(bad).state, DotReader::State::kInvalidLineEnding) << bad;
  }
}

TEST(DotReaderTest, StopsAtTheOffendingByte) {
  auto o = Read("ab\ncd");
  EXPECT_EQ(o.consumed, 3u);
}

TEST(DotReaderTest, NulAnd8BitAccepted) {
  std::string in("a\0\xff\xc3\xb1\r\n.\r\n", 10);
  auto o = Read(in);
  EXPECT_EQ(o.state, DotReader::State::kDone);
  EXPECT_EQ(o.data, std::string("a\0\xff\xc3\xb1\n", 6));
}

TEST(DotReaderTest, SizeLimitCountsWireBytesAndReadsToTheEnd) {
  // 10 bytes on the wire: "1234\r\n.\r\n" is 9.
  EXPECT_FALSE(Read("1234\r\n.\r\n", 9).too_big);
  auto o = Read("1234\r\n.\r\n", 8);
  EXPECT_TRUE(o.too_big);
  EXPECT_EQ(o.state, DotReader::State::kDone);
  o = Read("123456789\r\n.\r\nQUIT\r\n", 4);
  EXPECT_TRUE(o.too_big);
  EXPECT_EQ(o.state, DotReader::State::kDone);
  EXPECT_EQ(o.data, "1234");
  EXPECT_EQ(o.consumed, 14u);
}

}  // namespace
}  // namespace chasquid::smtp
