#include <gtest/gtest.h>

#include "haproxy/haproxy.h"

namespace chasquid::haproxy {
namespace {

// A v2 header: signature, ver/cmd, fam/proto, length, then `rest`.
std::string V2(uint8_t ver_cmd, uint8_t fam, const std::string& rest,
               int len = -1) {
  std::string h(kV2Signature);
  h += static_cast<char>(ver_cmd);
  h += static_cast<char>(fam);
  size_t n = len < 0 ? rest.size() : static_cast<size_t>(len);
  h += static_cast<char>(n >> 8);
  h += static_cast<char>(n & 0xff);
  return h + rest;
}

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}

const std::string kInet =  // 192.0.2.7:40000 -> 198.51.100.1:25
    Bytes({192, 0, 2, 7, 198, 51, 100, 1, 0x9c, 0x40, 0, 25});

TEST(HaproxyV2Test, Tcp4) {
  auto e = ParseV2(V2(0x21, 0x11, kInet));
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_FALSE(e->local);
  EXPECT_EQ(e->src_ip, "192.0.2.7");
  EXPECT_EQ(e->src_port, 40000);
  EXPECT_EQ(e->dst_ip, "198.51.100.1");
  EXPECT_EQ(e->dst_port, 25);
}

TEST(HaproxyV2Test, Tcp6) {
  std::string src =
      Bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7});
  std::string dst(15, '\0');
  dst += '\1';
  auto e = ParseV2(V2(0x21, 0x21, src + dst + Bytes({0, 80, 0, 25})));
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->src_ip, "2001:db8::7");
  EXPECT_EQ(e->dst_ip, "::1");
  EXPECT_EQ(e->src_port, 80);
}

TEST(HaproxyV2Test, TlvsAreSkipped) {
  // PP2_TYPE_UNIQUE_ID (0x05) and an empty PP2_TYPE_NOOP (0x04).
  std::string tlvs = Bytes({0x05, 0, 3}) + "abc" + Bytes({0x04, 0, 0});
  auto e = ParseV2(V2(0x21, 0x11, kInet + tlvs));
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->src_ip, "192.0.2.7");
  EXPECT_EQ(ParseV2(V2(0x21, 0x11, kInet + Bytes({0x05, 0, 4}) + "abc"))
                .status()
                .message(),
            "truncated v2 TLV");
  EXPECT_EQ(
      ParseV2(V2(0x21, 0x11, kInet + Bytes({0x05, 0}))).status().message(),
      "truncated v2 TLV");
}

TEST(HaproxyV2Test, LocalKeepsThePeer) {
  auto e = ParseV2(V2(0x20, 0x00, ""));
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->local);
  EXPECT_EQ(e->src_ip, "");
  // Whatever block it carries is skipped.
  e = ParseV2(V2(0x20, 0x11, kInet + "junk"));
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->local);
}

TEST(HaproxyV2Test, SizeAndSignature) {
  EXPECT_TRUE(MaybeV2(""));
  EXPECT_TRUE(MaybeV2("\r\n\r\n"));
  EXPECT_TRUE(MaybeV2(V2(0x21, 0x11, kInet)));
  EXPECT_FALSE(MaybeV2("PROXY TCP4"));
  EXPECT_FALSE(MaybeV2("\r\n\r\nX"));

  EXPECT_EQ(*V2Size(V2(0x21, 0x11, kInet)), 28u);
  EXPECT_EQ(V2Size(V2(0x21, 0x11, "", 4096 - 16 + 1)).status().message(),
            "v2 header too long");
  EXPECT_EQ(*V2Size(V2(0x21, 0x11, "", 4096 - 16)), 4096u);
  EXPECT_EQ(V2Size("\r\n\r\n").status().message(), "v2 header too short");
  std::string bad = V2(0x21, 0x11, kInet);
  bad[11] = 'X';
  EXPECT_EQ(V2Size(bad).status().message(), "invalid v2 signature");
}

TEST(HaproxyV2Test, Errors) {
  struct Case {
    std::string header;
    const char* err;
  } cases[] = {
      {V2(0x11, 0x11, kInet), "invalid v2 version"},
      {V2(0x22, 0x11, kInet), "invalid v2 command"},
      {V2(0x21, 0x00, ""), "unsupported v2 address family"},
      {V2(0x21, 0x31, std::string(216, 'x')), "unsupported v2 address family"},
      {V2(0x21, 0x12, kInet), "unsupported v2 protocol"},
      {V2(0x21, 0x11, kInet.substr(0, 11)), "v2 address block too short"},
      {V2(0x21, 0x21, kInet), "v2 address block too short"},
      {V2(0x21, 0x11, kInet, 20), "v2 header too short"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ParseV2(c.header).status().message(), c.err) << c.err;
  }
}

}  // namespace
}  // namespace chasquid::haproxy
