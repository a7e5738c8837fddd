#include "safeio/safeio.h"
#include "testlib/testlib.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace chasquid::safeio {
namespace {

class SafeioTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = tmp_.path(); }
  std::string Read(const std::string& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  std::vector<std::string> List() {
    std::vector<std::string> out;
    DIR* d = opendir(dir_.c_str());
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    closedir(d);
    return out;
  }
  testlib::TempDir tmp_;
  std::string dir_;
};

TEST_F(SafeioTest, WritesWithModeAndReplaces) {
  std::string p = dir_ + "/users";
  ASSERT_TRUE(WriteFile(p, "one", 0660).ok());
  EXPECT_EQ(Read(p), "one");
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  ASSERT_TRUE(WriteFile(p, "two", 0600, {FsyncFileOp}).ok());
  EXPECT_EQ(Read(p), "two");
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(List(), std::vector<std::string>{"users"});  // No temp left.
}

TEST_F(SafeioTest, OpRunsOnTempAndItsErrorAborts) {
  std::string p = dir_ + "/x";
  ASSERT_TRUE(WriteFile(p, "old", 0644).ok());
  std::string seen;
  Status s = WriteFile(p, "new", 0644, {[&](const std::string& tmp, int) {
                         seen = tmp;
                         return Status::Error("boom");
                       }});
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "boom");
  EXPECT_EQ(seen.rfind(dir_ + "/.x", 0), 0u) << seen;
  EXPECT_EQ(Read(p), "old");
  EXPECT_EQ(List(), std::vector<std::string>{"x"});
}

TEST_F(SafeioTest, MissingDirIsAGoPathError) {
  Status s = WriteFile(dir_ + "/nodir/f", "x", 0600);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("open " + dir_ + "/nodir/.f", 0), 0u)
      << s.message();
  EXPECT_NE(s.message().find(": no such file or directory"), std::string::npos);
}

TEST_F(SafeioTest, RenameOntoDirectoryFailsAndCleansUp) {
  ASSERT_EQ(mkdir((dir_ + "/d").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir_ + "/d/sub").c_str(), 0755), 0);
  Status s = WriteFile(dir_ + "/d", "x", 0600);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("rename ", 0), 0u) << s.message();
  EXPECT_EQ(List(), std::vector<std::string>{"d"});
}

TEST_F(SafeioTest, MkdirAll) {
  ASSERT_TRUE(MkdirAll(dir_ + "/a/b/c", 0750).ok());
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/a/b/c").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_TRUE(MkdirAll(dir_ + "/a/b/c", 0750).ok());
  EXPECT_TRUE(MkdirAll(dir_ + "/a/b/", 0750).ok());
  ASSERT_TRUE(WriteFile(dir_ + "/f", "", 0600).ok());
  EXPECT_EQ(MkdirAll(dir_ + "/f", 0750).message(),
            "mkdir " + dir_ + "/f: not a directory");
  EXPECT_EQ(MkdirAll(dir_ + "/f/sub", 0750).message(),
            "mkdir " + dir_ + "/f: not a directory");
}

}  // namespace
}  // namespace chasquid::safeio
