#include "queue/queue.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "aliases/aliases.h"
#include "courier/courier.h"
#include "metrics/metrics.h"
#include "queue/item.h"
#include "queue/options.h"
#include "testlib/fake_courier.h"

namespace chasquid::queue {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

using testlib::FakeCourier;
using Delivery = testlib::FakeCourier::Delivery;

class FakeAliases : public aliases::Resolver {
 public:
  bool Exists(const std::string& addr) override { return table.count(addr); }
  Result<std::vector<aliases::Recipient>> Resolve(
      const std::string& addr) override {
    if (addr == "broken@loco") return Status::Error("exit status 1");
    auto it = table.find(addr);
    if (it == table.end()) {
      return std::vector<aliases::Recipient>{{addr, {}, {}}};
    }
    return it->second;
  }
  std::map<std::string, std::vector<aliases::Recipient>> table;
};

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/queuetestXXXXXX";
    root_ = mkdtemp(tmpl);
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
    opts_.dir = root_ + "/queue";
    opts_.local_domains = {"loco", "localhost"};
    opts_.local = &local_;
    opts_.remote = &remote_;
    opts_.pipe = &pipe_;
    opts_.aliases = &aliases_;
    opts_.next_delay = [](auto) { return std::chrono::milliseconds(20); };
  }
  void TearDown() override {
    work_.reset();
    io_.stop();
    thread_.join();
    q_.reset();
    fs::remove_all(root_);
  }
  DiskQueue& NewQueue() {
    auto q = DiskQueue::New(io_.get_executor(), opts_);
    EXPECT_TRUE(q.ok()) << q.status().message();
    q_ = std::move(*q);
    return *q_;
  }
  Result<std::string> Put(std::string from, std::vector<std::string> to,
                          std::string data = "Subject: x\n\nhi\n") {
    std::promise<Result<std::string>> p;
    auto body = [&]() -> net::awaitable<void> {
      p.set_value(co_await q_->Put(from, to,
                                   std::make_shared<const std::string>(data)));
    };
    net::co_spawn(io_, body(), net::detached);
    return p.get_future().get();
  }
  bool WaitEmpty() {
    for (int i = 0; i < 500 && q_->Len() > 0; i++) {
      std::this_thread::sleep_for(10ms);
    }
    return q_->Len() == 0;
  }
  size_t FilesInQueue() {
    size_t n = 0;
    for (auto& e : fs::directory_iterator(opts_.dir)) {
      if (e.path().filename().string().rfind("m:", 0) == 0) n++;
    }
    return n;
  }

  std::string root_;
  net::io_context io_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::thread thread_;
  FakeCourier local_, remote_, pipe_;
  FakeAliases aliases_;
  Options opts_;
  std::unique_ptr<DiskQueue> q_;
};

int64_t Attempts(const std::string& label) {
  return metrics::NewMap("chasquid/queue/deliverAttempts", "", "")
      ->Value(label);
}

TEST_F(QueueTest, PutDeliversToLocalAndRemote) {
  NewQueue();
  int64_t local_before = Attempts("email:local");
  int64_t remote_before = Attempts("email:remote");
  auto id = Put("a@loco", {"b@loco", "c@far"});
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(id->size(), 11u);
  auto l = local_.WaitFor(1);
  auto r = remote_.WaitFor(1);
  ASSERT_EQ(l.size(), 1u);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(l[0].to, "b@loco");
  EXPECT_EQ(l[0].data, "Subject: x\n\nhi\n");
  EXPECT_EQ(r[0].to, "c@far");
  EXPECT_EQ(r[0].from, "a@loco");  // Local sender: not rewritten.
  EXPECT_TRUE(WaitEmpty());
  EXPECT_EQ(FilesInQueue(), 0u);
  EXPECT_EQ(Attempts("email:local"), local_before + 1);
  EXPECT_EQ(Attempts("email:remote"), remote_before + 1);
}

