#include "dns/answers.h"

#include <ares.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace chasquid::dns {
namespace {

// An answer to "x.com MX" with one record per (preference, wire name).
std::string MXAnswer(const std::vector<std::pair<int, std::string>>& rrs) {
  std::string m("\x00\x01\x81\x80\x00\x01", 6);
  m += static_cast<char>(0);
  m += static_cast<char>(rrs.size());
  m += std::string("\x00\x00\x00\x00", 4);
  m += std::string(
      "\x01x\x03"
      "com\x00\x00\x0f\x00\x01",
      11);
  for (const auto& [pref, name] : rrs) {
    m += std::string("\xc0\x0c\x00\x0f\x00\x01\x00\x00\x00\x3c", 10);
    size_t len = 2 + name.size();
    m += static_cast<char>(len >> 8);
    m += static_cast<char>(len & 0xff);
    m += static_cast<char>(pref >> 8);
    m += static_cast<char>(pref & 0xff);
    m += name;
  }
  return m;
}

TEST(AnswersTest, MXNamesWithoutTrailingDot) {
  std::vector<MX> mxs;
  ASSERT_EQ(ParseMXAnswer(MXAnswer({{10, std::string("\x02mx\x01x\x03"
                                                     "com\x00",
                                                     10)}}),
                          &mxs),
            ARES_SUCCESS);
  ASSERT_EQ(mxs.size(), 1u);
  EXPECT_EQ(mxs[0].host, "mx.x.com");
  EXPECT_EQ(mxs[0].preference, 10);
}

// Found by dns_answer_fuzz: a label ending in a literal dot came back from
// c-ares as "mx\." and lost its dot as if it were the root's.
TEST(AnswersTest, MXNamesWithEscapedBytesAreDropped) {
  std::vector<MX> mxs;
  ASSERT_EQ(ParseMXAnswer(MXAnswer({{10, std::string("\x03mx.\x00", 5)},
                                    {20, std::string("\x02mx\x00", 4)}}),
                          &mxs),
            ARES_SUCCESS);
  ASSERT_EQ(mxs.size(), 1u);
  EXPECT_EQ(mxs[0].host, "mx");
  EXPECT_EQ(mxs[0].preference, 20);
}

TEST(AnswersTest, GarbageIsAnError) {
  std::vector<MX> mxs;
  EXPECT_NE(ParseMXAnswer("garbage", &mxs), ARES_SUCCESS);
  EXPECT_TRUE(mxs.empty());
  std::vector<std::string> txts;
  EXPECT_NE(ParseTXTAnswer("", &txts), ARES_SUCCESS);
  EXPECT_TRUE(txts.empty());
}

}  // namespace
}  // namespace chasquid::dns
