#include "dovecot/dovecot.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace chasquid::dovecot {
namespace {

// A one-connection fake Dovecot: sends `greeting`, then reads lines until
// it has `expect_lines` of them, then sends `reply` and closes.
class FakeServer {
 public:
  FakeServer(const std::string& path, std::string greeting, int expect_lines,
             std::string reply)
      : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    unlink(path.c_str());
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 5), 0);
    thread_ = std::thread([this, greeting, expect_lines, reply] {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      // MSG_NOSIGNAL: the client may already have hung up (that is what
      // some cases test); no SIGPIPE for the test process.
      if (!greeting.empty()) {
        (void)!send(c, greeting.data(), greeting.size(), MSG_NOSIGNAL);
      }
      int lines = 0;
      char buf[1024];
      while (lines < expect_lines) {
        ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0) break;
        received_.append(buf, static_cast<size_t>(n));
        lines = 0;
        for (char ch : received_) lines += ch == '\n';
      }
      if (reply == "<hang>") {
        usleep(500 * 1000);
      } else if (!reply.empty()) {
        (void)!send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      }
      close(c);
    });
  }
  ~FakeServer() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
    unlink(path_.c_str());
  }
  std::string received() {
    thread_.join();
    thread_ = std::thread([] {});
    return received_;
  }

 private:
  std::string path_;
  int fd_;
  std::thread thread_;
  std::string received_;
};

class DovecotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dovecot_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    ASSERT_EQ(system(("rm -rf '" + dir_ + "'").c_str()), 0);
  }
  std::string dir_;
};

TEST_F(DovecotTest, ExistsProtocol) {
  Auth a(dir_ + "/userdb", dir_ + "/client");
  {
    FakeServer s(dir_ + "/userdb", "VERSION\t1\t1\nSPID\t123\n", 2,
                 "USER\t1\tuser@dom\tuid=1\n");
    auto r = a.Exists("user@dom");
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(*r);
    EXPECT_EQ(s.received(), "VERSION\t1\t1\nUSER\t1\tuser@dom\tservice=smtp\n");
  }
  {
    FakeServer s(dir_ + "/userdb", "VERSION\t1\t1\nSPID\t123\n", 2,
                 "NOTFOUND\t1\n");
    auto r = a.Exists("x");
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(*r);
  }
  {
    FakeServer s(dir_ + "/userdb", "VERSION\t1\t1\nSPID\t123\n", 2,
                 "WHAT\t1\n");
    EXPECT_EQ(a.Exists("x").status().message(),
              "invalid response: \"WHAT\\t1\"");
  }
  {
    FakeServer s(dir_ + "/userdb", "VERSION\t1\t1\nSPID\t123\n", 2, "");
    EXPECT_EQ(a.Exists("x").status().message(),
              "error receiving response: EOF");
  }
  {
    FakeServer s(dir_ + "/userdb", "VERSION\t2\t0\n", 0, "");
    EXPECT_EQ(a.Exists("x").status().message(),
              "error receiving version: got \"VERSION\\t2\\t0\"");
  }
  {
    FakeServer s(dir_ + "/userdb", "VERSION\t1\t1\nXPID\t1\n", 0, "");
    EXPECT_EQ(a.Exists("x").status().message(),
              "error receiving SPID: got \"XPID\\t1\"");
  }
}

TEST_F(DovecotTest, AuthenticateProtocol) {
  Auth a(dir_ + "/userdb", dir_ + "/client");
  {
    FakeServer s(dir_ + "/client",
                 "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nSPID\t1\nCUID\t2\n"
                 "COOKIE\tabc\nDONE\n",
                 3, "OK\t1\tuser=u@d\n");
    auto r = a.Authenticate("u@d", "pass");
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(*r);
    std::string got = s.received();
    EXPECT_EQ(
        got.rfind("VERSION\t1\t1\nCPID\t" + std::to_string(getpid()) + "\n", 0),
        0u);
    // base64("u@d\0u@d\0pass")
    EXPECT_NE(got.find("AUTH\t1\tPLAIN\tservice=smtp\tsecured\tno-penalty\t"
                       "nologin\tresp=dUBkAHVAZABwYXNz\n"),
              std::string::npos)
        << got;
  }
  {
    FakeServer s(dir_ + "/client", "DONE\n", 3, "FAIL\t1\tuser=u\n");
    auto r = a.Authenticate("u", "bad");
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(*r);
  }
  {
    FakeServer s(dir_ + "/client", "MECH\tPLAIN\n", 2, "");
    EXPECT_EQ(a.Authenticate("u", "p").status().message(),
              "error receiving handshake: EOF");
  }
}

TEST_F(DovecotTest, Errors) {
  Auth a(dir_ + "/userdb", dir_ + "/client");
  EXPECT_EQ(a.Exists("a b").status().message(),
            "username not safe (contains spaces)");
  EXPECT_EQ(a.Authenticate("a\u00a0b", "p").status().message(),
            "username not safe (contains spaces)");
  EXPECT_EQ(a.Exists("u").status().message(),
            "dial unix " + dir_ +
                "/userdb: connect: no such file or "
                "directory");
  EXPECT_TRUE(a.Exists("u").status().transient());
  EXPECT_EQ(a.Check().message(), "dial unix " + dir_ +
                                     "/userdb: connect: no such file or "
                                     "directory");
  EXPECT_EQ(a.String(),
            "DovecotAuth(\"" + dir_ + "/userdb\", \"" + dir_ + "/client\")");
  a.SetTimeout(std::chrono::milliseconds(100));
  FakeServer s(dir_ + "/userdb", "", 5, "<hang>");
  EXPECT_EQ(
      a.Exists("u").status().message(),
      "error receiving version: read unix ->" + dir_ + "/userdb: i/o timeout");
}

TEST(DovecotSafeTest, Usernames) {
  EXPECT_TRUE(IsUsernameSafe("user@dom"));
  EXPECT_TRUE(IsUsernameSafe("ñandú@dom"));
  for (const char* u : {"a b", "a\tb", "a\nb", "a\rb", "\u2003", "\u3000x"}) {
    EXPECT_FALSE(IsUsernameSafe(u)) << u;
  }
}

}  // namespace
}  // namespace chasquid::dovecot