// Spare files (".m:spare-*") in the queue directory: name and inode.
std::vector<std::pair<std::string, ino_t>> Spares(const std::string& dir) {
  std::vector<std::pair<std::string, ino_t>> out;
  for (auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.rfind(".m:spare-", 0) != 0) continue;
    struct stat st;
    EXPECT_EQ(stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 0) << name << " still holds a message";
    out.emplace_back(name, st.st_ino);
  }
  return out;
}

TEST_F(QueueTest, DeliveredItemFilesAreRecycled) {
  NewQueue();
  ASSERT_TRUE(Put("a@loco", {"b@loco"}).ok());
  ASSERT_TRUE(WaitEmpty());
  // The removal renames at once; emptying the file follows on the pool.
  for (int i = 0; i < 500; i++) {
    struct stat st;
    bool emptied = false;
    for (auto& e : fs::directory_iterator(opts_.dir)) {
      if (e.path().filename().string().rfind(".m:spare-", 0) == 0 &&
          stat(e.path().c_str(), &st) == 0 && st.st_size == 0) {
        emptied = true;
      }
    }
    if (emptied) break;
    std::this_thread::sleep_for(10ms);
  }
  auto spares = Spares(opts_.dir);
  ASSERT_EQ(spares.size(), 1u);  // Emptied, kept for the next item.

  // The next item is written into that very file (same inode). Its
  // delivery attempt starts as soon as Put returns, and the status write
  // after the failure is a new file (no spare is left): so the file is
  // looked at during the attempt, before that write can replace it.
  std::mutex mu;
  std::vector<std::pair<ino_t, mode_t>> at_attempt;
  std::string dir = opts_.dir;
  local_.rule = [&mu, &at_attempt, dir](const std::string&) {
    for (auto& e : fs::directory_iterator(dir)) {
      struct stat st;
      if (e.path().filename().string().rfind("m:", 0) == 0 &&
          stat(e.path().c_str(), &st) == 0) {
        std::lock_guard<std::mutex> l(mu);
        at_attempt.emplace_back(st.st_ino, st.st_mode & 0777);
      }
    }
    return std::optional<Status>(Status::Transient("later"));
  };
  opts_.next_delay = [](auto) { return std::chrono::hours(1); };
  q_.reset();
  NewQueue();
  ASSERT_TRUE(q_->Load().ok());  // Collects the spare left on disk.
  auto id = Put("a@loco", {"c@loco"});
  ASSERT_TRUE(id.ok());
  ASSERT_EQ(local_.WaitCalls("c@loco", 1), 1);
  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(at_attempt.size(), 1u);
  EXPECT_EQ(at_attempt[0].first, spares[0].second);
  EXPECT_EQ(at_attempt[0].second, 0600u);
  EXPECT_TRUE(Spares(opts_.dir).empty());
}

// Recipients of one message delivered while a status write waits for the
// blocking pool share that write: the pool is held until every delivery is
// done, so exactly one status write follows the Put's own.
TEST_F(QueueTest, ConcurrentRecipientsShareStatusWrites) {
  net::thread_pool pool(1);
  opts_.pool = &pool;
  NewQueue();
  std::vector<std::string> to;
  for (int i = 0; i < 20; i++) {
    to.push_back(std::string("r").append(std::to_string(i)).append("@loco"));
  }
  auto* written = metrics::NewCounter("chasquid/queue/itemsWritten", "");
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  int64_t before = 0;
  std::promise<Result<std::string>> put;
  auto body = [&]() -> net::awaitable<void> {
    auto data = std::make_shared<const std::string>("Subject: x\n\nhi\n");
    auto put_one = q_->Put("a@loco", to, std::move(data));
    auto r = co_await std::move(put_one);
    before = written->Value();
    put.set_value(std::move(r));
  };
  // The pool's one thread is blocked right behind the Put's write: the
  // io thread starts the Put, which queues its write on the pool, and
  // then runs this handler, which queues the block. (Posted from inside
  // the Put's continuation instead, the block could come after the first
  // status write: the send loop may start before the Put returns.)
  net::co_spawn(io_, body(), net::detached);
  net::post(io_, [&pool, released] {
    net::post(pool, [released] { released.wait(); });
  });
  auto id = put.get_future().get();
  ASSERT_TRUE(id.ok()) << id.status().message();
  // Every recipient delivered; the pending ones' status write is queued.
  EXPECT_EQ(local_.WaitFor(20).size(), 20u);
  release.set_value();
  EXPECT_TRUE(WaitEmpty());
  EXPECT_EQ(FilesInQueue(), 0u);
  // One write for the 19 statuses set while recipients were pending (the
  // 20th, the last, is recorded by the removal). It was one each.
  EXPECT_EQ(written->Value() - before, 1);
  q_.reset();
  pool.join();
}

