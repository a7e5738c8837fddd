#include "startup/startup.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "auth/auth.h"
#include "startup/wiring.h"

namespace chasquid::startup {
namespace {

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/daemon_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    char cwd[4096];
    ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
    old_cwd_ = cwd;
    ASSERT_EQ(chdir(dir_.c_str()), 0);
  }
  void TearDown() override {
    ASSERT_EQ(chdir(old_cwd_.c_str()), 0);
    ASSERT_EQ(system(("rm -rf '" + dir_ + "'").c_str()), 0);
  }
  void Sh(const std::string& cmd) { ASSERT_EQ(system(cmd.c_str()), 0) << cmd; }
  void MakeCert(const std::string& d) {
    Sh("mkdir -p " + d +
       " && openssl req -x509 -newkey ec -pkeyopt "
       "ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=x -keyout " +
       d + "/privkey.pem -out " + d + "/fullchain.pem 2>/dev/null");
  }
  std::string dir_, old_cwd_;
};

TEST_F(DaemonTest, ReadDirErrors) {
  auto r = ReadDirOrFail("certs/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "Error reading \"certs/\" directory: open certs/: no such file "
            "or directory");
  Sh("mkdir certs");
  r = ReadDirOrFail("certs/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "No entries found in \"certs/\"");
}

TEST_F(DaemonTest, DiscoverCerts) {
  MakeCert("certs/b");
  Sh("ln -s b certs/a && mkdir certs/c-empty && touch certs/README && "
     "ln -s README certs/d-file-link");
  auto r = DiscoverCerts();
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);  // a (symlink to b) and b.
  EXPECT_EQ((*r)[0].name, "a");
  EXPECT_EQ((*r)[0].cert_path, "certs/a/fullchain.pem");
  EXPECT_EQ((*r)[1].key_path, "certs/b/privkey.pem");
}

TEST_F(DaemonTest, BrokenCertsAreErrors) {
  MakeCert("certs/a");
  MakeCert("certs/b");
  // Mismatched key.
  Sh("cp certs/b/privkey.pem certs/a/privkey.pem");
  auto r = DiscoverCerts();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "    tls: private key does not match public key "
            "(certs/a/privkey.pem)");
  Sh("echo garbage > certs/a/fullchain.pem");
  EXPECT_EQ(
      CheckCertPair("certs/a/fullchain.pem", "certs/a/privkey.pem").message(),
      "tls: failed to find any PEM data in certificate input "
      "(certs/a/fullchain.pem)");
  Sh("printf -- '-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END "
     "CERTIFICATE-----\\n' > certs/a/fullchain.pem");
  EXPECT_EQ(
      CheckCertPair("certs/a/fullchain.pem", "certs/a/privkey.pem").message(),
      "x509: malformed certificate (certs/a/fullchain.pem)");
  Sh("echo nokey > certs/b/privkey.pem");
  EXPECT_EQ(
      CheckCertPair("certs/b/fullchain.pem", "certs/b/privkey.pem").message(),
      "tls: failed to find any PEM data in key input "
      "(certs/b/privkey.pem)");
  Sh("printf -- '-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE "
     "KEY-----\\n' > certs/b/privkey.pem");
  EXPECT_EQ(
      CheckCertPair("certs/b/fullchain.pem", "certs/b/privkey.pem").message(),
      "tls: failed to parse private key (certs/b/privkey.pem)");
}

TEST_F(DaemonTest, LoadDomains) {
  Sh("mkdir -p domains/Dom.COM domains/xn--aca-6ma domains/empty && "
     "touch domains/regular-file");
  Sh("echo \"users:{ key: 'u' value:{ plain:{ password: 'p' }}}\" > "
     "domains/Dom.COM/users");
  auth::Authenticator authr;
  authr.SetAuthDuration(std::chrono::nanoseconds(0));
  std::vector<std::string> local, aliased;
  DomainLoaders loaders;
  loaders.add_local_domain = [&](const std::string& d) { local.push_back(d); };
  loaders.load_aliases = [&](const std::string& d,
                             const std::string& dir) -> Result<int> {
    aliased.push_back(d + " " + dir);
    return 3;
  };
  auto r = LoadDomains(&authr, loaders);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(local, (std::vector<std::string>{"dom.com", "empty", "ñaca"}));
  EXPECT_EQ(aliased[0], "dom.com domains/Dom.COM");
  EXPECT_TRUE(*authr.Authenticate("u", "dom.com", "p"));
  EXPECT_FALSE(*authr.Exists("u", "empty"));

  // Users files are reloaded, including ones that appear later.
  Sh("echo \"users:{ key: 'v' value:{ denied:{}}}\" > domains/empty/users");
  ASSERT_TRUE(authr.Reload().ok());
  EXPECT_TRUE(*authr.Exists("v", "empty"));
  Sh("echo 'broken' > domains/empty/users");
  Status s = authr.Reload();
  EXPECT_EQ(s.message().rfind("\"empty\": domains/empty/users:", 0), 0u)
      << s.message();
}

TEST_F(DaemonTest, LoadDomainsErrors) {
  auth::Authenticator authr;
  Sh("mkdir -p domains/xn--- ");
  auto r = LoadDomains(&authr, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "Invalid name \"xn---\": idna: invalid label \"-\"");
  Sh("rmdir domains/xn--- && mkdir -p domains/d && echo 'x {' > "
     "domains/d/users");
  r = LoadDomains(&authr, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("  d: users file error: "
                                       "domains/d/users:",
                                       0),
            0u)
      << r.status().message();
  Sh("rm domains/d/users");
  DomainLoaders l;
  l.load_aliases = [](const std::string&, const std::string&) -> Result<int> {
    return Status::Error("bad alias");
  };
  r = LoadDomains(&authr, l);
  EXPECT_EQ(r.status().message(), "  d: aliases file error: bad alias");
  l.load_aliases = nullptr;
  l.load_dkim = [](const std::string&, const std::string&) -> Result<int> {
    return Status::Error("error decoding PEM block");
  };
  r = LoadDomains(&authr, l);
  EXPECT_EQ(r.status().message(),
            "  d: DKIM loading error: error decoding PEM block");
}

TEST_F(DaemonTest, CreateDataDir) {
  ASSERT_TRUE(CreateDataDir("data/sub").ok());
  struct stat st;
  ASSERT_EQ(stat("data/sub", &st), 0);
  EXPECT_EQ(st.st_mode & 07007, 0u);  // Nothing for others.
  Sh("touch afile");
  EXPECT_EQ(CreateDataDir("afile/x").message(), "mkdir afile: not a directory");
}

TEST(LimitAllocatorCachesTest, NoTcmallocOrAdminSettingLeavesItAlone) {
  unsetenv("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES");
  EXPECT_EQ(
      LimitAllocatorCaches(),
      dlsym(RTLD_DEFAULT, "MallocExtension_SetNumericProperty") != nullptr);
  setenv("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES", "8388608", 1);
  EXPECT_FALSE(LimitAllocatorCaches());
  unsetenv("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES");
}

}  // namespace
}  // namespace chasquid::startup
