#include "metrics/metrics.h"

#include <gtest/gtest.h>

namespace chasquid::metrics {
namespace {

TEST(MangleTest, LikeExpvarom) {
  EXPECT_EQ(MangleName("chasquid/smtpIn/commandCount"),
            "chasquid_smtpIn_commandCount");
  EXPECT_EQ(MangleName("3name"), "i3name");
  EXPECT_EQ(MangleName("añb"), "a_b");
}

TEST(ExpvarQuoteTest, HtmlSafe) {
  EXPECT_EQ(ExpvarQuote("unknown<\"XYZ\">"),
            "\"unknown\\u003c\\\"XYZ\\\"\\u003e\"");
  EXPECT_EQ(ExpvarQuote("a\xff"), "\"a\\ufffd\"");
  EXPECT_EQ(ExpvarQuote("ñ"), "\"ñ\"");
}

TEST(RegistryTest, RendersBothFormats) {
  auto* c = NewCounter("test/aCounter", "a help text");
  auto* m = NewMap("test/aMap", "command", "map help");
  auto* s = NewString("test/aString");
  EXPECT_EQ(NewCounter("test/aCounter", "x"), c);  // Same object.
  c->Add(3);
  m->Add("EHLO");
  m->Add("EHLO");
  m->Add("unknown<\"XYZ\">");
  s->Set("v1");

  std::string vars = RenderExpvar();
  EXPECT_NE(vars.find("\n\"test/aCounter\": 3,\n"), std::string::npos) << vars;
  EXPECT_NE(vars.find("\"test/aMap\": {\"EHLO\": 2, "
                      "\"unknown\\u003c\\\"XYZ\\\"\\u003e\": 1}"),
            std::string::npos)
      << vars;
  EXPECT_EQ(vars.substr(0, 2), "{\n");
  EXPECT_EQ(vars.substr(vars.size() - 3), "\n}\n");

  std::string om = RenderOpenMetrics();
  EXPECT_NE(om.find("# HELP test_aCounter a help text\ntest_aCounter 3\n"),
            std::string::npos)
      << om;
  EXPECT_NE(om.find("test_aMap{command=\"unknown<\\\"XYZ\\\">\"} 1\n"),
            std::string::npos)
      << om;
  EXPECT_NE(om.find("# HELP ignored_variables [\"test_aString\"]\n# EOF\n"),
            std::string::npos)
      << om;
}

TEST(HistogramTest, CumulativeBuckets) {
  auto* h = NewHistogram("test/latency", "a latency", {0.1, 1});
  h->Observe(0.05);
  h->Observe(0.5);
  h->Observe(5);
  auto d = h->Snapshot();
  EXPECT_EQ(d.cumulative, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(d.count, 3u);
  std::string om = RenderOpenMetrics();
  EXPECT_NE(om.find("test_latency_bucket{le=\"0.1\"} 1\n"), std::string::npos);
  EXPECT_NE(om.find("test_latency_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
}

TEST(HistogramMapTest, LabelledFamily) {
  auto* h = NewHistogramMap("test/delay", "recipient_type", "a delay", {1});
  std::string om = RenderOpenMetrics();
  // No keys yet: only the metadata, as for an empty map.
  EXPECT_NE(om.find("# HELP test_delay a delay\n# TYPE test_delay histogram\n"
                    "# HELP"),
            std::string::npos)
      << om;
  h->Observe("email:remote", 0.5);
  h->Observe("email:remote", 3);
  h->Observe("pipe", 2);
  om = RenderOpenMetrics();
  EXPECT_NE(om.find("test_delay_bucket{recipient_type=\"email:remote\","
                    "le=\"1\"} 1\n"
                    "test_delay_bucket{recipient_type=\"email:remote\","
                    "le=\"+Inf\"} 2\n"
                    "test_delay_sum{recipient_type=\"email:remote\"} 3.5\n"
                    "test_delay_count{recipient_type=\"email:remote\"} 2\n"
                    "test_delay_bucket{recipient_type=\"pipe\",le=\"1\"} 0\n"),
            std::string::npos)
      << om;
  std::string vars = RenderExpvar();
  EXPECT_NE(vars.find("\"test/delay\": {\"email:remote\": {\"le=1\": 1, "
                      "\"le=+Inf\": 2, \"sum\": 3.5}, \"pipe\": "),
            std::string::npos)
      << vars;
}

}  // namespace
}  // namespace chasquid::metrics
