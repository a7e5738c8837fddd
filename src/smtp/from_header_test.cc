#include "smtp/from_header.h"

#include <gtest/gtest.h>

namespace chasquid::smtp {
namespace {

using V = std::vector<std::string>;

Result<V> From(const std::string& value) {
  return HeaderFromAddresses("Subject: x\r\nFrom:" + value +
                             "\r\nTo: y@z\r\n\r\nFrom: body@x\r\n");
}

TEST(FromHeaderTest, FromForms) {
  EXPECT_EQ(*From(" a@b"), V{"a@b"});
  EXPECT_EQ(*From(" Name <a@b>"), V{"a@b"});
  EXPECT_EQ(*From(" \"Last, First\" <a@b>, c@d"), (V{"a@b", "c@d"}));
  EXPECT_EQ(*From(" a@b (Comment, <x@y>)"), V{"a@b"});
  EXPECT_EQ(*From(" Friends: a@b, C <c@d>;"), (V{"a@b", "c@d"}));
  EXPECT_EQ(*From(" <@relay:a@b>"), V{"a@b"});
  // Folded.
  EXPECT_EQ(*HeaderFromAddresses("fROM: Name\n <a@b>\n\nbody"), V{"a@b"});
}

TEST(FromHeaderTest, QuotedLocalPartsStayQuoted) {
  EXPECT_EQ(*From(" \"john doe\"@d"), V{"\"john doe\"@d"});
  EXPECT_EQ(*From(" Name <\"a\\\"b\"@d>"), V{"\"a\\\"b\"@d"});
}

TEST(FromHeaderTest, DisplayNameCannotPassForTheAddress) {
  EXPECT_EQ(*From(" \"boss@corp <boss@corp>\" <me@corp>"), V{"me@corp"});
  EXPECT_EQ(*From(" boss@corp <me@corp>"), V{"me@corp"});
}

TEST(FromHeaderTest, Errors) {
  auto msg = [](const Result<V>& r) { return r.status().message(); };
  EXPECT_EQ(msg(HeaderFromAddresses("Subject: x\n\nFrom: a@b\n")),
            "no From header");
  EXPECT_EQ(msg(HeaderFromAddresses("From: a@b\nFrom: c@d\n\n")),
            "more than one From header");
  EXPECT_EQ(msg(From(" ")), "empty From header");
  EXPECT_EQ(msg(From(" undisclosed:;")), "empty From header");
  for (const char* bad : {" <a@b", " a@b>", " \"a@b", " (a@b", " nobody",
                          " <a@b> <c@d>", " <a@b> trailing", " <a@<b>>"}) {
    EXPECT_EQ(msg(From(bad)), "malformed From header") << bad;
  }
}

}  // namespace
}  // namespace chasquid::smtp
