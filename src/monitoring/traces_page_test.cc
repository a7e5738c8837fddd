#include "monitoring/traces_page.h"

#include <gtest/gtest.h>

#include "nettrace/store.h"
#include "nettrace/trace.h"

namespace chasquid::monitoring {
namespace {

Response Get(std::multimap<std::string, std::string> q) {
  Request r;
  r.method = "GET";
  r.path = "/debug/traces";
  r.query = std::move(q);
  return TracesPage(r);
}

bool Has(const Response& r, const std::string& s) {
  return r.body.find(s) != std::string::npos;
}

TEST(TracesPageTest, IndexListsFamilies) {
  { nettrace::Trace t("TP.Index", "x"); }
  Response r = Get({});
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(Has(r, "<title>Traces</title>"));
  EXPECT_TRUE(Has(r, "<h1>Traces</h1>"));
  EXPECT_TRUE(Has(r, "href=\"?fam=TP.Index&amp;b=0&amp;all=true\""));
  EXPECT_TRUE(Has(r, "href=\"?fam=TP.Index&amp;b=-1&amp;all=true\">0 active"));
  EXPECT_TRUE(Has(r, "href=\"?fam=TP.Index&amp;lat=true&amp;all=true\""));
  EXPECT_TRUE(Has(r,
                  "\xE2\x89\xA5"
                  "300ms"));
}

TEST(TracesPageTest, ErrorsAndStatusCodes) {
  { nettrace::Trace t("TP.Codes", "x"); }
  Response r = Get({{"fam", "TP.NoSuch"}, {"b", "0"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(Has(r, "Error: Unknown family"));
  EXPECT_TRUE(Has(r, "<h1>Traces</h1>"));  // Always rendered.

  r = Get({{"fam", "TP.Codes"}, {"b", "x1"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(Has(r, "Error: Invalid bucket (not a number)"));
  r = Get({{"fam", "TP.Codes"}, {"b", "99999999999999999999999"}});
  EXPECT_EQ(r.status, 400);
  for (const char* b : {"8", "-3"}) {
    r = Get({{"fam", "TP.Codes"}, {"b", b}});
    EXPECT_EQ(r.status, 400) << b;
    EXPECT_TRUE(Has(r, "Error: Invalid bucket number")) << b;
  }
  r = Get({{"trace", "TP.Codes!1!2"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(Has(r, "Error: Trace not found"));
}

TEST(TracesPageTest, BucketActiveErrorsAndTraceViews) {
  nettrace::Trace active("TP.Views", "still running");
  active.Printf("working");
  std::string parent_id, child_id;
  {
    nettrace::Trace p("TP.Views", "parent");
    parent_id = p.id();
    p.Printf("hello");
    nettrace::Trace c = p.NewChild("TP.Child", "kid");
    child_id = c.id();
    c.Error("kaput");
  }
  Response r = Get({{"fam", "TP.Views"}, {"b", "-1"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(Has(r, "<title>TP.Views - active</title>"));
  EXPECT_TRUE(Has(r, "still running"));
  EXPECT_FALSE(Has(r, ">parent<"));

  r = Get({{"fam", "TP.Views"}, {"b", "0"}});
  EXPECT_TRUE(Has(r, ">parent</a>"));
  EXPECT_TRUE(Has(r, "hello"));
  EXPECT_TRUE(Has(r, "new child <a href=\"?trace="));
  EXPECT_TRUE(Has(r, "Only in bucket"));

  r = Get({{"fam", "TP.Child"}, {"b", "-2"}});
  EXPECT_TRUE(Has(r, "<title>TP.Child - errors</title>"));
  EXPECT_TRUE(Has(r, "error: kaput"));

  // The trace view merges the descendants' events.
  r = Get({{"trace", parent_id}});
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(Has(r, "<title>TP.Views - parent</title>"));
  EXPECT_TRUE(Has(r, "hello"));
  EXPECT_TRUE(Has(r, "\xC2\xB7 <span class=\"error\">error: kaput"));
  r = Get({{"trace", child_id}});
  EXPECT_TRUE(Has(r, "Parent: <a href=\"?trace="));

  r = Get({{"fam", "TP.Views"}, {"lat", "true"}});
  EXPECT_TRUE(Has(r, "<title>TP.Views - latency</title>"));
  EXPECT_TRUE(Has(r, "Count: 1"));
  EXPECT_TRUE(Has(r, "<meter"));
}

TEST(TracesPageTest, EverythingEscaped) {
  std::string id;
  {
    nettrace::Trace t("TP.<b>Esc</b>", "<script>alert(1)</script>");
    id = t.id();
    t.Printf("msg \"<img src=x onerror=alert(2)>\" & more");
  }
  Response r = Get({{"fam", "TP.<b>Esc</b>"}, {"b", "0"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(Has(r, "<script>"));
  EXPECT_FALSE(Has(r, "<img"));
  EXPECT_FALSE(Has(r, "<b>Esc"));
  EXPECT_TRUE(Has(r, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(
      Has(r, "&#34;&lt;img src=x onerror=alert(2)&gt;&#34; &amp; more"));
  // Links carry the family URL-escaped.
  EXPECT_TRUE(Has(r, "?fam=TP.%3Cb%3EEsc%3C%2Fb%3E&amp;b=0"));
  r = Get({{"trace", id}});
  EXPECT_FALSE(Has(r, "<script>"));
  EXPECT_TRUE(Has(r, "<title>TP.&lt;b&gt;Esc&lt;/b&gt; - &lt;script&gt;"));
}

TEST(TracesPageTest, RetentionTenPerBucket) {
  // append(), not "t" + ...: GCC 12's -Wrestrict false positive.
  for (int i = 0; i < 15; i++) {
    nettrace::Trace t("TP.Many", std::string("t").append(std::to_string(i)));
  }
  Response r = Get({{"fam", "TP.Many"}, {"b", "0"}, {"all", "false"}});
  EXPECT_TRUE(Has(r, ">t14</a>"));
  EXPECT_TRUE(Has(r, ">t5</a>"));
  EXPECT_FALSE(Has(r, ">t4</a>"));
  r = Get({{"fam", "TP.Many"}, {"lat", "1"}});
  EXPECT_TRUE(Has(r, "Count: 15"));  // The histogram counts them all.
}

}  // namespace
}  // namespace chasquid::monitoring
