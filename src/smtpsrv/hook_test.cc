#include "smtpsrv/hook.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

namespace chasquid::smtpsrv {
namespace {

std::string Script(const std::string& body) {
  char tmpl[] = "/tmp/hook-test-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string path = dir + "/post-data";
  std::ofstream(path) << "#!/bin/sh\n" << body;
  chmod(path.c_str(), 0755);
  return path;
}

TEST(HookTest, EnvironmentStdinAndStdout) {
  auto p = Script("echo \"X-Env: $(env | sort | tr '\\n' ' ')\"\n"
                  "echo \"X-Stdin: $(cat)\"\n");
  auto r = RunHook(p, {"A=1", "B=two"}, "hello", std::chrono::seconds(10));
  EXPECT_TRUE(r.started);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("X-Env: A=1 B=two"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("X-Stdin: hello\n"), std::string::npos) << r.out;
}

TEST(HookTest, ExitCodeAndErrorText) {
  auto r = RunHook(Script("echo first\necho 'Nos hacemos la permanente'\n"
                          "exit 20\n"),
                   {}, "", std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 20);
  EXPECT_EQ(HookErrorText(r.out), "Nos hacemos la permanente");
}

TEST(HookTest, NoFdsLeakIntoTheHook) {
  int fd = dup(1);  // Not close-on-exec.
  auto r = RunHook(Script("ls /proc/self/fd | wc -l\n"), {}, "",
                   std::chrono::seconds(10));
  close(fd);
  // 0, 1, 2 and the one ls opens to list the directory.
  EXPECT_EQ(r.out, "4\n");
}

TEST(HookTest, TimeoutKillsTheHookAndItsChildren) {
  auto start = std::chrono::steady_clock::now();
  auto r = RunHook(Script("echo partial\nsleep 30 &\nsleep 30\n"), {}, "",
                   std::chrono::milliseconds(300));
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(HookTest, NotExecutable) {
  auto r = RunHook("/nonexistent/hook", {}, "x", std::chrono::seconds(1));
  EXPECT_FALSE(r.started && r.exit_code == 0);
}

TEST(HookTest, LooksLikeHeaders) {
  EXPECT_TRUE(LooksLikeHeaders(""));
  EXPECT_TRUE(LooksLikeHeaders("X-A: b\n"));
  EXPECT_TRUE(LooksLikeHeaders("X-A: b\n\tc\nX-D: e\n"));
  EXPECT_FALSE(LooksLikeHeaders("\n"));
  EXPECT_FALSE(LooksLikeHeaders("X-A: b"));
  EXPECT_FALSE(LooksLikeHeaders("X-A: b\n\nX-C: d\n"));
  EXPECT_FALSE(LooksLikeHeaders(" cont\n"));
  EXPECT_FALSE(LooksLikeHeaders("no colon\n"));
  EXPECT_EQ(HookErrorText("only"), "");
  EXPECT_EQ(HookErrorText("a\nb\n"), "b");
  EXPECT_EQ(SanitizeEhloDomain("a b;c[1]:-."), "abc[1]:-.");
}

}  // namespace
}  // namespace chasquid::smtpsrv
