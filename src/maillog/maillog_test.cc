#include "maillog/maillog.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

namespace chasquid::maillog {
namespace {

class MemSink : public Sink {
 public:
  explicit MemSink(std::string* out) : out_(out) {}
  Status Write(const std::string& line) override {
    if (fail_) return Status::Error("disk full");
    *out_ += line;
    return Status::Ok();
  }
  bool fail_ = false;

 private:
  std::string* out_;
};

TEST(MaillogTest, LineFormats) {
  std::string out;
  Logger l(std::make_unique<MemSink>(&out), false);
  l.Listening("127.0.0.1:25");
  l.Auth("1.2.3.4:5", "user@dom", true);
  l.Auth("1.2.3.4:5", "user@dom", false);
  l.AuthRefused("1.2.3.4:5", "user@dom", "too many failures from this client");
  l.Rejected("1.2.3.4:5", "a@b", {"c@d", "e@f"}, "relay not allowed");
  l.Rejected("1.2.3.4:5", "", {}, "security level check failed");
  l.Queued("1.2.3.4:5", "a@b", {"c@d"}, "ID1");
  l.SendAttempt("ID1", "a@b", "c@d", "", false);
  l.SendAttempt("ID1", "a@b", "c@d", "boom", false);
  l.SendAttempt("ID1", "a@b", "c@d", "bang", true);
  l.QueueLoop("ID1", "a@b", std::chrono::seconds(90));
  l.QueueLoop("ID1", "a@b", std::chrono::nanoseconds(0));
  EXPECT_EQ(out,
            "daemon listening on 127.0.0.1:25\n"
            "1.2.3.4:5 auth succeeded for user@dom\n"
            "1.2.3.4:5 auth failed for user@dom\n"
            "1.2.3.4:5 auth refused for user@dom - too many failures from "
            "this client\n"
            "1.2.3.4:5 rejected from=a@b to=[c@d e@f] - relay not allowed\n"
            "1.2.3.4:5 rejected - security level check failed\n"
            "ID1 from=a@b queued ip=1.2.3.4:5 to=[c@d]\n"
            "ID1 from=a@b to=c@d sent\n"
            "ID1 from=a@b to=c@d failed (temporary): boom\n"
            "ID1 from=a@b to=c@d failed (permanent): bang\n"
            "ID1 from=a@b completed loop, next in 1m30s\n"
            "ID1 from=a@b all done\n");
}

TEST(MaillogTest, Timestamps) {
  std::string out;
  Logger l(std::make_unique<MemSink>(&out), true);
  l.Listening("x");
  // "YYYY-MM-DD HH:MM:SS.ffffff daemon listening on x\n"
  const std::string shape = "dddd-dd-dd dd:dd:dd.dddddd ";
  ASSERT_EQ(out.size(),
            shape.size() + std::string("daemon listening on x\n").size())
      << out;
  for (size_t i = 0; i < shape.size(); i++) {
    if (shape[i] == 'd') {
      EXPECT_TRUE(isdigit(static_cast<unsigned char>(out[i]))) << out;
    } else {
      EXPECT_EQ(out[i], shape[i]) << out;
    }
  }
  EXPECT_EQ(out.substr(shape.size()), "daemon listening on x\n");
}

TEST(MaillogTest, WriteErrorDoesNotThrowOrRepeat) {
  std::string out;
  auto sink = std::make_unique<MemSink>(&out);
  sink->fail_ = true;
  Logger l(std::move(sink), false);
  l.Listening("x");
  l.Listening("y");
  EXPECT_EQ(out, "");
}

TEST(MaillogTest, FileDestination) {
  char tmpl[] = "/tmp/maillog_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string path = dir + "/sub/dir/mail.log";  // Parents are created.
  auto l = Logger::Open(path);
  ASSERT_TRUE(l.ok()) << l.status().message();
  (*l)->Listening("a");
  ASSERT_TRUE((*l)->Reopen().ok());
  (*l)->Listening("b");
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  EXPECT_NE(s.str().find(" daemon listening on a\n"), std::string::npos);
  EXPECT_NE(s.str().find(" daemon listening on b\n"), std::string::npos);
  auto bad = Logger::Open("/proc/nonexistent-dir/mail_log");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "open /proc/nonexistent-dir/mail_log: no such file or directory");
  ASSERT_EQ(system(("rm -rf " + dir).c_str()), 0);
}

TEST(MaillogTest, DefaultDiscardsUntilInit) {
  Listening("nowhere");  // Must not crash.
  std::string out;
  SetDefault(std::make_unique<Logger>(std::make_unique<MemSink>(&out), false));
  Queued("a", "b", {"c"}, "id");
  EXPECT_EQ(out, "id from=b queued ip=a to=[c]\n");
}

}  // namespace
}  // namespace chasquid::maillog
