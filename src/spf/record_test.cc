#include "spf/record.h"

#include <gtest/gtest.h>

namespace chasquid::spf {
namespace {

TEST(RecordTest, IsSPFRecord) {
  EXPECT_TRUE(IsSPFRecord("v=spf1"));
  EXPECT_TRUE(IsSPFRecord("V=SPF1 -all"));
  EXPECT_FALSE(IsSPFRecord("v=spf10"));
  EXPECT_FALSE(IsSPFRecord("v=spf1\t-all"));
  EXPECT_FALSE(IsSPFRecord("spf1"));
}

TEST(RecordTest, ParsesMechanisms) {
  auto r = ParseRecord(
      "v=spf1 +a -mx:example.com/24//64 ~ip4:192.0.2.0/24 ?ip6:2001:db8::/32 "
      "include:_spf.example.net exists:%{i}.x.example ptr redirect=e.example "
      "exp=explain.%{d} foo=bar -all");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->mechanisms.size(), 8u);
  EXPECT_EQ(r->mechanisms[1].kind, Term::Kind::kMX);
  EXPECT_EQ(r->mechanisms[1].qualifier, Qualifier::kFail);
  EXPECT_EQ(r->mechanisms[1].domain_spec, "example.com");
  EXPECT_EQ(r->mechanisms[1].cidr4, 24);
  EXPECT_EQ(r->mechanisms[1].cidr6, 64);
  EXPECT_EQ(r->mechanisms[2].cidr4, 24);
  EXPECT_EQ(r->mechanisms[3].cidr6, 32);
  EXPECT_FALSE(r->mechanisms[3].ip.v4);
  ASSERT_TRUE(r->redirect);
  EXPECT_EQ(r->redirect->domain_spec, "e.example");
  ASSERT_TRUE(r->exp);
}

TEST(RecordTest, SyntaxErrors) {
  for (const char* bad :
       {"v=spf1 a:foo-bar", "v=spf1 moo", "v=spf1 ip4:1.2.3.4/33",
        "v=spf1 ip4:01.2.3.4", "v=spf1 a/0032", "v=spf1 all:x",
        "v=spf1 redirect=a.com redirect=b.com",
        "v=spf1 include:", "v=spf1 ptr/24", "v=spf1 a:%{x}.com", "v=spf1 a\tmx",
        "v=spf1 exists:%{d0}.com", "v=spf1 ip6:1.2.3.4"}) {
    EXPECT_FALSE(ParseRecord(bad).ok()) << bad;
  }
}

// The examples of RFC 7208 §7.4.
TEST(MacroTest, RFCExamples) {
  MacroContext ctx;
  ctx.sender = "strong-bad@email.example.com";
  ctx.domain = "email.example.com";
  ctx.ip = *IP::Parse("192.0.2.3");
  auto x = [&](const char* s) {
    auto r = ExpandDomainSpec(s, ctx);
    return r.ok() ? *r : "ERROR";
  };
  EXPECT_EQ(x("%{s}"), "strong-bad@email.example.com");
  EXPECT_EQ(x("%{o}"), "email.example.com");
  EXPECT_EQ(x("%{d}"), "email.example.com");
  EXPECT_EQ(x("%{d4}"), "email.example.com");
  EXPECT_EQ(x("%{d3}"), "email.example.com");
  EXPECT_EQ(x("%{d2}"), "example.com");
  EXPECT_EQ(x("%{d1}"), "com");
  EXPECT_EQ(x("%{dr}"), "com.example.email");
  EXPECT_EQ(x("%{d2r}"), "example.email");
  EXPECT_EQ(x("%{l}"), "strong-bad");
  EXPECT_EQ(x("%{l-}"), "strong.bad");
  EXPECT_EQ(x("%{lr}"), "strong-bad");
  EXPECT_EQ(x("%{lr-}"), "bad.strong");
  EXPECT_EQ(x("%{l1r-}"), "strong");
  EXPECT_EQ(x("%{ir}.%{v}._spf.%{d2}"), "3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(x("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
  EXPECT_EQ(x("%{d2}.trusted-domains.example.net"),
            "example.com.trusted-domains.example.net");
  EXPECT_EQ(x("%{S}"), "strong-bad%40email.example.com");
  EXPECT_EQ(x("%%%_%-"), "% %20");
  ctx.ip = *IP::Parse("2001:db8::cb01");
  EXPECT_EQ(x("%{ir}.%{v}._spf.%{d2}"),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
            ".ip6._spf.example.com");
  EXPECT_EQ(x("%{d0}"), "ERROR");
  EXPECT_EQ(x("%{x}"), "ERROR");
}

TEST(IPTest, ParseAndPrefix) {
  auto mapped = IP::Parse("::ffff:192.0.2.1");
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(mapped->v4);
  EXPECT_TRUE(mapped->InPrefix(*IP::Parse("192.0.2.0"), 24));
  EXPECT_FALSE(mapped->InPrefix(*IP::Parse("192.0.3.0"), 24));
  EXPECT_TRUE(IP::Parse("2001:db8::1")->InPrefix(*IP::Parse("2001:db8::"), 32));
  EXPECT_FALSE(IP::Parse("1.2.3.4")->InPrefix(*IP::Parse("::"), 0));
  EXPECT_FALSE(IP::Parse("1.2.3"));
}

TEST(DomainTest, Valid) {
  EXPECT_TRUE(ValidDomainName("example.com."));
  EXPECT_TRUE(ValidDomainName("srv-a"));  // Looked up, as chasquid does.
  EXPECT_FALSE(ValidDomainName("."));
  EXPECT_FALSE(ValidDomainName(""));
  EXPECT_FALSE(ValidDomainName("a..com"));
  EXPECT_FALSE(ValidDomainName(std::string(64, 'a') + ".com"));
}

}  // namespace
}  // namespace chasquid::spf
