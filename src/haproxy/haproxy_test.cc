#include "haproxy/haproxy.h"

#include <gtest/gtest.h>

namespace chasquid::haproxy {
namespace {

TEST(HaproxyTest, Valid) {
  auto e = Parse("PROXY TCP4 1.2.3.4 5.6.7.8 1234 25\r\n");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->src_ip, "1.2.3.4");
  EXPECT_EQ(e->src_port, 1234);
  EXPECT_EQ(e->dst_ip, "5.6.7.8");
  EXPECT_EQ(e->dst_port, 25);
  e = Parse("PROXY TCP6 ::1 1.2.3.4 65535 0\n");  // Families not checked.
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->src_ip, "::1");
}

TEST(HaproxyTest, ErrorsAreChasquids) {
  struct Case {
    const char* line;
    const char* err;
  } cases[] = {
      {"\r\n", "invalid protocol identifier"},
      {"PROXY\r\n", "invalid protocol identifier"},
      {"EHLO x\r\n", "invalid protocol identifier"},
      {"PROXY UNKNOWN\r\n", "unknown protocol"},
      {"PROXY TCP5 a b c d\r\n", "unknown protocol"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "invalid number of fields"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "invalid number of fields"},
      {"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "invalid src ip"},
      {"PROXY TCP4 1.2.3.4 x 1 2\r\n", "invalid dst ip"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "invalid src port"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "invalid src port"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 x\r\n", "invalid dst port"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Parse(c.line).status().message(), c.err) << c.line;
  }
}

}  // namespace
}  // namespace chasquid::haproxy
