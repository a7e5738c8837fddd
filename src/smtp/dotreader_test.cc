#include "smtp/dotreader.h"

#include <random>

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

// The reader as first written, one byte at a time: the oracle for the
// run-at-once fast path.
struct Reference {
  enum class Prev { kOther, kCR, kCRLF };
  uint64_t max, count = 0;
  DotReader::State state = DotReader::State::kMore;
  Prev prev = Prev::kCRLF;
  bool dot_line = false;
  std::string data;
  size_t consumed = 0;
  void Run(std::string_view in) {
    for (char b : in) {
      if (state != DotReader::State::kMore) return;
      consumed++;
      count++;
      bool store = true;
      if (b == '\r') {
        if (prev == Prev::kCR) {
          state = DotReader::State::kInvalidLineEnding;
          return;
        }
        prev = Prev::kCR;
        store = false;
      } else if (b == '\n') {
        if (prev != Prev::kCR) {
          state = DotReader::State::kInvalidLineEnding;
          return;
        }
        if (dot_line) {
          state = DotReader::State::kDone;
          return;
        }
        prev = Prev::kCRLF;
      } else {
        if (prev == Prev::kCR) {
          state = DotReader::State::kInvalidLineEnding;
          return;
        }
        if (b == '.' && prev == Prev::kCRLF) {
          prev = Prev::kOther;
          dot_line = true;
          continue;
        }
        prev = Prev::kOther;
      }
      if (!(b == '\r' && dot_line)) dot_line = false;
      if (store && count <= max) data += b;
    }
  }
};

TEST(DotReaderTest, SameAsByteAtATimeReference) {
  std::mt19937 rng(7);
  const char kAlphabet[] = {'a', '.', '\r', '\n', 'x', ' '};
  for (int iter = 0; iter < 3000; iter++) {
    std::string in;
    int len = rng() % 80;
    for (int k = 0; k < len; k++) {
      // Mostly well-formed CRLF lines, with stray bytes now and then.
      if (rng() % 4 == 0) {
        in += "\r\n";
      } else {
        in += kAlphabet[rng() % sizeof(kAlphabet)];
      }
    }
    if (rng() % 2) in += "\r\n.\r\nNEXT";
    uint64_t max = rng() % 3 ? 1 << 20 : rng() % 40;
    size_t chunk = 1 + rng() % 9;
    Reference ref{max};
    ref.Run(in);
    Out o = Read(in, max, chunk);
    ASSERT_EQ(o.state, ref.state) << iter;
    ASSERT_EQ(o.data, ref.data) << iter;
    ASSERT_EQ(o.consumed, ref.consumed) << iter;
    ASSERT_EQ(o.too_big, ref.count > max) << iter;
  }
}

TEST(DotReaderTest, UnstuffsAndEnds) {
  auto o = Read(
      ".From: x\r\n.Muahahahaha\r\n..x\r\n..\r\n.This is stuffy.\r\n"
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
  for (const char* bad :
       {".\n", "xxx\n.\n", "a\r\n.\n", "a\n.\r\n", "a\r\r\n.\r\n",
        "a\rb\r\n.\r\n", "a\r\n.\r.\r\n", "a\r\n.\rMAIL FROM:<x@y>\r\n"}) {
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
