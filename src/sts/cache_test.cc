#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <optional>

#include <gtest/gtest.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

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

TEST_F(CacheTest, TornEntriesAreNeverAPolicy) {
  // A cache file cut anywhere (a writer that died half-way, a disk that
  // lost its tail), or of the right size with zeros where the data did
  // not make it, is no policy: the domain's policy is fetched again.
  const std::string good = kGood;
  for (size_t n = 0; n < good.size(); n++) {
    for (bool zeros : {false, true}) {
      SCOPED_TRACE(
          std::to_string(n).append(zeros ? " bytes, then zeros" : " bytes"));
      std::string content = good.substr(0, n);
      if (zeros) content.append(good.size() - n, '\0');
      WriteEntry("x.com", content, 3600);
      int64_t bad = Counter("unmarshalErrors") + Counter("invalid");
      int64_t hits = Counter("hits");
      int txt = dns_.queries["TXT"];
      EXPECT_FALSE(Get("x.com"));
      EXPECT_EQ(Counter("unmarshalErrors") + Counter("invalid"), bad + 1);
      EXPECT_EQ(Counter("hits"), hits);
      EXPECT_EQ(dns_.queries["TXT"], txt + 1);
    }
  }
  // The whole file is a policy.
  WriteEntry("x.com", good, 3600);
  EXPECT_TRUE(Get("x.com"));
}

TEST_F(CacheTest, EntriesAreReadAndWrittenOnTheBlockingPool) {
  // With the daemon's pool, an entry's write (and fsync) and its read
  // run there, never on the network thread that asks (here, the test's
  // own, which runs Await).
  net::thread_pool pool(1);
  std::promise<pid_t> id;
  net::post(pool, [&id] { id.set_value(gettid()); });
  const pid_t pool_thread = id.get_future().get();
  const pid_t this_thread = gettid();
  cache_->SetBlocking(&pool);
  // Large enough to tell from the few bytes of /proc this thread reads.
  Policy p{"STSv1", "enforce", {}, std::chrono::hours(24)};
  for (int i = 0; i < 300; i++) {
    p.mxs.push_back("mx" + std::to_string(i) + ".x.com");
  }
  ASSERT_TRUE(Check(p).ok());
  auto io = [](pid_t tid, const char* key) {
    return testlib::ThreadIoBytes(tid, key);
  };

  uint64_t pool0 = io(pool_thread, "wchar"), here0 = io(this_thread, "wchar");
  Status s = testlib::Await(cache_->StoreForTesting("x.com", p));
  ASSERT_TRUE(s.ok()) << s.message();
  const uint64_t size = fs::file_size(dir_ + "/sts-cache/pol:x.com");
  EXPECT_GE(io(pool_thread, "wchar") - pool0, size);
  EXPECT_LT(io(this_thread, "wchar") - here0, size / 4);

  pool0 = io(pool_thread, "rchar");
  here0 = io(this_thread, "rchar");
  int64_t hits = Counter("hits");
  auto got = Get("x.com");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->mxs, p.mxs);
  EXPECT_EQ(Counter("hits"), hits + 1);
  EXPECT_GE(io(pool_thread, "rchar") - pool0, size);
  EXPECT_LT(io(this_thread, "rchar") - here0, size / 4);
}

}  // namespace
}  // namespace chasquid::sts
