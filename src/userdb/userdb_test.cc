#include "userdb/userdb.h"
#include "testlib/testlib.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace chasquid::userdb {
namespace {

std::string Hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

class UserdbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    path_ = dir_ + "/users";
  }
  void WriteRaw(const std::string& s) { std::ofstream(path_) << s; }
  std::string ReadRaw() {
    std::ifstream f(path_);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  testlib::TempDir tmp_;
  std::string dir_, path_;
};

TEST(ScryptTest, Rfc7914Vector) {
  auto k = Scrypt("password", "NaCl", 10, 8, 16, 64);
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_EQ(Hex(*k),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

TEST(ScryptTest, InvalidParametersNeverAuthenticate) {
  EXPECT_FALSE(Scrypt("x", "s", 0, 8, 1, 32).ok());
  EXPECT_FALSE(Scrypt("x", "s", 14, 0, 1, 32).ok());
  EXPECT_FALSE(Scrypt("x", "s", 14, 8, 0, 32).ok());
  EXPECT_FALSE(Scrypt("x", "s", 14, 8, 1, 0).ok());
  EXPECT_FALSE(Scrypt("x", "s", 14, -1, 1, 32).ok());
  EXPECT_FALSE(Scrypt("x", "s", 63, 8, 1, 32).ok());  // Way too much memory.
  EXPECT_FALSE(Scrypt("x", "s", 30, 1 << 30, 1, 32).ok());
  Password pw;
  pw.mutable_scrypt()->set_logn(64);
  pw.mutable_scrypt()->set_r(8);
  pw.mutable_scrypt()->set_p(1);
  pw.mutable_scrypt()->set_keylen(32);
  EXPECT_FALSE(PasswordMatches(pw, ""));
  Password none;
  EXPECT_FALSE(PasswordMatches(none, ""));
}

TEST_F(UserdbTest, MissingFileIsEmpty) {
  auto db = DB::Load(path_);
  ASSERT_TRUE(db.ok()) << db.status().message();
  EXPECT_EQ((*db)->Len(), 0u);
  EXPECT_FALSE((*db)->Exists("a"));
  EXPECT_FALSE((*db)->Authenticate("a", ""));
}

TEST_F(UserdbTest, GoStyleInput) {
  // As the tests write it, and as chasquid-util writes it (t-20's salt).
  WriteRaw(
      "users:{ key: 'user' value:{ plain:{ password: 'secretpassword' }}}\n"
      "users:{ key: 'ñandú' value:{ plain:{ password: \"p\\x00\\303\\261ñ\" "
      "}}}\n"
      "users:  {\n  key:  \"rx\"\n  value:  {\n    denied:  {}\n  }\n}\n"
      "users:{ key: 'salty' value:{ scrypt:{ logN: 1 r: 1 p: 1 keyLen: 4 "
      "salt:  \"J\\x01\\xed7]\\x02\\n\\xe9;z[\\x8d˱\\x10\\xc1\" "
      "encrypted: 'xxxx' }}}\n"
      "users:{ key: 'user' value:{ plain:{ password: 'lastwins' }}}\n");
  auto db = DB::Load(path_);
  ASSERT_TRUE(db.ok()) << db.status().message();
  EXPECT_EQ((*db)->Len(), 4u);
  EXPECT_TRUE((*db)->Authenticate("user", "lastwins"));
  EXPECT_FALSE((*db)->Authenticate("user", "secretpassword"));
  EXPECT_TRUE((*db)->Authenticate("ñandú", std::string("p\0ññ", 6)));
  EXPECT_TRUE((*db)->Exists("rx"));
  EXPECT_FALSE((*db)->Authenticate("rx", ""));
  EXPECT_TRUE((*db)->Exists("salty"));
  EXPECT_FALSE((*db)->Authenticate("salty", "x"));
  EXPECT_FALSE((*db)->Authenticate("USER", "lastwins"));
}

TEST_F(UserdbTest, ParseErrorNamesFileLineColumn) {
  WriteRaw(
      "users:{ key: 'a' value:{ plain:{ password: 'x' }}}\n"
      "users:{ key: 'b' valu:{ }}\n");
  auto db = DB::Load(path_);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().message().rfind(path_ + ":2:", 0), 0u)
      << db.status().message();
  EXPECT_NE(db.status().message().find("valu"), std::string::npos);
}

TEST_F(UserdbTest, UnreadableFile) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads anything";
  WriteRaw("");
  chmod(path_.c_str(), 0);
  auto db = DB::Load(path_);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().message(), "open " + path_ + ": permission denied");
}

TEST_F(UserdbTest, ReadErrorIsNotMissing) {
  // A directory opens but cannot be read: works even as root.
  ASSERT_EQ(mkdir(path_.c_str(), 0755), 0);
  auto db = DB::Load(path_);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().message(), "read " + path_ + ": is a directory");
}

TEST_F(UserdbTest, AddWriteReloadRemove) {
  DB db(path_);
  ASSERT_TRUE(db.AddUser("ñandú", "pass word").ok());
  ASSERT_TRUE(db.AddDeniedUser("rx").ok());
  EXPECT_EQ(db.AddUser("Upper", "x").message(), "invalid username");
  EXPECT_EQ(db.AddUser("a b", "x").message(), "invalid username");
  EXPECT_EQ(db.AddDeniedUser("ÑANDÚ").message(), "invalid username");
  ASSERT_TRUE(db.Write().ok());
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  auto db2 = DB::Load(path_);
  ASSERT_TRUE(db2.ok()) << db2.status().message();
  EXPECT_TRUE((*db2)->Authenticate("ñandú", "pass word"));
  EXPECT_FALSE((*db2)->Authenticate("ñandú", "pass wore"));
  EXPECT_TRUE((*db2)->Exists("rx"));
  std::string text = ReadRaw();
  EXPECT_NE(text.find("logN: 14"), std::string::npos) << text;
  EXPECT_NE(text.find("keyLen: 32"), std::string::npos) << text;
  EXPECT_NE(text.find("denied {"), std::string::npos) << text;

  // Salts are random: the same password twice gives different entries.
  ASSERT_TRUE(db.AddUser("other", "pass word").ok());
  ProtoDB parsed = *ParseText(ToText(ProtoDB()), "x");
  EXPECT_EQ(parsed.users_size(), 0);

  EXPECT_TRUE((*db2)->RemoveUser("rx"));
  EXPECT_FALSE((*db2)->RemoveUser("rx"));
  ASSERT_TRUE((*db2)->Write().ok());
  ASSERT_TRUE(db.Reload().ok());
  EXPECT_FALSE(db.Exists("rx"));
  EXPECT_FALSE(db.Exists("other"));  // Reload replaced in-memory changes.
  EXPECT_TRUE(db.Authenticate("ñandú", "pass word"));
}

TEST_F(UserdbTest, ReloadErrorKeepsOldContents) {
  WriteRaw("users:{ key: 'a' value:{ plain:{ password: 'x' }}}\n");
  auto db = DB::Load(path_);
  ASSERT_TRUE(db.ok());
  WriteRaw("garbage");
  EXPECT_FALSE((*db)->Reload().ok());
  EXPECT_TRUE((*db)->Authenticate("a", "x"));
  unlink(path_.c_str());
  ASSERT_TRUE((*db)->Reload().ok());  // Missing again: empty.
  EXPECT_FALSE((*db)->Exists("a"));
}

}  // namespace
}  // namespace chasquid::userdb
