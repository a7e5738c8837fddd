#include "courier/mda.h"

#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace chasquid::courier {
namespace {

Status Deliver(Courier& c, std::string from, std::string to, std::string data) {
  net::io_context io;
  Status out = Status::Error("not run");
  net::co_spawn(
      io,
      c.Deliver(from, to, std::make_shared<const std::string>(std::move(data))),
      [&](std::exception_ptr, Status s) { out = s; });
  io.run();
  return out;
}

TEST(MDATest, Sanitize) {
  EXPECT_EQ(SanitizeForMDA("a b;c|d$e@x.y"), "abcde@x.y");
  EXPECT_EQ(SanitizeForMDA("<>"), "<>");
  EXPECT_EQ(SanitizeForMDA("ñ\t\x01(x)`!"), "ñx");
}

TEST(MDATest, Substitute) {
  EXPECT_EQ(SubstituteArg("%from%:%from_user%:%from_domain%", "a@b", "c@d"),
            "a@b:a:b");
  EXPECT_EQ(SubstituteArg("-d %to_user% %to_domain%%to%", "a@b", "c@d"),
            "-d c dc@d");
  EXPECT_EQ(SubstituteArg("%to_user%", "a", "nodomain"), "nodomain");
  EXPECT_EQ(SubstituteArg("%%to%%", "a", "b"), "%b%");
}

TEST(MDATest, CRLF) {
  EXPECT_EQ(ToCRLF("a\nb\r\nc"), "a\r\nb\r\nc");
  EXPECT_EQ(ToCRLF("\n\n"), "\r\n\r\n");
}

TEST(MDATest, DeliversWithArgsAndCRLF) {
  char dir[] = "/tmp/mdatestXXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string out = std::string(dir) + "/out";
  MDA mda("sh", {"-c", "cat > " + out + "; echo %from% %to_user% >> " + out});
  Status s = Deliver(mda, "x@y", "user@dom", "hi\nthere\n");
  EXPECT_TRUE(s.ok()) << s.message();
  FILE* f = fopen(out.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char buf[256] = {};
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  EXPECT_EQ(std::string(buf, n), "hi\r\nthere\r\nx@y user\n");
}

TEST(MDATest, ExitCodes) {
  MDA fail("sh", {"-c", "echo no such user; exit 1"});
  Status s = Deliver(fail, "a@b", "c@d", "x");
  EXPECT_TRUE(s.permanent());
  EXPECT_EQ(s.message(),
            "MDA delivery failed: exit status 1 - \"no such user\\n\"");
  MDA temp("sh", {"-c", "exit 75"});
  s = Deliver(temp, "a@b", "c@d", "x");
  EXPECT_TRUE(s.transient()) << s.message();
  MDA missing("no-such-mda-binary", {});
  s = Deliver(missing, "a@b", "c@d", "x");
  EXPECT_TRUE(s.permanent());
  EXPECT_EQ(s.message(),
            "MDA delivery failed: exec: \"no-such-mda-binary\": executable "
            "file not found in $PATH - \"\"");
}

TEST(MDATest, Timeout) {
  MDA slow("sleep", {"20"}, std::chrono::milliseconds(100));
  Status s = Deliver(slow, "a@b", "c@d", "x");
  EXPECT_TRUE(s.transient());
  EXPECT_EQ(s.message(), "operation timed out");
}

TEST(PipeTest, RunsCommandLine) {
  Pipe p;
  EXPECT_TRUE(Deliver(p, "a@b", "true", "x").ok());
  Status s = Deliver(p, "a@b", "false", "x");
  EXPECT_TRUE(s.permanent());
  EXPECT_EQ(s.message(), "exit status 1");
  EXPECT_EQ(Deliver(p, "a@b", "  ", "x").message(), "empty pipe");
  Pipe slow(std::chrono::milliseconds(100));
  s = Deliver(slow, "a@b", "sleep  20", "x");
  EXPECT_TRUE(s.permanent());
  EXPECT_EQ(s.message(), "signal: killed");
}

}  // namespace
}  // namespace chasquid::courier

namespace chasquid::courier {
namespace {

TEST(AsyncSemaphoreTest, BoundsConcurrencyAndWakesEveryone) {
  net::io_context io;
  chasquid::courier::AsyncSemaphore sem(2);
  int running = 0, max_running = 0, done = 0;
  for (int i = 0; i < 7; i++) {
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
          co_await sem.Acquire();
          running++;
          max_running = std::max(max_running, running);
          net::steady_timer t(co_await net::this_coro::executor,
                              std::chrono::milliseconds(5));
          co_await t.async_wait(net::use_awaitable);
          running--;
          done++;
          sem.Release();
        },
        net::detached);
  }
  io.run();
  EXPECT_EQ(done, 7);
  EXPECT_EQ(max_running, 2);
}

TEST(AsyncSemaphoreTest, ReleaseFromAnotherThread) {
  net::io_context io;
  chasquid::courier::AsyncSemaphore sem(1);
  bool second = false;
  std::thread releaser;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        co_await sem.Acquire();
        releaser = std::thread([&] {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          sem.Release();
        });
        co_await sem.Acquire();  // Waits for the other thread's Release.
        second = true;
      },
      net::detached);
  io.run();
  releaser.join();
  EXPECT_TRUE(second);
}

}  // namespace
}  // namespace chasquid::courier
