#include "spf/spf.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "nettrace/trace.h"
#include "spf/fake_resolver.h"

namespace chasquid::spf {
namespace {

using testing::FakeResolver;
using testing::RunCheck;

TEST(SPFTest, ErrorTexts) {
  FakeResolver r;
  r.Add("pass.example", "TXT", "v=spf1 ip4:192.0.2.0/24 -all");
  r.Add("mx.example", "TXT", "v=spf1 mx -all");
  r.Add("mx.example", "MX", "mail.mx.example", 10);
  r.Add("mail.mx.example", "A", "192.0.2.9");
  r.Add("inc.example", "TXT", "v=spf1 include:mx.example ~all");
  r.Add("two.example", "TXT", "v=spf1 -all");
  r.Add("two.example", "TXT", "v=spf1 +all");
  r.Add("neutral.example", "TXT", "v=spf1 ip4:10.0.0.1");
  r.Add("bad.example", "TXT", "v=spf1 bogus");
  r.Add("other.example", "TXT", "hello");

  auto check = [&](const char* sender, const char* ip) {
    CheckResult res = RunCheck(r, ip, "helo.example", sender);
    return std::string(ToString(res.verdict)) + " (" + res.ErrorText() + ")";
  };
  EXPECT_EQ(check("a@pass.example", "192.0.2.1"), "pass (matched ip)");
  EXPECT_EQ(check("a@pass.example", "192.0.3.1"), "fail (matched all)");
  EXPECT_EQ(check("a@mx.example", "192.0.2.9"), "pass (matched mx)");
  EXPECT_EQ(check("a@inc.example", "::ffff:192.0.2.9"), "pass (matched mx)");
  EXPECT_EQ(check("a@inc.example", "192.0.2.8"), "softfail (matched all)");
  EXPECT_EQ(check("a@two.example", "192.0.2.8"),
            "permerror (multiple matching DNS records)");
  EXPECT_EQ(check("a@neutral.example", "192.0.2.8"), "neutral (<nil>)");
  EXPECT_EQ(check("a@bad.example", "192.0.2.8"), "permerror (unknown field)");
  EXPECT_EQ(check("a@other.example", "192.0.2.8"),
            "none (no DNS record found)");
  EXPECT_EQ(check("a@nxdomain.example", "192.0.2.8"),
            "none (no DNS record found)");
  EXPECT_EQ(check("a@error.example", "192.0.2.8"), "temperror (DNS timeout)");
}

// Single-label domains (hosts like "srv-a" on a private network) are looked
// up like any other: their own records decide, and no record gives "none".
TEST(SPFTest, SingleLabelDomains) {
  FakeResolver r;
  r.Add("srv-a", "TXT", "v=spf1 mx -all");
  r.Add("srv-a", "MX", "srv-a", 10);
  r.Add("srv-a", "A", "192.0.2.7");
  auto check = [&](const char* sender, const char* ip) {
    CheckResult res = RunCheck(r, ip, "helo.example", sender);
    return std::string(ToString(res.verdict)) + " (" + res.ErrorText() + ")";
  };
  EXPECT_EQ(check("userA@srv-a", "192.0.2.7"), "pass (matched mx)");
  EXPECT_EQ(check("userA@srv-a", "192.0.2.8"), "fail (matched all)");
  EXPECT_EQ(check("userA@srv-b", "192.0.2.8"), "none (no DNS record found)");
}

TEST(SPFTest, LookupLimits) {
  FakeResolver r;
  // 11 includes of a domain that does not match: the 11th is over the limit.
  std::string rec = "v=spf1";
  for (int i = 0; i < 11; ++i) rec += " include:n.example";
  r.Add("many.example", "TXT", rec + " -all");
  r.Add("ten.example", "TXT",
        "v=spf1 a:n.example a:n.example a:n.example a:n.example a:n.example "
        "a:n.example a:n.example a:n.example a:n.example a:n.example -all");
  r.Add("n.example", "TXT", "v=spf1 ?all");
  r.Add("n.example", "A", "10.0.0.1");
  r.Add("voids.example", "TXT",
        "v=spf1 a:v1.example a:v2.example a:v3.example -all");
  r.Add("twovoids.example", "TXT", "v=spf1 a:v1.example a:v2.example -all");
  EXPECT_EQ(RunCheck(r, "192.0.2.1", "h", "x@many.example").error,
            "lookup limit reached");
  EXPECT_EQ(RunCheck(r, "192.0.2.1", "h", "x@ten.example").verdict,
            Verdict::kFail);
  EXPECT_EQ(RunCheck(r, "192.0.2.1", "h", "x@voids.example").error,
            "void lookup limit reached");
  EXPECT_EQ(RunCheck(r, "192.0.2.1", "h", "x@twovoids.example").verdict,
            Verdict::kFail);
}

TEST(SPFTest, Results) {
  FakeResolver r;
  r.Add("q.example", "TXT", "v=spf1 ?ip4:192.0.2.1 ~ip4:192.0.2.2 -all");
  r.Add("inc.example", "TXT", "v=spf1 include:nothing.example");
  r.Add("red.example", "TXT", "v=spf1 redirect=q.example");
  r.Add("p.example", "TXT", "v=spf1 ptr -all");
  r.Add("1.2.0.192.in-addr.arpa", "PTR", "mail.p.example");
  r.Add("mail.p.example", "A", "192.0.2.1");
  r.Add("2.2.0.192.in-addr.arpa", "PTR", "liar.p.example");
  r.Add("liar.p.example", "A", "192.0.2.99");
  EXPECT_EQ(RunCheck(r, "192.0.2.1", "h", "a@q.example").verdict,
            Verdict::kNeutral);
  EXPECT_EQ(RunCheck(r, "192.0.2.2", "h", "a@q.example").verdict,
            Verdict::kSoftFail);
  EXPECT_EQ(RunCheck(r, "192.0.2.2", "h", "a@inc.example").verdict,
            Verdict::kPermError);
  EXPECT_EQ(RunCheck(r, "192.0.2.2", "h", "a@red.example").verdict,
            Verdict::kSoftFail);
  EXPECT_EQ(RunCheck(r, "192.0.2.1", "h", "a@p.example").error, "matched ptr");
  // The PTR name does not resolve back to the client: not validated.
  EXPECT_EQ(RunCheck(r, "192.0.2.2", "h", "a@p.example").verdict,
            Verdict::kFail);
  // Null sender: postmaster@<helo>.
  EXPECT_EQ(RunCheck(r, "192.0.2.2", "q.example", "").verdict,
            Verdict::kSoftFail);
}

TEST(SPFTest, ChildTrace) {
  FakeResolver r;
  r.Add("q.example", "TXT", "v=spf1 -all");
  nettrace::Trace parent("SMTP.Conn", "test");
  Options opts;
  opts.parent = &parent;
  net::io_context io;
  CheckResult out;
  net::co_spawn(io,
                CheckHostWithSender(r, "192.0.2.1", "h", "a@q.example", opts),
                [&out](std::exception_ptr, CheckResult res) { out = res; });
  io.run();
  EXPECT_EQ(out.verdict, Verdict::kFail);
}

}  // namespace
}  // namespace chasquid::spf
