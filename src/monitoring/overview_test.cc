#include "monitoring/overview.h"

#include <gtest/gtest.h>

#include "metrics/delivery_errors.h"
#include "monitoring/chart.h"
#include "monitoring/history.h"

namespace chasquid::monitoring {
namespace {

using Clock = std::chrono::system_clock;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// 2026-01-01 00:00:00 UTC, a whole hour.
const Clock::time_point kT0{seconds(1767225600)};

Counts C(int64_t sent, int64_t deferred = 0, int64_t failed = 0,
         int64_t auth = 0) {
  Counts c;
  c.sent = sent;
  c.deferred = deferred;
  c.failed = failed;
  c.auth_failures = auth;
  return c;
}

TEST(HistoryTest, DifferencesLandInTheirMinuteAndHour) {
  History h;
  h.Sample(kT0 + seconds(5), C(3, 1, 0, 2));  // Against zero: 3, 1, 0, 2.
  h.Sample(kT0 + seconds(50), C(5, 1, 1, 2));
  h.Sample(kT0 + minutes(2) + seconds(1), C(9, 4, 1, 7));
  auto mins = h.Minutes(kT0 + minutes(2) + seconds(30));
  ASSERT_EQ(mins.size(), 60u);
  EXPECT_EQ(mins[57].sent, 5);  // Minute 0.
  EXPECT_EQ(mins[57].failed, 1);
  EXPECT_EQ(mins[58].sent, 0);  // Minute 1: no sample.
  EXPECT_EQ(mins[59].sent, 4);  // Minute 2: 9 - 5.
  EXPECT_EQ(mins[59].deferred, 3);
  EXPECT_EQ(mins[59].auth_failures, 5);
  Counts hour = Total(mins);
  EXPECT_EQ(hour.sent, 9);
  EXPECT_EQ(hour.auth_failures, 7);
  auto hrs = h.Hours(kT0 + minutes(2));
  ASSERT_EQ(hrs.size(), 24u);
  EXPECT_EQ(hrs[23].sent, 9);
  EXPECT_EQ(Total(hrs).deferred, 4);
}

TEST(HistoryTest, OldBucketsFallOffAndAreReused) {
  History h;
  h.Sample(kT0, C(10));
  // 60 minutes later the ring slot of minute 0 is reused for minute 60.
  h.Sample(kT0 + minutes(60), C(12));
  auto mins = h.Minutes(kT0 + minutes(60));
  EXPECT_EQ(Total(mins).sent, 2);
  EXPECT_EQ(mins[59].sent, 2);
  auto hrs = h.Hours(kT0 + minutes(60));
  EXPECT_EQ(hrs[22].sent, 10);
  EXPECT_EQ(hrs[23].sent, 2);
  // A day later, nothing of it is left.
  EXPECT_EQ(Total(h.Hours(kT0 + hours(25))).sent, 0);
  EXPECT_EQ(Total(h.Minutes(kT0 + hours(2))).sent, 0);
}

TEST(HistoryTest, CountersGoingDownAddNothing) {
  History h;
  h.Sample(kT0, C(10));
  h.Sample(kT0 + seconds(10), C(4));  // E.g. a reset: nothing negative.
  h.Sample(kT0 + seconds(20), C(6));
  EXPECT_EQ(Total(h.Minutes(kT0 + seconds(20))).sent, 12);
}

TEST(ChartTest, NiceCeil) {
  EXPECT_EQ(NiceCeil(0), 1);
  EXPECT_EQ(NiceCeil(1), 1);
  EXPECT_EQ(NiceCeil(3), 5);
  EXPECT_EQ(NiceCeil(7), 10);
  EXPECT_EQ(NiceCeil(11), 20);
  EXPECT_EQ(NiceCeil(4000), 5000);
}

TEST(ChartTest, OneBarPerBucketWithItsNumbers) {
  std::vector<Counts> b = {C(0), C(3, 1, 2), C(8)};
  std::string svg =
      DeliveryChart(b, {"t<itle", "-3", "-1", "now", {"a", "b", "c"}});
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("aria-label=\"t&lt;itle\""), std::string::npos);
  EXPECT_NE(svg.find("data-sent=\"3\" data-deferred=\"1\" data-failed=\"2\""),
            std::string::npos);
  EXPECT_NE(svg.find("<title>c: 8 sent, 0 deferred, 0 failed</title>"),
            std::string::npos);
  // The scale's top is the next nice number above the largest bar (8).
  EXPECT_NE(svg.find(">10</text>"), std::string::npos);
  // Bars: nothing for the empty bucket, three rects, then one.
  size_t rects = 0;
  for (size_t p = 0; (p = svg.find("<rect", p)) != std::string::npos; p++) {
    rects++;
  }
  EXPECT_EQ(rects, 4u);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
}

TEST(OverviewTest, RendersNumbersAndEscapes) {
  OverviewData d;
  d.hostname = "mx<1>";
  d.now = kT0;
  d.queue_length = 2;
  d.queue_bytes = 2048;
  d.queue_oldest =
      std::chrono::duration_cast<seconds>((kT0 - hours(2)).time_since_epoch())
          .count();
  d.minutes = std::vector<Counts>(60);
  d.hours = std::vector<Counts>(24);
  d.since_start = C(7, 1, 1, 3);
  d.tls_in = 3;
  d.plain_in = 1;
  d.cert_not_after["mx.example"] =
      std::chrono::duration_cast<seconds>(
          (kT0 + hours(24 * 10) + minutes(1)).time_since_epoch())
          .count();
  metrics::DeliveryError e;
  e.when = kT0;
  e.domain = "far.example";
  e.recipient_type = "email:remote";
  e.message = "550 <no>";
  d.errors.push_back(e);
  std::string html = RenderOverview(d);
  EXPECT_NE(html.find("chasquid @mx&lt;1&gt;: overview"), std::string::npos);
  EXPECT_NE(html.find("id=\"sent-total\">7<"), std::string::npos);
  EXPECT_NE(html.find("id=\"authfail-total\">3<"), std::string::npos);
  EXPECT_NE(html.find("id=\"q-length\">2<"), std::string::npos);
  EXPECT_NE(html.find("id=\"q-oldest\">2h0m0s<"), std::string::npos);
  EXPECT_NE(html.find("id=\"q-bytes\">2.0 KiB<"), std::string::npos);
  EXPECT_NE(html.find("id=\"tls-in\">75% (3 of 4)<"), std::string::npos);
  EXPECT_NE(html.find("id=\"tls-out\">none yet<"), std::string::npos);
  // 10 days left, under the 14-day warning.
  EXPECT_NE(html.find("class=\"num error\">10<"), std::string::npos);
  EXPECT_NE(html.find("far.example"), std::string::npos);
  EXPECT_NE(html.find("550 &lt;no&gt;"), std::string::npos);
  // Two hours queued and nothing sent: the headline says so.
  EXPECT_NE(html.find("status bad"), std::string::npos);
  EXPECT_NE(html.find("name=\"viewport\""), std::string::npos);
  EXPECT_NE(html.find("prefers-color-scheme: dark"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(DeliveryErrorsTest, KeepsTheLastTwentyNewestFirstWithDomainsOnly) {
  for (int i = 0; i < 25; i++) {
    metrics::RecordDeliveryError(
        "user" + std::to_string(i) + "@d" + std::to_string(i) + ".example",
        "email:remote", i % 2 == 0, std::string(1000, 'x'));
  }
  metrics::RecordDeliveryError("| /bin/false", "pipe", true, "exit 1");
  auto errs = metrics::RecentDeliveryErrors();
  ASSERT_EQ(errs.size(), metrics::kMaxDeliveryErrors);
  EXPECT_EQ(errs[0].recipient_type, "pipe");
  EXPECT_EQ(errs[0].domain, "");
  EXPECT_EQ(errs[1].domain, "d24.example");
  EXPECT_TRUE(errs[1].permanent);
  EXPECT_EQ(errs[1].message.size(), metrics::kMaxDeliveryErrorMessage + 3);
  EXPECT_EQ(errs.back().domain, "d6.example");
}

}  // namespace
}  // namespace chasquid::monitoring
