#include "safeio/dirsync.h"
#include "testlib/testlib.h"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace chasquid::safeio {
namespace {

TEST(DirSyncerTest, ConcurrentCallersAllSucceedAndShareSyncs) {
  testlib::TempDir tmp;
  std::string dir = tmp.path();
  std::atomic<uint64_t> syncs{0};
  DirSyncer syncer(dir, [&] { syncs++; });
  constexpr int kThreads = 8, kCalls = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; t++) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kCalls; i++) {
        // A rename into the directory, then the sync that makes it stay.
        std::string tmp = dir + "/.t" + std::to_string(t);
        std::ofstream(tmp) << i;
        std::string dst = dir + "/f" + std::to_string(t);
        if (rename(tmp.c_str(), dst.c_str()) != 0) failures++;
        uint64_t before = syncs.load();
        if (!syncer.Sync().ok()) failures++;
        // Served by an fsync that finished after the call began.
        if (syncs.load() <= before) failures++;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  // Never more fsyncs than calls; each call got one that began after it.
  EXPECT_GE(syncs.load(), 1u);
  EXPECT_LE(syncs.load(), static_cast<uint64_t>(kThreads * kCalls));
}

// Waiters sleep on conditions of their own: when a batch ends, the next
// batch's leader must be woken, or callers that arrived during an fsync
// would wait forever. Many short rounds of many callers make every
// interleaving of "arrive during an fsync" likely; a lost wake-up hangs.
TEST(DirSyncerTest, CallersArrivingDuringAnFsyncAreServedByTheNext) {
  testlib::TempDir tmp;
  std::atomic<uint64_t> syncs{0};
  DirSyncer syncer(tmp.path(), [&] { syncs++; });
  constexpr int kThreads = 16, kCalls = 100;
  std::atomic<int> done{0}, failures{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; t++) {
    ts.emplace_back([&] {
      for (int i = 0; i < kCalls; i++) {
        if (!syncer.Sync().ok()) failures++;
        done++;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(done.load(), kThreads * kCalls);
  // Shared: far fewer fsyncs than calls when callers overlap.
  EXPECT_LE(syncs.load(), static_cast<uint64_t>(kThreads * kCalls));
}

TEST(DirSyncerTest, MissingDirectoryIsAnError) {
  DirSyncer syncer("/nonexistent-dirsync-test");
  Status s = syncer.Sync();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "open /nonexistent-dirsync-test: no such file or directory");
}

}  // namespace
}  // namespace chasquid::safeio