TEST_F(QueueTest, ItemIsOnDiskWhenPutReturns) {
  local_.Script("b@loco", {Status::Transient("later")});
  opts_.next_delay = [](auto) { return std::chrono::hours(1); };
  NewQueue();
  auto id = Put("a@loco", {"b@loco"});
  ASSERT_TRUE(id.ok());
  std::ifstream f(opts_.dir + "/m:" + *id);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_NE(ss.str().find("ID: \"" + *id + "\"\n"), std::string::npos);
  EXPECT_NE(ss.str().find("To: \"b@loco\"\n"), std::string::npos);
  struct stat st;
  ASSERT_EQ(stat((opts_.dir + "/m:" + *id).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(opts_.dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // After the transient failure the status is saved with the message.
  local_.WaitFor(1);
  for (int i = 0; i < 200; i++) {
    std::ifstream g(opts_.dir + "/m:" + *id);
    std::stringstream s2;
    s2 << g.rdbuf();
    if (s2.str().find("last_failure_message: \"later\"") != std::string::npos) {
      SUCCEED();
      return;
    }
    std::this_thread::sleep_for(10ms);
  }
  ADD_FAILURE() << "status not written";
}

TEST_F(QueueTest, RetriesTransientThenSucceeds) {
  local_.Script("b@loco", {Status::Transient("t1"), Status::Transient("t2")});
  NewQueue();
  ASSERT_TRUE(Put("a@loco", {"b@loco"}).ok());
  EXPECT_EQ(local_.WaitFor(3).size(), 3u);
  EXPECT_TRUE(WaitEmpty());
  EXPECT_EQ(local_.Count(), 3u);  // No DSN: it was delivered.
}

TEST_F(QueueTest, PermanentFailureSendsDSN) {
  auto dsn_before =
      metrics::NewCounter("chasquid/queue/dsnQueued", "")->Value();
  local_.Script("bad@loco", {Status::Permanent("no such user")});
  NewQueue();
  ASSERT_TRUE(Put("a@loco", {"bad@loco", "good@loco"}).ok());
  auto d = local_.WaitFor(3);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_TRUE(WaitEmpty());
  const Delivery& dsn = d[2];
  EXPECT_EQ(dsn.to, "a@loco");
  EXPECT_EQ(dsn.from, "<>");
  EXPECT_NE(dsn.data.find("X-Failed-Recipients: bad@loco, \n"),
            std::string::npos);
  EXPECT_NE(dsn.data.find("    no such user\n"), std::string::npos);
  EXPECT_EQ(metrics::NewCounter("chasquid/queue/dsnQueued", "")->Value(),
            dsn_before + 1);
}

TEST_F(QueueTest, NoDSNForNullSenderAndFailingDSNIsDropped) {
  local_.Script("bad@loco", {Status::Permanent("x")});
  // The DSN to a@loco fails too: it must not generate another DSN.
  local_.Script("a@loco", {Status::Permanent("y")});
  NewQueue();
  ASSERT_TRUE(Put("a@loco", {"bad@loco"}).ok());
  local_.WaitFor(2);
  EXPECT_TRUE(WaitEmpty());
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(local_.Count(), 2u);
}

TEST_F(QueueTest, GivesUpAndReportsPending) {
  local_.Script("b@loco", std::vector<Status>(100, Status::Transient("busy")));
  opts_.give_up_after = 150ms;
  NewQueue();
  ASSERT_TRUE(Put("a@far", {"b@loco"}).ok());
  EXPECT_TRUE(WaitEmpty());
  // The DSN goes to a@far through the remote courier, from <>.
  auto r = remote_.WaitFor(1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].from, "<>");
  EXPECT_NE(r[0].data.find("failed repeatedly and timed out, last error:\n"
                           "    busy\n"),
            std::string::npos);
  EXPECT_NE(r[0].data.find("Status: 4.0.0\n"), std::string::npos);
}

TEST_F(QueueTest, AliasTypesAndSenderRewriting) {
  aliases_.table["list@loco"] = {
      {"pipe cmd", aliases::RecipientType::kPipe, {}},
      {"x@other", aliases::RecipientType::kForward, {"mx1", "mx2"}},
      {"y@loco", aliases::RecipientType::kEmail, {}}};
  int64_t pipe_before = Attempts("pipe");
  int64_t fwd_before = Attempts("forward");
  NewQueue();
  ASSERT_TRUE(Put("user222@dodo", {"list@loco"}).ok());
  auto p = pipe_.WaitFor(1);
  auto f = remote_.WaitFor(1);
  auto l = local_.WaitFor(1);
  EXPECT_TRUE(WaitEmpty());
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].to, "pipe cmd");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].to, "x@other");
  EXPECT_EQ(f[0].via, (std::vector<std::string>{"mx1", "mx2"}));
  EXPECT_EQ(f[0].from, "list+fwd_from=user222=dodo@loco");
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].from, "user222@dodo");  // The MDA gets it unmodified.
  EXPECT_EQ(Attempts("pipe"), pipe_before + 1);
  EXPECT_EQ(Attempts("forward"), fwd_before + 1);
}

