// The DNS reply parser used for TLSA lookups, and the loopback check that
// decides whether a resolver's AD bit is believed.
#include <string>

#include <gtest/gtest.h>

#include "dns/dns.h"

namespace chasquid::dns {
namespace {

std::string Name(const std::string& dotted) {
  std::string out;
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    out += static_cast<char>(dot - start);
    out += dotted.substr(start, dot - start);
    start = dot + 1;
  }
  return out + std::string(1, '\0');
}

std::string U16(unsigned v) {
  return std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
}

// A reply for _25._tcp.mx.test TLSA with `answers` TLSA records whose
// owner is a compression pointer to the question name.
std::string Reply(int rcode, bool ad, int answers) {
  std::string m = U16(0x1234);
  m += static_cast<char>(0x81);  // QR, RD
  m += static_cast<char>(0x80 | (ad ? 0x20 : 0) | rcode);
  m += U16(1) + U16(answers) + U16(0) + U16(0);
  m += Name("_25._tcp.mx.test") + U16(52) + U16(1);
  for (int i = 0; i < answers; i++) {
    std::string rdata = {3, 1, 1};
    rdata += std::string(32, static_cast<char>(0xa0 + i));
    m += U16(0xc00c) + U16(52) + U16(1) + U16(0) + U16(300) +
         U16(rdata.size()) + rdata;
  }
  return m;
}

TEST(ParseTLSAReply, RecordsRcodeAndAD) {
  auto r = ParseTLSAReply(Reply(0, true, 2));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->rcode, 0);
  EXPECT_TRUE(r->ad);
  ASSERT_EQ(r->records.size(), 2u);
  EXPECT_EQ(r->records[0].usage, 3);
  EXPECT_EQ(r->records[0].selector, 1);
  EXPECT_EQ(r->records[0].matching_type, 1);
  EXPECT_EQ(r->records[1].data, std::string(32, static_cast<char>(0xa1)));
  EXPECT_EQ(r->answers, 2);

  r = ParseTLSAReply(Reply(3, false, 0));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rcode, 3);
  EXPECT_FALSE(r->ad);
  EXPECT_TRUE(r->records.empty());
}

TEST(ParseTLSAReply, OtherTypesAreSkipped) {
  std::string m = Reply(0, true, 0);
  m[7] = 1;  // One answer: a CNAME, then nothing else.
  std::string target = Name("x.test");
  m += U16(0xc00c) + U16(5) + U16(1) + U16(0) + U16(300) + U16(target.size()) +
       target;
  auto r = ParseTLSAReply(m);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->records.empty());
  // Still an answer: what MXInsecure counts for MX replies.
  EXPECT_EQ(r->answers, 1);
}

TEST(ParseTLSAReply, MalformedIsAnError) {
  EXPECT_FALSE(ParseTLSAReply("").ok());
  EXPECT_FALSE(ParseTLSAReply(std::string(11, '\0')).ok());
  std::string m = Reply(0, true, 1);
  for (size_t cut = 12; cut < m.size(); cut++) {
    EXPECT_FALSE(ParseTLSAReply(m.substr(0, cut)).ok()) << cut;
  }
  // A label length with the reserved 0x40 bit.
  std::string bad = Reply(0, true, 0);
  bad[12] = 0x40;
  EXPECT_FALSE(ParseTLSAReply(bad).ok());
}

TEST(IsLoopbackServer, Addresses) {
  EXPECT_TRUE(IsLoopbackServer("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackServer("127.0.0.53:53"));
  EXPECT_TRUE(IsLoopbackServer("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackServer("::1"));
  EXPECT_TRUE(IsLoopbackServer("[::1]:5353"));
  EXPECT_FALSE(IsLoopbackServer("192.0.2.1"));
  EXPECT_FALSE(IsLoopbackServer("192.0.2.1:53"));
  EXPECT_FALSE(IsLoopbackServer("2001:db8::1"));
  EXPECT_FALSE(IsLoopbackServer("[::ffff:127.0.0.1]:53"));
  EXPECT_FALSE(IsLoopbackServer("localhost"));
  EXPECT_FALSE(IsLoopbackServer(""));
}

}  // namespace
}  // namespace chasquid::dns
