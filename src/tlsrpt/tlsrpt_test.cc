#include <zlib.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "testlib/testlib.h"
#include "tlsrpt/https.h"
#include "tlsrpt/report.h"
#include "tlsrpt/reporter.h"
#include "tlsrpt/store.h"

namespace chasquid::tlsrpt {
namespace {

using testlib::TempDir;

SessionResult Failure(const std::string& domain, ResultType t,
                      const std::string& mx) {
  SessionResult r;
  r.policy_domain = domain;
  r.policy_type = PolicyType::kSts;
  r.policy_strings = {"version: STSv1", "mode: enforce", "mx: *.a.example"};
  r.mx_patterns = {"*.a.example"};
  r.mx_host = mx;
  r.success = false;
  r.result = t;
  return r;
}

TEST(TlsRptTest, NamesAreTheRfcs) {
  ASSERT_EQ(AllResultTypes().size(), 11u);
  EXPECT_STREQ(ResultTypeName(ResultType::kStarttlsNotSupported),
               "starttls-not-supported");
  EXPECT_STREQ(ResultTypeName(ResultType::kDaneRequired), "dane-required");
  EXPECT_STREQ(ResultTypeName(ResultType::kDnssecInvalid), "dnssec-invalid");
  EXPECT_STREQ(PolicyTypeName(PolicyType::kNoPolicyFound), "no-policy-found");
}

TEST(TlsRptTest, StoreSurvivesReopenAndIsBounded) {
  TempDir dir;
  Store::Limits lim;
  lim.max_domains = 2;
  lim.max_failure_rows = 2;
  lim.max_days = 2;
  auto now = std::chrono::system_clock::now();
  {
    auto st = Store::Open(dir.path(), lim);
    ASSERT_TRUE(st.ok());
    SessionResult ok;
    ok.policy_domain = "a.example";
    (*st)->RecordAt(ok, now);
    (*st)->RecordAt(
        Failure("a.example", ResultType::kCertificateExpired, "mx1.a.example"),
        now);
    (*st)->RecordAt(
        Failure("a.example", ResultType::kCertificateExpired, "mx1.a.example"),
        now);
    (*st)->RecordAt(Failure("a.example", ResultType::kStarttlsNotSupported,
                            "mx2.a.example"),
                    now);
    // A third row is over the limit: counted in the summary only.
    (*st)->RecordAt(
        Failure("a.example", ResultType::kValidationFailure, "mx3.a.example"),
        now);
    (*st)->RecordAt(ok, now);
    SessionResult b = ok;
    b.policy_domain = "b.example";
    (*st)->RecordAt(b, now);
    // A third domain is over the limit; an unsafe name is never kept.
    b.policy_domain = "c.example";
    (*st)->RecordAt(b, now);
    b.policy_domain = "../etc";
    (*st)->RecordAt(b, now);
    // Three days: the oldest is dropped.
    b.policy_domain = "b.example";
    (*st)->RecordAt(b, now - std::chrono::hours(48));
    (*st)->RecordAt(b, now - std::chrono::hours(24));
  }
  auto st = Store::Open(dir.path(), lim);
  ASSERT_TRUE(st.ok());
  std::string today = Store::DayOf(now);
  std::vector<std::string> days = (*st)->Days();
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days.back(), today);
  auto recs = (*st)->Day(today);
  ASSERT_EQ(recs.size(), 2u);
  const DomainDay& a = recs[0];
  EXPECT_EQ(a.domain, "a.example");
  ASSERT_EQ(a.policies.size(), 2u);  // no-policy-found and sts.
  const PolicyRecord& sts = a.policies[1];
  EXPECT_EQ(sts.type, PolicyType::kSts);
  EXPECT_EQ(sts.failures, 4);
  ASSERT_EQ(sts.rows.size(), 2u);
  EXPECT_EQ(sts.rows[0].result, ResultType::kCertificateExpired);
  EXPECT_EQ(sts.rows[0].count, 2);
  EXPECT_EQ(a.policies[0].successes, 2);

  (*st)->Forget(today, "a.example");
  EXPECT_EQ((*st)->Day(today).size(), 1u);
  EXPECT_FALSE(
      std::filesystem::exists(dir.path() + "/" + today + "/a.example"));
}

TEST(TlsRptTest, AddressesAreKeptAndReported) {
  TempDir dir;
  auto now = std::chrono::system_clock::now();
  {
    auto st = Store::Open(dir.path(), Store::Limits{});
    ASSERT_TRUE(st.ok());
    SessionResult f =
        Failure("a.example", ResultType::kTlsaInvalid, "mx1.a.example");
    f.policy_type = PolicyType::kTlsa;
    f.policy_strings = {"3 1 1 ab"};
    f.mx_patterns.clear();
    f.receiving_ip = "192.0.2.1";
    f.sending_ip = "198.51.100.7";
    (*st)->RecordAt(f, now);
    (*st)->RecordAt(f, now);
    // Another sending address is another row.
    f.sending_ip = "198.51.100.8";
    (*st)->RecordAt(f, now);
  }
  auto st = Store::Open(dir.path(), Store::Limits{});
  ASSERT_TRUE(st.ok());
  auto recs = (*st)->Day(Store::DayOf(now));
  ASSERT_EQ(recs.size(), 1u);
  ASSERT_EQ(recs[0].policies.size(), 1u);
  const PolicyRecord& p = recs[0].policies[0];
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.rows[0].sending_ip, "198.51.100.7");
  EXPECT_EQ(p.rows[0].receiving_ip, "192.0.2.1");
  EXPECT_EQ(p.rows[0].count, 2);
  std::string json =
      ReportJson(recs[0], ReportParams{"o", "c", "id", "s", "e"});
  EXPECT_NE(json.find("\"sending-mta-ip\":\"198.51.100.7\""), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"receiving-ip\":\"192.0.2.1\""), std::string::npos);
  EXPECT_NE(json.find("\"policy-type\":\"tlsa\""), std::string::npos);
}