TEST_F(QueueTest, AliasErrorFailsPut) {
  NewQueue();
  auto r = Put("a@loco", {"broken@loco"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "error resolving aliases for \"broken@loco\": exit status 1");
  EXPECT_EQ(q_->Len(), 0u);
}

TEST_F(QueueTest, MaxItems) {
  local_.Script("b@loco", std::vector<Status>(100, Status::Transient("x")));
  opts_.max_items = 2;
  opts_.next_delay = [](auto) { return std::chrono::hours(1); };
  NewQueue();
  ASSERT_TRUE(Put("a@loco", {"b@loco"}).ok());
  ASSERT_TRUE(Put("a@loco", {"b@loco"}).ok());
  auto r = Put("a@loco", {"b@loco"});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().transient());
  EXPECT_EQ(r.status().message(), "Queue size too big, try again later");
  EXPECT_EQ(q_->Len(), 2u);
  std::string dump = q_->DumpText();
  EXPECT_NE(dump.find("length: 2\n"), std::string::npos) << dump;
  EXPECT_NE(dump.find("PENDING b@loco (EMAIL)\n  original address: b@loco\n"
                      "  last failure: \"x\"\n"),
            std::string::npos)
      << dump;
}

TEST_F(QueueTest, DumpTextPages) {
  local_.Script("b@loco", std::vector<Status>(10, Status::Transient("x")));
  opts_.next_delay = [](auto) { return std::chrono::hours(1); };
  NewQueue();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; i++) {
    auto id = Put("a@loco", {"b@loco"});
    ASSERT_TRUE(id.ok());
    ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end());
  // Whole: as before, no paging line.
  std::string all = q_->DumpText();
  EXPECT_NE(all.find("length: 3\n"), std::string::npos) << all;
  EXPECT_EQ(all.find("more items"), std::string::npos) << all;
  // Two per page, in ID order; "length:" is the whole queue's.
  std::string first = q_->DumpText("", 2);
  EXPECT_NE(first.find("length: 3\n"), std::string::npos) << first;
  size_t a = first.find("## Item " + ids[0] + "\n");
  size_t b = first.find("## Item " + ids[1] + "\n");
  EXPECT_NE(a, std::string::npos) << first;
  EXPECT_NE(b, std::string::npos) << first;
  EXPECT_LT(a, b);
  EXPECT_EQ(first.find("## Item " + ids[2]), std::string::npos) << first;
  EXPECT_TRUE(first.ends_with(
      "\n\n# 1 more items: /debug/queue?after=" + ids[1] + "&limit=2\n"))
      << first;
  std::string second = q_->DumpText(ids[1], 2);
  EXPECT_NE(second.find("length: 3\n"), std::string::npos) << second;
  EXPECT_EQ(second.find("## Item " + ids[1]), std::string::npos) << second;
  EXPECT_NE(second.find("## Item " + ids[2] + "\n"), std::string::npos)
      << second;
  EXPECT_EQ(second.find("more items"), std::string::npos) << second;
}

