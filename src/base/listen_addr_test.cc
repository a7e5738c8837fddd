#include "base/listen_addr.h"

#include <gtest/gtest.h>

namespace chasquid {
namespace {

TEST(ListenAddrTest, Forms) {
  auto a = ParseListenAddr("127.0.0.1:25");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 25);
  auto b = ParseListenAddr("[::1]:587");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 587);
  auto c = ParseListenAddr(":1099");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "");
  EXPECT_EQ(c->port, 1099);
  // A service name, from /etc/services (netbase).
  auto d = ParseListenAddr("localhost:smtp");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->port, 25);
}

TEST(ListenAddrTest, GoErrors) {
  EXPECT_EQ(ParseListenAddr("localhost").status().message(),
            "address localhost: missing port in address");
  EXPECT_EQ(ParseListenAddr("localhost:nosuchservice").status().message(),
            "lookup tcp/nosuchservice: unknown port");
  EXPECT_EQ(ParseListenAddr("localhost:70000").status().message(),
            "lookup tcp/70000: unknown port");
}

}  // namespace
}  // namespace chasquid
