#include "auth/auth.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "nettrace/store.h"

namespace chasquid::auth {
namespace {

using std::chrono::milliseconds;

// Records what it was asked and answers from a fixed table.
class FakeBackend : public Backend {
 public:
  FakeBackend(std::string user, std::string password,
              std::vector<std::string>* calls)
      : user_(std::move(user)), password_(std::move(password)), calls_(calls) {}
  Result<bool> Authenticate(const std::string& user,
                            const std::string& password) override {
    calls_->push_back("auth " + user);
    if (!err_.empty()) return Status::Transient(err_);
    return user == user_ && password == password_;
  }
  Result<bool> Exists(const std::string& user) override {
    calls_->push_back("exists " + user);
    if (!err_.empty()) return Status::Transient(err_);
    return user == user_;
  }
  Status Reload() override {
    return reload_err_.empty() ? Status::Ok() : Status::Error(reload_err_);
  }
  bool ExistsNeverBlocks() const override { return in_memory_; }
  std::string err_, reload_err_;
  bool in_memory_ = false;

 private:
  std::string user_, password_;
  std::vector<std::string>* calls_;
};

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override { a_.SetAuthDuration(milliseconds(0)); }
  Authenticator a_;
  std::vector<std::string> calls_;
};

TEST_F(AuthTest, DomainBackendThenFallback) {
  a_.Register("d", std::make_unique<FakeBackend>("u", "p", &calls_));
  auto* fb = new FakeBackend("v@d", "q", &calls_);
  a_.SetFallback(std::unique_ptr<Backend>(fb));

  EXPECT_TRUE(*a_.Authenticate("u", "d", "p"));
  EXPECT_EQ(calls_, std::vector<std::string>{"auth u"});
  calls_.clear();
  EXPECT_TRUE(*a_.Authenticate("v", "d", "q"));
  EXPECT_EQ(calls_, (std::vector<std::string>{"auth v", "auth v@d"}));
  calls_.clear();
  EXPECT_FALSE(*a_.Authenticate("u", "d", "wrong"));
  EXPECT_FALSE(*a_.Authenticate("v", "", "q"));  // Fallback asked with "v".
  EXPECT_EQ(calls_.back(), "auth v");
  EXPECT_TRUE(*a_.Exists("u", "d"));
  EXPECT_TRUE(*a_.Exists("v", "d"));
  EXPECT_FALSE(*a_.Exists("w", "other"));
  EXPECT_EQ(calls_.back(), "exists w@other");

  fb->err_ = "dovecot down";
  auto r = a_.Authenticate("x", "d", "p");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "dovecot down");
  EXPECT_TRUE(r.status().transient());
}

TEST_F(AuthTest, BackendErrorStopsBeforeFallback) {
  auto* be = new FakeBackend("u", "p", &calls_);
  be->err_ = "broken";
  a_.Register("d", std::unique_ptr<Backend>(be));
  a_.SetFallback(std::make_unique<FakeBackend>("u@d", "p", &calls_));
  EXPECT_FALSE(a_.Authenticate("u", "d", "p").ok());
  EXPECT_FALSE(a_.Exists("u", "d").ok());
  EXPECT_EQ(calls_, (std::vector<std::string>{"auth u", "exists u"}));
}

TEST_F(AuthTest, NoBackendNoFallback) {
  EXPECT_FALSE(*a_.Authenticate("u", "d", "p"));
  EXPECT_FALSE(*a_.Exists("u", "d"));
  EXPECT_TRUE(a_.Reload().ok());
}

TEST_F(AuthTest, ExistsNeverBlocksOnlyWhenEveryBackendAskedIsInMemory) {
  // Nothing to ask: nothing blocks.
  EXPECT_TRUE(a_.ExistsNeverBlocks("d"));
  auto* mem = new FakeBackend("u", "p", &calls_);
  mem->in_memory_ = true;
  a_.Register("d", std::unique_ptr<Backend>(mem));
  a_.Register("slow", std::make_unique<FakeBackend>("u", "p", &calls_));
  EXPECT_TRUE(a_.ExistsNeverBlocks("d"));
  EXPECT_FALSE(a_.ExistsNeverBlocks("slow"));
  EXPECT_TRUE(a_.ExistsNeverBlocks("other"));
  // A fallback (Dovecot) is asked after any domain's backend.
  a_.SetFallback(std::make_unique<FakeBackend>("v@d", "q", &calls_));
  EXPECT_FALSE(a_.ExistsNeverBlocks("d"));
  EXPECT_FALSE(a_.ExistsNeverBlocks("other"));
  EXPECT_TRUE(calls_.empty());  // Deciding asks no backend.
}

TEST_F(AuthTest, ReloadErrorsNameTheDomain) {
  auto* b1 = new FakeBackend("u", "p", &calls_);
  auto* b2 = new FakeBackend("u", "p", &calls_);
  auto* fb = new FakeBackend("u", "p", &calls_);
  a_.Register("a", std::unique_ptr<Backend>(b1));
  a_.Register("ñ", std::unique_ptr<Backend>(b2));
  a_.SetFallback(std::unique_ptr<Backend>(fb));
  EXPECT_TRUE(a_.Reload().ok());
  b2->reload_err_ = "open x: permission denied";
  fb->reload_err_ = "nope";
  Status s = a_.Reload();
  EXPECT_EQ(s.message(), "\"ñ\": open x: permission denied ; <fallback>: nope");
}

TEST_F(AuthTest, OpensTraces) {
  a_.Register("d", std::make_unique<FakeBackend>("u", "p", &calls_));
  auto& store = nettrace::Store::Get();
  int64_t auths = store.Stats("Auth.Authenticate").total;
  int64_t exists = store.Stats("Auth.Exists").total;
  int64_t reloads = store.Stats("Auth.Reload").total;
  (void)a_.Authenticate("u", "d", "p");
  (void)a_.Exists("u", "d");
  ASSERT_TRUE(a_.Reload().ok());
  EXPECT_EQ(store.Stats("Auth.Authenticate").total, auths + 1);
  EXPECT_EQ(store.Stats("Auth.Exists").total, exists + 1);
  EXPECT_EQ(store.Stats("Auth.Reload").total, reloads + 1);
  auto done = store.Bucket("Auth.Authenticate", 0, true);
  ASSERT_FALSE(done.empty());
  EXPECT_EQ(done.front()->title, "u@d");
}

TEST(AuthPaddingTest, AuthenticateIsPadded) {
  Authenticator a;
  a.SetAuthDuration(milliseconds(60));
  for (int i = 0; i < 3; i++) {
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(*a.Authenticate("u", "d", "p"));
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, milliseconds(60));
    // Only catches a padding gone wild: the machine may be loaded (CI runs
    // this under sanitizers on 2 busy cores).
    EXPECT_LT(took, milliseconds(5000));
  }
  // Exists is not padded: with a 3 s padding it still answers at once.
  a.SetAuthDuration(std::chrono::seconds(3));
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(*a.Exists("u", "d"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
}

}  // namespace
}  // namespace chasquid::auth