int64_t Written() {
  return metrics::NewCounter("chasquid/queue/itemsWritten", "")->Value();
}
int64_t Skipped() {
  return metrics::NewCounter("chasquid/queue/unchangedWritesSkipped", "")
      ->Value();
}

TEST_F(QueueTest, UnchangedStatusWritesAreSkipped) {
  local_.Script("b@loco", {Status::Transient("same"), Status::Transient("same"),
                           Status::Transient("other")});
  NewQueue();
  int64_t written = Written(), skipped = Skipped();
  auto id = Put("a@loco", {"b@loco"});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(local_.WaitCalls("b@loco", 4), 4);
  EXPECT_TRUE(WaitEmpty());
  // The Put, "same" (new text), "other"; the second "same" would have
  // written the very bytes on disk. The success is recorded by the
  // removal.
  EXPECT_EQ(Written() - written, 3);
  EXPECT_EQ(Skipped() - skipped, 1);
}

TEST_F(QueueTest, LoadedItemIsNotRewrittenForTheSameFailure) {
  fs::create_directories(opts_.dir);
  auto write_item = [this](const std::string& id) {
    Item item;
    item.id = id;
    item.from = "a@loco";
    item.to = {"b@loco"};
    item.data = std::make_shared<const std::string>("Subject: x\n\nhi\n");
    item.created_at = std::chrono::system_clock::now();
    Recipient r;
    r.address = r.original_address = "b@loco";
    r.last_failure_message = "same";
    std::ofstream(opts_.dir + "/m:" + id) << Marshal(item, {r});
  };
  // One as we write it; one with a byte of difference (a trailing newline
  // too many, as a hand edit might leave), which is written at once.
  write_item("asweWROTEit");
  write_item("handedited0");
  std::ofstream(opts_.dir + "/m:handedited0", std::ios::app) << "\n";
  struct stat before, edited;
  ASSERT_EQ(stat((opts_.dir + "/m:asweWROTEit").c_str(), &before), 0);
  ASSERT_EQ(stat((opts_.dir + "/m:handedited0").c_str(), &edited), 0);
  local_.Script("b@loco",
                {Status::Transient("same"), Status::Transient("same")});
  opts_.next_delay = [](auto) { return std::chrono::hours(1); };
  NewQueue();
  int64_t written = Written(), skipped = Skipped();
  ASSERT_TRUE(q_->Load().ok());
  EXPECT_EQ(local_.WaitCalls("b@loco", 2), 2);
  for (int i = 0; i < 500 && Written() - written < 1; i++) {
    std::this_thread::sleep_for(10ms);
  }
  for (int i = 0; i < 500 && Skipped() - skipped < 1; i++) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(Written() - written, 1);
  EXPECT_EQ(Skipped() - skipped, 1);
  struct stat after;
  ASSERT_EQ(stat((opts_.dir + "/m:asweWROTEit").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);  // Never replaced.
  // Written again (the counter moves as the write starts).
  for (int i = 0; i < 500; i++) {
    ASSERT_EQ(stat((opts_.dir + "/m:handedited0").c_str(), &after), 0);
    if (after.st_ino != edited.st_ino) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_NE(after.st_ino, edited.st_ino);
}

TEST_F(QueueTest, LoadsChasquidItemsAndSkipsGarbage) {
  fs::create_directories(opts_.dir);
  // As chasquid writes it (two spaces after ':'), with one recipient
  // already sent, and a file that does not parse.
  std::ofstream(opts_.dir + "/m:mid1234")
      << "ID:  \"mid1234\"\nfrom:  \"x@far\"\nTo:  \"a@loco\"\n"
         "To:  \"s@loco\"\n"
         "rcpt:  {\n  address:  \"a@loco\"\n  original_address:  \"a@loco\"\n"
         "}\nrcpt:  {\n  address:  \"s@loco\"\n  status:  SENT\n}\n"
         "data:  \"Subject: old\\n\\nbody\\n\"\n"
         "created_at_ts:  {\n  seconds:  "
      << std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count()
      << "\n}\n";
  std::ofstream(opts_.dir + "/m:garbage") << "this is { not a queue item";
  std::ofstream(opts_.dir + "/.m:tempfile") << "ID: \"tmp\"\n";
  NewQueue();
  ASSERT_TRUE(q_->Load().ok());
  auto l = local_.WaitFor(1);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].to, "a@loco");
  EXPECT_EQ(l[0].data, "Subject: old\n\nbody\n");
  for (int i = 0; i < 200 && fs::exists(opts_.dir + "/m:mid1234"); i++) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_FALSE(fs::exists(opts_.dir + "/m:mid1234"));
  // Moved aside, never deleted.
  EXPECT_FALSE(fs::exists(opts_.dir + "/m:garbage"));
  EXPECT_TRUE(fs::exists(opts_.dir + "/.quarantine/m:garbage"));
  EXPECT_TRUE(fs::exists(opts_.dir + "/.quarantine/.m:tempfile"));
  EXPECT_EQ(local_.Count(), 1u);
}

