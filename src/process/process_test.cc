#include "process/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

namespace chasquid::process {
namespace {

Options Cmd(std::vector<std::string> argv) {
  Options o;
  o.argv = std::move(argv);
  o.timeout = std::chrono::seconds(10);
  return o;
}

TEST(ProcessTest, CapturesOutputAndStdin) {
  Options o = Cmd({"sh", "-c", "cat; echo err >&2"});
  o.stdin_data = std::make_shared<const std::string>("hello\n");
  Outcome r = RunSync(o);
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.output, "hello\nerr\n");
  EXPECT_EQ(r.exit_code, 0);
}

// The post-data hook gets a fixed environment, nothing of the daemon's.
TEST(ProcessTest, EnvironmentIsExactlyTheOneGiven) {
  setenv("CHASQUID_PROCESS_TEST_SECRET", "leak", 1);
  Options o = Cmd({"/usr/bin/env"});
  o.env = std::vector<std::string>{"A=1", "B=two"};
  Outcome r = RunSync(o);
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.output, "A=1\nB=two\n");
  // Unset: the daemon's own, unchanged.
  Outcome inherited = RunSync(Cmd({"/usr/bin/env"}));
  EXPECT_NE(inherited.output.find("CHASQUID_PROCESS_TEST_SECRET=leak\n"),
            std::string::npos);
  unsetenv("CHASQUID_PROCESS_TEST_SECRET");
}

TEST(ProcessTest, StderrApart) {
  Options o = Cmd({"sh", "-c", "echo out; echo err >&2; exit 3"});
  o.stderr_apart = true;
  Outcome r = RunSync(o);
  EXPECT_EQ(r.error, "exit status 3");
  EXPECT_EQ(r.output, "out\n");
  EXPECT_EQ(r.error_output, "err\n");
}

// The whole input exists before the child does: stdin is a regular
// (in-memory) file holding all of it, larger than any pipe buffer, so a
// child can never see a cut-short input as a complete one.
TEST(ProcessTest, StdinIsCompleteBeforeTheChildStarts) {
  Options o = Cmd({"sh", "-c", "stat -L -c %F /dev/stdin; wc -c"});
  o.stdin_data = std::make_shared<const std::string>(3 << 20, 'x');
  Outcome r = RunSync(o);
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.output, "regular file\n" + std::to_string(3 << 20) + "\n");
}

TEST(ProcessTest, ExitStatusText) {
  Outcome r = RunSync(Cmd({"sh", "-c", "exit 75"}));
  EXPECT_EQ(r.error, "exit status 75");
  EXPECT_EQ(r.exit_code, 75);
}

TEST(ProcessTest, NotFoundInPath) {
  Outcome r = RunSync(Cmd({"no-such-program-here"}));
  EXPECT_EQ(r.error,
            "exec: \"no-such-program-here\": executable file not found in "
            "$PATH");
  EXPECT_FALSE(r.started);
}

TEST(ProcessTest, BadPath) {
  Outcome r = RunSync(Cmd({"/nonexistent/prog"}));
  EXPECT_EQ(r.error, "fork/exec /nonexistent/prog: no such file or directory");
}

TEST(ProcessTest, TimeoutKillsGroup) {
  Options o = Cmd({"sh", "-c", "sleep 30 & sleep 30"});
  o.timeout = std::chrono::milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  Outcome r = RunSync(o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.error, "signal: killed");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ProcessTest, DoesNotInheritDescriptors) {
  // A socket without close-on-exec, like Asio's listeners.
  int s0 = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(s0, 0);
  int s = dup2(s0, 57);  // Far from what ls itself opens.
  close(s0);
  ASSERT_EQ(s, 57);
  Outcome r = RunSync(Cmd({"sh", "-c", "ls /proc/self/fd"}));
  close(s);
  EXPECT_TRUE(r.ok());
  // Only 0, 1, 2 and the fd ls opens for the directory listing itself.
  EXPECT_EQ(r.output.find(std::to_string(s) + "\n"), std::string::npos)
      << r.output;
}

TEST(ProcessTest, ChildThatIgnoresStdin) {
  Options o = Cmd({"true"});
  o.stdin_data = std::make_shared<const std::string>(std::string(1 << 20, 'x'));
  Outcome r = RunSync(o);
  EXPECT_TRUE(r.ok()) << r.error;
}

// Runs `sleep 30` (via sh, which writes its pid to a file first) from a
// helper process that then dies; returns the sleeper's pid.
pid_t SleeperOfDeadParent(bool die_with_parent) {
  char tmpl[] = "/tmp/process_test_XXXXXX";
  int fd = mkstemp(tmpl);
  close(fd);
  std::string pidfile = tmpl;
  unlink(tmpl);
  pid_t helper = fork();
  if (helper == 0) {
    std::thread([&] {
      Options o = Cmd({"sh", "-c", "echo $$ > " + pidfile + "; exec sleep 30"});
      o.die_with_parent = die_with_parent;
      o.timeout = std::chrono::seconds(60);
      RunSync(o);
    }).detach();
    for (int i = 0; i < 500 && access(pidfile.c_str(), F_OK) != 0; i++) {
      usleep(10000);
    }
    usleep(50000);  // Let sh exec sleep.
    _exit(0);
  }
  int st;
  waitpid(helper, &st, 0);
  pid_t pid = 0;
  std::ifstream(pidfile) >> pid;
  unlink(pidfile.c_str());
  return pid;
}

// Alive and not a zombie.
bool Running(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return false;
  auto p = line.rfind(')');
  return p != std::string::npos && p + 2 < line.size() && line[p + 2] != 'Z';
}

TEST(ProcessTest, ChildDiesWithTheDaemon) {
  pid_t pid = SleeperOfDeadParent(/*die_with_parent=*/true);
  ASSERT_GT(pid, 0);
  bool running = true;
  for (int i = 0; i < 500 && (running = Running(pid)); i++) usleep(10000);
  EXPECT_FALSE(running);
}

TEST(ProcessTest, ChildOutlivesTheDaemonWhenAsked) {
  pid_t pid = SleeperOfDeadParent(/*die_with_parent=*/false);
  ASSERT_GT(pid, 0);
  usleep(100000);
  EXPECT_TRUE(Running(pid));
  kill(pid, SIGKILL);
}

}  // namespace
}  // namespace chasquid::process
