#include "limits/client_key.h"

#include <gtest/gtest.h>

namespace chasquid::limits {
namespace {

TEST(ClientKeyTest, Ipv4IsItself) {
  EXPECT_EQ(ClientKey("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(ClientKey("127.0.0.2"), "127.0.0.2");
}

TEST(ClientKeyTest, Ipv6GroupsBySlash64) {
  EXPECT_EQ(ClientKey("2001:db8:1:2:3::4"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientKey("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
  EXPECT_NE(ClientKey("2001:db8:1:3::1"), ClientKey("2001:db8:1:2::1"));
  EXPECT_EQ(ClientKey("::1"), "::/64");
}

TEST(ClientKeyTest, MappedIpv4CountsAsIpv4) {
  EXPECT_EQ(ClientKey("::ffff:192.0.2.7"), "192.0.2.7");
}

TEST(ClientKeyTest, UnparsableIsUnchanged) {
  EXPECT_EQ(ClientKey("unix"), "unix");
  EXPECT_EQ(ClientKey(""), "");
}

}  // namespace
}  // namespace chasquid::limits
