#include "smtp/headers.h"

#include <gtest/gtest.h>

namespace chasquid::smtp {
namespace {

TEST(HeadersTest, CountsReceived) {
  EXPECT_EQ(*CountReceivedHeaders("Received: a\nreceived: b\n\tc\n"
                                  "RECEIVED: d\nX: y\n\nReceived: body\n"),
            3);
  EXPECT_EQ(*CountReceivedHeaders("Subject: x\n"), 0);
  EXPECT_EQ(*CountReceivedHeaders("Subject: x"), 0);
  EXPECT_EQ(*CountReceivedHeaders("\nbody only\n"), 0);
  EXPECT_EQ(*CountReceivedHeaders("Received : x\n\n"), 0);  // Not a token.
}

TEST(HeadersTest, ErrorsMatchGo) {
  EXPECT_EQ(CountReceivedHeaders("").status().message(), "EOF");
  EXPECT_EQ(CountReceivedHeaders(" x: y\n").status().message(),
            "malformed initial line:  x: y");
  EXPECT_EQ(CountReceivedHeaders("Subject: x\nBad header\n\nbody\n")
                .status()
                .message(),
            "malformed header line: Bad header");
  EXPECT_EQ(CountReceivedHeaders(": empty\n").status().message(), "EOF");
}

TEST(HeadersTest, PrependFolds) {
  std::string m = "Subject: x\n";
  PrependHeader(&m, "Received", "from a\nby b\n; date\n");
  EXPECT_EQ(m, "Received: from a\n\tby b\n\t; date\nSubject: x\n");
  m = "";
  PrependHeader(&m, "Authentication-Results", "host\r\n;spf=pass (x)");
  EXPECT_EQ(m, "Authentication-Results: host\r\n\t;spf=pass (x)\n");
}

}  // namespace
}  // namespace chasquid::smtp