TEST(TlsRptTest, ParseRecord) {
  auto r = ParseRecord("v=TLSRPTv1; rua=mailto:a@b.example, https://r/x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r,
            (std::vector<std::string>{"mailto:a@b.example", "https://r/x"}));
  EXPECT_FALSE(ParseRecord("v=STSv1; id=1").ok());
  EXPECT_FALSE(ParseRecord("v=TLSRPTv1;").ok());
}

TEST(TlsRptTest, ParseHttpsUrl) {
  auto u = ParseHttpsUrl("https://r.example:8443/a/b");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "r.example");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->path, "/a/b");
  u = ParseHttpsUrl("HTTPS://r.example");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->path, "/");
  EXPECT_FALSE(ParseHttpsUrl("http://r.example/").ok());
  EXPECT_FALSE(ParseHttpsUrl("https:///x").ok());
  EXPECT_FALSE(ParseHttpsUrl("https://r.example:0/").ok());
}

TEST(TlsRptTest, GzipIsGzip) {
  std::string text(10000, 'x');
  auto gz = Gzip(text);
  ASSERT_TRUE(gz.ok());
  ASSERT_GT(gz->size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[1]), 0x8b);
  z_stream zs{};
  ASSERT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(20000, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(gz->data());
  zs.avail_in = gz->size();
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = out.size();
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  EXPECT_EQ(out, text);
}

TEST(TlsRptTest, MailHeaders) {
  MailParams p;
  p.from = "tlsrpt@mx.example";
  p.to = {"r@d.example"};
  p.domain = "d.example";
  p.submitter = "mx.example";
  p.report_id = "id1";
  p.boundary = "BND";
  std::string m = ReportMail(p, "gz");
  EXPECT_NE(m.find("TLS-Report-Domain: d.example\n"), std::string::npos);
  EXPECT_NE(m.find("TLS-Report-Submitter: mx.example\n"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: multipart/report; report-type=\"tlsrpt\";"),
            std::string::npos);
  EXPECT_NE(m.find("Content-Type: application/tlsrpt+gzip\n"),
            std::string::npos);
  EXPECT_NE(m.find("\n--BND--\n"), std::string::npos);
}

// The reporter against a fake zone: a domain whose TXT lookup fails for
// now is kept for the next run, one without a record is forgotten without
// a report, and one with a record gets its mail, whose attachment is the
// report of that domain's day.
TEST(TlsRptTest, ReporterRun) {
  TempDir dir;
  auto st = Store::Open(dir.path(), Store::Limits{});
  ASSERT_TRUE(st.ok());
  for (const char* d : {"rpt.example", "none.example", "flaky.example"}) {
    (*st)->Record(
        Failure(d, ResultType::kCertificateExpired, "mx." + std::string(d)));
  }
  testlib::FakeResolver dns;
  dns.Add("_smtp._tls.rpt.example", "TXT",
          "v=TLSRPTv1; rua=mailto:r@rpt.example,mailto:s@rpt.example");
  dns.Add("none.example", "MX", "mx.none.example", 10);
  dns.Fail("_smtp._tls.flaky.example", Status::Transient("timeout"));
  struct Sent {
    std::string from;
    std::vector<std::string> to;
    std::string data;
  };
  std::vector<Sent> sent;
  ReporterOptions o;
  o.store = st->get();
  o.resolver = &dns;
  o.submitter = "mx.us.example";
  o.from = "tlsrpt@us.example";
  o.put = [&sent](std::string from, std::vector<std::string> to,
                  std::shared_ptr<const std::string> data)
      -> net::awaitable<Result<std::string>> {
    sent.push_back({from, to, *data});
    co_return std::string("id1");
  };
  Reporter r(std::move(o));
  int64_t before = ReportCount()->Value("sent");
  testlib::Await(r.RunOnce(/*include_today=*/false));
  EXPECT_TRUE(sent.empty());  // Today's records wait for the day's end.
  testlib::Await(r.RunOnce(/*include_today=*/true));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].from, "tlsrpt@us.example");
  EXPECT_EQ(sent[0].to,
            (std::vector<std::string>{"r@rpt.example", "s@rpt.example"}));
  EXPECT_NE(sent[0].data.find("TLS-Report-Domain: rpt.example\n"),
            std::string::npos);
  EXPECT_EQ(ReportCount()->Value("sent") - before, 2);
  std::string today = Store::DayOf(std::chrono::system_clock::now());
  auto left = (*st)->Day(today);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].domain, "flaky.example");
}

}  // namespace
}  // namespace chasquid::tlsrpt
