// The queue tools' operations on a real DiskQueue (admin.cc) and the
// in-memory attempt history they show.
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <optional>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "courier/courier.h"
#include "queue/item.h"
#include "queue/queue.h"
#include "queue/rpc.h"
#include "testlib/fake_courier.h"

namespace chasquid::queue {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/queueadminXXXXXX";
    root_ = mkdtemp(tmpl);
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
    // Every delivery to "temp*" addresses fails transiently.
    courier_.rule = [](const std::string& to) -> std::optional<Status> {
      if (to.rfind("temp", 0) == 0) return Status::Transient("try later");
      return std::nullopt;
    };
  }
  void TearDown() override {
    work_.reset();
    io_.stop();
    thread_.join();
    q_.reset();
    fs::remove_all(root_);
  }
  void NewQueue(std::chrono::nanoseconds delay) {
    Options o;
    o.dir = root_ + "/queue";
    o.local_domains = {"loco"};
    o.local = &courier_;
    o.remote = &courier_;
    o.next_delay = [delay](auto) { return delay; };
    auto q = DiskQueue::New(io_.get_executor(), o);
    ASSERT_TRUE(q.ok());
    q_ = std::move(*q);
  }
  std::string Put(std::string from, std::string to) {
    std::promise<Result<std::string>> p;
    auto body = [&]() -> net::awaitable<void> {
      auto data = std::make_shared<const std::string>("Subject: x\n\nhi\n");
      std::vector<std::string> rcpts = {to};
      auto put = q_->Put(from, std::move(rcpts), std::move(data));
      auto r = co_await std::move(put);
      p.set_value(std::move(r));
    };
    net::co_spawn(io_, body(), net::detached);
    auto r = p.get_future().get();
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : "";
  }
  bool ItemFileExists(const std::string& id) {
    return fs::exists(root_ + "/queue/m:" + id);
  }
  bool WaitEmpty() {
    for (int i = 0; i < 1000 && q_->Len() > 0; i++) {
      std::this_thread::sleep_for(10ms);
    }
    return q_->Len() == 0;
  }

  std::string root_;
  net::io_context io_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::thread thread_;
  testlib::FakeCourier courier_;
  std::unique_ptr<DiskQueue> q_;
};

TEST_F(AdminTest, HistoryIsBounded) {
  NewQueue(1ms);
  std::string id = Put("a@loco", "temp@loco");
  int n = static_cast<int>(Item::kMaxAttempts) + 5;
  // The courier sees a call before its attempt is recorded; the send loop
  // makes the next call only after recording the last, so n + 1 calls mean
  // at least n attempts are in the history.
  ASSERT_GE(courier_.WaitCalls("temp@loco", n + 1), n + 1);
  auto item = q_->Find(id);
  ASSERT_TRUE(item.ok());
  {
    std::lock_guard<std::mutex> l((*item)->mu);
    EXPECT_EQ((*item)->attempts.size(), Item::kMaxAttempts);
    EXPECT_GE((*item)->attempt_count, static_cast<uint64_t>(n));
    EXPECT_EQ((*item)->attempts.back().address, "temp@loco");
    EXPECT_EQ((*item)->attempts.back().result, Attempt::Result::kTransient);
    EXPECT_EQ((*item)->attempts.back().message, "try later");
  }
  std::string j = ItemJSON(**item, true);
  EXPECT_NE(j.find("\"result\":\"temporary\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"headers\":\"Subject: x\\n\""), std::string::npos) << j;
  EXPECT_TRUE(q_->AdminRemove(id).ok());
}

TEST_F(AdminTest, FlushTriesNow) {
  NewQueue(1h);
  std::string id = Put("a@loco", "temp@loco");
  ASSERT_EQ(courier_.WaitCalls("temp@loco", 1), 1);
  // The item now waits an hour, unless flushed.
  auto n = q_->AdminFlush(id);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(courier_.WaitCalls("temp@loco", 2), 2);
  auto all = q_->AdminFlush("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, 1u);
  EXPECT_EQ(courier_.WaitCalls("temp@loco", 3), 3);
}

TEST_F(AdminTest, RemoveDropsWithoutDSN) {
  NewQueue(1h);
  std::string id = Put("a@loco", "temp@loco");
  ASSERT_EQ(courier_.WaitCalls("temp@loco", 1), 1);
  ASSERT_TRUE(ItemFileExists(id));
  ASSERT_TRUE(q_->AdminRemove(id).ok());
  EXPECT_FALSE(ItemFileExists(id));
  EXPECT_EQ(q_->Len(), 0u);
  Status again = q_->AdminRemove(id);
  EXPECT_EQ(again.message(), "no such item \"" + id + "\"");
  // Nothing goes to the sender: flush a second item and see only it.
  std::string id2 = Put("a@loco", "temp2@loco");
  ASSERT_EQ(courier_.WaitCalls("temp2@loco", 1), 1);
  EXPECT_FALSE(courier_.Delivered("a@loco"));
  EXPECT_TRUE(q_->AdminRemove(id2).ok());
}

TEST_F(AdminTest, BounceSendsDSN) {
  NewQueue(1h);
  std::string id = Put("a@loco", "temp@loco");
  ASSERT_EQ(courier_.WaitCalls("temp@loco", 1), 1);
  ASSERT_TRUE(q_->AdminBounce(id).ok());
  ASSERT_EQ(courier_.WaitCalls("a@loco", 1), 1);
  auto dsn = courier_.Delivered("a@loco");
  ASSERT_TRUE(dsn);
  EXPECT_NE(dsn->find("\"temp@loco\" (EMAIL) failed repeatedly and timed "
                      "out, last error:\n    try later\n"),
            std::string::npos)
      << *dsn;
  EXPECT_TRUE(WaitEmpty());
  EXPECT_FALSE(ItemFileExists(id));
}

TEST_F(AdminTest, UnknownID) {
  NewQueue(1h);
  EXPECT_EQ(q_->Find("nope").status().message(), "no such item \"nope\"");
  EXPECT_EQ(q_->AdminFlush("nope").status().message(), "no such item \"nope\"");
  EXPECT_EQ(q_->AdminBounce("nope").message(), "no such item \"nope\"");
  EXPECT_EQ(q_->AdminRemove("nope").message(), "no such item \"nope\"");
}

}  // namespace
}  // namespace chasquid::queue
