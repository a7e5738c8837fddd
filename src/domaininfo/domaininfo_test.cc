#include "domaininfo/domaininfo.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "metrics/metrics.h"
#include "testlib/testlib.h"

namespace chasquid::domaininfo {
namespace {

namespace fs = std::filesystem;

using testlib::TempDir;

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(DomainInfoTest, OutgoingLevelsOnlyGoUpAndPersist) {
  TempDir tmp;
  std::string dir = tmp.path() + "/domaininfo";
  auto db = DB::Open(dir);
  ASSERT_TRUE(db.ok()) << db.status().message();
  EXPECT_TRUE(fs::is_directory(dir));  // 0770 minus the umask, as in Go.

  EXPECT_TRUE((*db)->OutgoingSecLevel("srv-b", kPlain));
  // Unknown domains are written even at PLAIN.
  EXPECT_EQ(Slurp(dir + "/s:srv-b"), "name: \"srv-b\"\n");
  EXPECT_TRUE((*db)->OutgoingSecLevel("srv-b", kTlsSecure));
  EXPECT_EQ(Slurp(dir + "/s:srv-b"),
            "name: \"srv-b\"\noutgoing_sec_level: TLS_SECURE\n");
  EXPECT_EQ(fs::status(dir + "/s:srv-b").permissions() & fs::perms::all,
            fs::perms(0660));
  EXPECT_FALSE((*db)->OutgoingSecLevel("srv-b", kTlsInsecure));
  EXPECT_FALSE((*db)->OutgoingSecLevel("srv-b", kPlain));
  EXPECT_TRUE((*db)->OutgoingSecLevel("srv-b", kTlsSecure));
  // Incoming is independent.
  EXPECT_TRUE((*db)->IncomingSecLevel("srv-b", kPlain));

  // A fresh load sees the same state.
  auto db2 = DB::Open(dir);
  ASSERT_TRUE(db2.ok());
  EXPECT_FALSE((*db2)->OutgoingSecLevel("srv-b", kTlsInsecure));
}

TEST(DomainInfoTest, IncomingCountsAndClear) {
  TempDir tmp;
  auto db = DB::Open(tmp.path());
  ASSERT_TRUE(db.ok());
  auto* checks =
      metrics::NewMap("chasquid/smtpIn/securityLevelChecks", "result", "");
  int64_t pass = checks->Value("pass"), fail = checks->Value("fail");
  EXPECT_TRUE((*db)->IncomingSecLevel("ñandú.com", kTlsClient));
  EXPECT_FALSE((*db)->IncomingSecLevel("ñandú.com", kPlain));
  EXPECT_EQ(checks->Value("pass"), pass + 1);
  EXPECT_EQ(checks->Value("fail"), fail + 1);
  std::string file = tmp.path() + "/s:%C3%B1and%C3%BA.com";
  EXPECT_NE(Slurp(file).find("incoming_sec_level: TLS_CLIENT"),
            std::string::npos);

  EXPECT_FALSE((*db)->Clear("unknown.com").ok());
  ASSERT_TRUE((*db)->Clear("ñandú.com").ok());
  EXPECT_EQ(Slurp(file), "name: \"\\303\\261and\\303\\272.com\"\n");
  EXPECT_TRUE((*db)->IncomingSecLevel("ñandú.com", kPlain));
}

TEST(DomainInfoTest, IncomingWithoutWriteAnswersOnlyWhatNeedsNoWrite) {
  TempDir tmp;
  auto db = DB::Open(tmp.path());
  ASSERT_TRUE(db.ok());
  auto* checks =
      metrics::NewMap("chasquid/smtpIn/securityLevelChecks", "result", "");
  int64_t pass = checks->Value("pass"), fail = checks->Value("fail");
  // Unknown: its file must be written.
  EXPECT_EQ((*db)->IncomingSecLevelWithoutWrite("d.com", kPlain), std::nullopt);
  EXPECT_FALSE(fs::exists(tmp.path() + "/s:d.com"));
  EXPECT_TRUE((*db)->IncomingSecLevel("d.com", kPlain));
  EXPECT_EQ((*db)->IncomingSecLevelWithoutWrite("d.com", kPlain),
            std::optional<bool>(true));
  // A higher level is a write.
  EXPECT_EQ((*db)->IncomingSecLevelWithoutWrite("d.com", kTlsClient),
            std::nullopt);
  EXPECT_TRUE((*db)->IncomingSecLevel("d.com", kTlsClient));
  std::string file = tmp.path() + "/s:d.com";
  struct stat before;
  ASSERT_EQ(stat(file.c_str(), &before), 0);
  EXPECT_EQ((*db)->IncomingSecLevelWithoutWrite("d.com", kTlsClient),
            std::optional<bool>(true));
  EXPECT_EQ((*db)->IncomingSecLevelWithoutWrite("d.com", kPlain),
            std::optional<bool>(false));
  // Counted as IncomingSecLevel counts, and nothing was rewritten.
  EXPECT_EQ(checks->Value("pass"), pass + 4);
  EXPECT_EQ(checks->Value("fail"), fail + 1);
  struct stat after;
  ASSERT_EQ(stat(file.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

TEST(DomainInfoTest, LoadsChasquidFilesAndIgnoresOthers) {
  TempDir tmp;
  std::ofstream(tmp.path() + "/s:srv-a")
      << "name:  \"srv-a\"\nincoming_sec_level:  TLS_CLIENT\n";
  std::ofstream(tmp.path() + "/other") << "garbage";
  std::ofstream(tmp.path() + "/s:%zz") << "garbage";  // Does not unescape.
  auto db = DB::Open(tmp.path());
  ASSERT_TRUE(db.ok()) << db.status().message();
  ::domaininfo::Domain d;
  ASSERT_TRUE((*db)->Get("srv-a", &d));
  EXPECT_EQ(d.incoming_sec_level(), kTlsClient);
  EXPECT_FALSE((*db)->IncomingSecLevel("srv-a", kPlain));
}

TEST(DomainInfoTest, Errors) {
  TempDir tmp;
  std::ofstream(tmp.path() + "/s:bad") << "this is not a proto";
  auto db = DB::Open(tmp.path());
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().message().rfind("error loading \"bad\": ", 0), 0u)
      << db.status().message();

  std::ofstream(tmp.path() + "/file") << "";
  db = DB::Open(tmp.path() + "/file");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().message(),
            "mkdir " + tmp.path() + "/file: not a directory");
}

TEST(DomainInfoTest, LevelNames) {
  EXPECT_EQ(LevelName(kPlain), "PLAIN");
  EXPECT_EQ(LevelName(kTlsSecure), "TLS_SECURE");
}

}  // namespace
}  // namespace chasquid::domaininfo