TEST_F(QueueTest, ExpiredItemGetsOnlyADSN) {
  fs::create_directories(opts_.dir);
  // Created one second after the Unix epoch: long expired.
  std::ofstream(opts_.dir + "/m:old1") << "ID: \"old1\"\nfrom: \"x@loco\"\n"
                                          "rcpt: {\n address: \"a@loco\"\n"
                                          " original_address: \"a@loco\"\n}\n"
                                          "data: \"Subject: old\\n\\nx\\n\"\n"
                                          "created_at_ts: { seconds: 1 }\n";
  NewQueue();
  ASSERT_TRUE(q_->Load().ok());
  auto l = local_.WaitFor(1);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].to, "x@loco");  // The DSN, not a@loco.
  EXPECT_EQ(l[0].from, "<>");
}

TEST_F(QueueTest, InitErrorIsGoStyle) {
  std::ofstream(root_ + "/file") << "x";
  opts_.dir = root_ + "/file/queue";
  auto q = DiskQueue::New(io_.get_executor(), opts_);
  ASSERT_FALSE(q.ok());
  // Go's MkdirAll names the component that is not a directory.
  EXPECT_EQ(q.status().message(), "mkdir " + root_ + "/file: not a directory");
}

TEST(NextDelayTest, Schedule) {
  auto now = std::chrono::system_clock::now();
  auto d = NextDelay(now);
  EXPECT_GE(d, 1min);
  EXPECT_LT(d, 2min);
  d = NextDelay(now - 3min);
  EXPECT_GE(d, 5min);
  EXPECT_LT(d, 6min);
  d = NextDelay(now - 7min);
  EXPECT_GE(d, 10min);
  d = NextDelay(now - 1h);
  EXPECT_GE(d, 20min);
  EXPECT_LT(d, 21min);
}

TEST(NewIDTest, Format) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; i++) {
    std::string id = NewID();
    EXPECT_EQ(id.size(), 11u);
    EXPECT_EQ(id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                   "opqrstuvwxyz0123456789-_"),
              std::string::npos);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace chasquid::queue

namespace chasquid::queue {
namespace {

// The unit tests run without tcmalloc (the daemon links it): nothing to
// set, so false; and an administrator's environment setting is never
// overridden, with or without it.
}  // namespace
}  // namespace chasquid::queue
