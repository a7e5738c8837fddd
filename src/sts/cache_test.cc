#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include <gtest/gtest.h>

#include "metrics/metrics.h"
#include "sts/sts.h"
#include "testlib/testlib.h"
#include "tlsroots/tlsroots.h"

namespace chasquid::sts {
namespace {

namespace fs = std::filesystem;

int64_t Counter(const std::string& name) {
  return metrics::NewCounter("chasquid/sts/cache/" + name, "")->Value();
}

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    auto c = Cache::Open(dir_ + "/sts-cache", &dns_,
                         tlsroots::NewClientContext().value());
    ASSERT_TRUE(c.ok()) << c.status().message();
    cache_ = std::move(c.value());
  }

  std::optional<Policy> Get(const std::string& domain) {
    return testlib::Await(cache_->Get(domain, std::chrono::seconds(5))).policy;
  }

  void WriteEntry(const std::string& domain, const std::string& content,
                  int expires_in_secs) {
    std::string path = dir_ + "/sts-cache/pol:" + domain;
    std::ofstream(path) << content;
    auto t = fs::file_time_type::clock::now() +
             std::chrono::seconds(expires_in_secs);
    fs::last_write_time(path, t);
  }

  testlib::TempDir tmp_;
  std::string dir_;
  // An empty zone: no domain has an _mta-sts record, so every network
  // fetch fails.
  testlib::FakeResolver dns_;
  std::unique_ptr<Cache> cache_;
};

const char kGood[] =
    "{\"version\":\"STSv1\",\"mode\":\"enforce\",\"mx\":[\"mx.x.com\"],"
    "\"max_age\":86400000000000}";

TEST_F(CacheTest, HitFromChasquidFile) {
  WriteEntry("x.com", kGood, 3600);
  int64_t fetches = Counter("fetches"), hits = Counter("hits");
  auto p = Get("x.com");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, "enforce");
  EXPECT_EQ(p->mxs, std::vector<std::string>{"mx.x.com"});
  EXPECT_EQ(Counter("fetches"), fetches + 1);
  EXPECT_EQ(Counter("hits"), hits + 1);
  EXPECT_EQ(dns_.queries["TXT"], 0);
}

TEST_F(CacheTest, ExpiredGoesToTheNetwork) {
  WriteEntry("x.com", kGood, -10);
  int64_t expired = Counter("expired"), failed = Counter("failedFetch");
  EXPECT_FALSE(Get("x.com"));
  EXPECT_EQ(Counter("expired"), expired + 1);
  EXPECT_EQ(Counter("failedFetch"), failed + 1);
  EXPECT_EQ(dns_.queries["TXT"], 1);
}

TEST_F(CacheTest, BadEntries) {
  WriteEntry("bad.com", "{not json", 3600);
  WriteEntry("invalid.com",
             "{\"version\":\"STSv1\",\"mode\":\"x\",\"mx\":[\"a\"],"
             "\"max_age\":1000000000}",
             3600);
  int64_t unmarshal = Counter("unmarshalErrors"), inv = Counter("invalid");
  EXPECT_FALSE(Get("bad.com"));
  EXPECT_FALSE(Get("invalid.com"));
  EXPECT_EQ(Counter("unmarshalErrors"), unmarshal + 1);
  EXPECT_EQ(Counter("invalid"), inv + 1);
  // A '/' would make chasquid panic; here it is just "no policy".
  EXPECT_FALSE(Get("../x.com"));
}

TEST_F(CacheTest, RefreshCountsErrorsAndKeepsFiles) {
  WriteEntry("x.com", kGood, 3600);
  int64_t refreshes = Counter("refreshes"), errors = Counter("refreshErrors");
  testlib::Await(cache_->RefreshOnce());
  EXPECT_EQ(Counter("refreshes"), refreshes + 1);
  EXPECT_EQ(Counter("refreshErrors"), errors + 1);
  EXPECT_TRUE(fs::exists(dir_ + "/sts-cache/pol:x.com"));
}

TEST(CacheOpenTest, NotADirectory) {
  testlib::TempDir tmp;
  std::string dir = tmp.path();
  std::ofstream(dir + "/file") << "";
  testlib::FakeResolver dns;
  auto c = Cache::Open(dir + "/file", &dns, nullptr);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "mkdir " + dir + "/file: not a directory");
}

TEST_F(CacheTest, NoRecordIsNoPolicyAndNoFailure) {
  // Without an `_mta-sts` record the domain announced nothing: TLS
  // reports must not call that a failed fetch.
  auto l = testlib::Await(cache_->Get("x.com", std::chrono::seconds(5)));
  EXPECT_FALSE(l.policy);
  EXPECT_EQ(l.failure, PolicyLookup::Failure::kNone);
  EXPECT_FALSE(l.error.empty());
}

}  // namespace
}  // namespace chasquid::sts
