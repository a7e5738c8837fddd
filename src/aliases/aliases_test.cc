#include "aliases/aliases.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "metrics/metrics.h"
#include "testlib/testlib.h"

namespace chasquid::aliases {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Addrs(const Result<std::vector<Recipient>>& r) {
  std::vector<std::string> out;
  if (!r.ok()) return {"ERROR: " + r.status().message()};
  for (const auto& x : *r) {
    std::string t = x.type == RecipientType::kPipe      ? "pipe:"
                    : x.type == RecipientType::kForward ? "fwd:"
                                                        : "";
    out.push_back(t + x.addr);
  }
  return out;
}
using V = std::vector<std::string>;

class AliasesTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = tmp_.path(); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  FileResolver NewResolver() {
    return FileResolver("+", ".",
                        [this](const std::string& u, const std::string& d) {
                          return users_.count(u + "@" + d) > 0;
                        });
  }
  testlib::TempDir tmp_;
  std::string dir_;
  std::set<std::string> users_;
};

TEST_F(AliasesTest, FileFeatures) {
  auto r = NewResolver();
  auto n = r.AddAliasesFile("dom", Write("aliases",
                                         "# comment\n"
                                         "\n"
                                         "pepe: jose\n"
                                         "  añil : azul, Índigo,\n"
                                         "tubo: | writemailto ../x  \n"
                                         "list: a@far, b via mx1 / mx2\n"
                                         "again: first\n"
                                         "again: second\n"
                                         "juana.perez: juana\n"
                                         "juana.perez+fruta: fruta\n"
                                         "chain: pepe\r\n"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 8);
  EXPECT_EQ(Addrs(r.Resolve("pepe@dom")), V{"jose@dom"});
  EXPECT_EQ(Addrs(r.Resolve("añil@dom")), (V{"azul@dom", "índigo@dom"}));
  EXPECT_EQ(Addrs(r.Resolve("tubo@dom")), V{"pipe:writemailto ../x"});
  EXPECT_EQ(Addrs(r.Resolve("list@dom")), (V{"a@far", "fwd:b@dom"}));
  auto l = r.Resolve("list@dom");
  EXPECT_EQ((*l)[1].via, (V{"mx1", "mx2"}));
  EXPECT_EQ(Addrs(r.Resolve("again@dom")), V{"second@dom"});
  EXPECT_EQ(Addrs(r.Resolve("chain@dom")), V{"jose@dom"});
  EXPECT_EQ(Addrs(r.Resolve("x@notlocal")), V{"x@notlocal"});
  EXPECT_EQ(Addrs(r.Resolve("unknown@dom")), V{"unknown@dom"});
  // The docs' table: drop characters and suffixes on both sides.
  for (const char* a :
       {"juana.perez@dom", "juanaperez@dom", "ju.ana.pe.rez@dom",
        "juana.perez+abc@dom", "juanaperez+abc@dom"}) {
    EXPECT_EQ(Addrs(r.Resolve(a)), V{"juana@dom"}) << a;
  }
  for (const char* a : {"juana.perez+fruta@dom", "juanaperez+fruta@dom"}) {
    EXPECT_EQ(Addrs(r.Resolve(a)), V{"fruta@dom"}) << a;
  }
  EXPECT_TRUE(r.Exists("pepe@dom"));
  EXPECT_TRUE(r.Exists("juana.perez+x@dom"));
  EXPECT_FALSE(r.Exists("nobody@dom"));
}

TEST_F(AliasesTest, GarbageLinesAreSkipped) {
  auto r = NewResolver();
  auto n = r.AddAliasesFile("dom", Write("aliases",
                                         "good1: a\n"
                                         "no colon here\n"
                                         ": nolhs\n"
                                         "a@b: c\n"
                                         "p: |   \n"
                                         "f:  via mx\n"
                                         "g: x via mx//y\n"
                                         "good2: b\n"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(Addrs(r.Resolve("good1@dom")), V{"a@dom"});
  EXPECT_EQ(Addrs(r.Resolve("good2@dom")), V{"b@dom"});
}

TEST_F(AliasesTest, CatchAllAndUsers) {
  users_ = {"real@dom"};
  auto r = NewResolver();
  ASSERT_TRUE(r.AddAliasesFile("dom", Write("aliases",
                                            "*: *@other\n"
                                            "fixed: x\n"))
                  .ok());
  EXPECT_EQ(Addrs(r.Resolve("real@dom")), V{"real@dom"});
  EXPECT_EQ(Addrs(r.Resolve("someone@dom")), V{"someone@other"});
  // real+tag: the original user "real+tag" is not in the db: catch-all.
  EXPECT_EQ(Addrs(r.Resolve("real+tag@dom")), V{"real+tag@other"});
  // x@dom has no alias and no user: the catch-all applies to it too.
  EXPECT_EQ(Addrs(r.Resolve("fixed@dom")), V{"x@other"});
  EXPECT_TRUE(r.Exists("anything@dom"));
}

TEST_F(AliasesTest, RecursionLimit) {
  auto r = NewResolver();
  ASSERT_TRUE(r.AddAliasesFile("dom", Write("aliases", "a: b\nb: a\n")).ok());
  EXPECT_EQ(Addrs(r.Resolve("a@dom")), V{"ERROR: recursion limit exceeded"});
}

TEST_F(AliasesTest, MissingFileAndReload) {
  auto r = NewResolver();
  std::string p = dir_ + "/aliases";
  ASSERT_EQ(*r.AddAliasesFile("dom", p), 0);
  EXPECT_EQ(Addrs(r.Resolve("x@dom")), V{"x@dom"});
  Write("aliases", "x: y\n");
  ASSERT_TRUE(r.Reload().ok());
  EXPECT_EQ(Addrs(r.Resolve("x@dom")), V{"y@dom"});
  Write("aliases", "x: z\n");
  ASSERT_TRUE(r.Reload().ok());
  EXPECT_EQ(Addrs(r.Resolve("x@dom")), V{"z@dom"});
}

TEST_F(AliasesTest, Hook) {
  auto* results = metrics::NewMap("chasquid/aliases/hookResults", "", "");
  auto r = NewResolver();
  ASSERT_TRUE(r.AddAliasesFile("dom", Write("aliases", "f: fromfile\n")).ok());
  std::string hook = Write("hook",
                           "#!/bin/sh\n"
                           "case $1 in\n"
                           "  f@dom) echo 'extra, | cmd arg';;\n"
                           "  h@dom) echo 'a@x, b';;\n"
                           "  fail@dom) exit 1;;\n"
                           "  bad@dom) echo 'x: |';;\n"
                           "  slow@dom) sleep 10;;\n"
                           "esac\n");
  chmod(hook.c_str(), 0755);
  r.SetHookPath(dir_ + "/none");
  int64_t skip = results->Value("resolve:skip");
  EXPECT_EQ(Addrs(r.Resolve("f@dom")), V{"fromfile@dom"});
  EXPECT_GT(results->Value("resolve:skip"), skip);

  r.SetHookPath(hook);
  int64_t ok = results->Value("resolve:success");
  // File results first, then the hook's ("extra, | cmd arg" is one email
  // list: a pipe is only a pipe at the start).
  auto got = r.Resolve("h@dom");
  EXPECT_EQ(Addrs(got), (V{"a@x", "b@dom"}));
  EXPECT_GT(results->Value("resolve:success"), ok);
  EXPECT_TRUE(r.Exists("h@dom"));

  int64_t fail = results->Value("resolve:fail");
  EXPECT_EQ(Addrs(r.Resolve("fail@dom")), V{"ERROR: exit status 1"});
  EXPECT_EQ(results->Value("resolve:fail"), fail + 1);
  int64_t perr = results->Value("resolve:parse_err");
  EXPECT_FALSE(r.Resolve("bad@dom").ok());
  EXPECT_EQ(results->Value("resolve:parse_err"), perr + 1);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Addrs(r.Resolve("slow@dom")), V{"ERROR: signal: killed"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
}

TEST_F(AliasesTest, ExistsWithoutHookAnswersOnlyWhenNoHookCanRun) {
  auto* results = metrics::NewMap("chasquid/aliases/hookResults", "", "");
  auto r = NewResolver();
  ASSERT_TRUE(r.AddAliasesFile("dom", Write("aliases", "f: fromfile\n")).ok());
  // No hook configured: answered, and counted as Exists counts (one
  // "notset" per lookup: exact, cleaned, catch-all).
  int64_t notset = results->Value("resolve:notset");
  EXPECT_EQ(r.ExistsWithoutHook("f@dom"), std::optional<bool>(true));
  EXPECT_EQ(r.ExistsWithoutHook("f+tag@dom"), std::optional<bool>(true));
  EXPECT_EQ(r.ExistsWithoutHook("nobody@dom"), std::optional<bool>(false));
  EXPECT_EQ(results->Value("resolve:notset"), notset + 1 + 2 + 3);

  // A hook path whose file is missing: answered, counted as skips.
  std::string hook = dir_ + "/hook";
  r.SetHookPath(hook);
  int64_t skip = results->Value("resolve:skip");
  EXPECT_EQ(r.ExistsWithoutHook("nobody@dom"), std::optional<bool>(false));
  EXPECT_EQ(results->Value("resolve:skip"), skip + 3);

  // Once the hook is there, it must run: no answer without it, nothing
  // counted, and Exists (off the network threads) runs it.
  Write("hook", "#!/bin/sh\n[ \"$1\" = h@dom ] && echo x@y\nexit 0\n");
  chmod(hook.c_str(), 0755);
  int64_t success = results->Value("resolve:success");
  skip = results->Value("resolve:skip");
  EXPECT_EQ(r.ExistsWithoutHook("h@dom"), std::nullopt);
  EXPECT_EQ(r.ExistsWithoutHook("f@dom"), std::nullopt);
  EXPECT_EQ(results->Value("resolve:success"), success);
  EXPECT_EQ(results->Value("resolve:skip"), skip);
  EXPECT_TRUE(r.Exists("h@dom"));
  EXPECT_GT(results->Value("resolve:success"), success);
}

TEST(ParseRHSTest, Errors) {
  EXPECT_EQ(ParseRHS("|", "d").status().message(),
            "right-side: the pipe alias is missing a command");
  EXPECT_EQ(ParseRHS("a via mx/", "d").status().message(),
            "empty server in via list");
  EXPECT_TRUE(ParseRHS("a,,b,", "d").ok());
  EXPECT_EQ(ParseRHS("a,,b,", "d")->size(), 2u);
}

}  // namespace
}  // namespace chasquid::aliases
