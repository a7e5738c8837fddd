// The remote courier against a scripted SMTP server on loopback: reply
// mapping, SMTPUTF8/IDNA, security levels and timeouts. (TLS and real peers
// are covered by tests/integration/test_remote_*.py.)
#include "courier/smtp.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <optional>

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "metrics/metrics.h"
#include "testlib/testlib.h"

namespace chasquid::courier {
namespace {

using net::ip::tcp;
constexpr auto kAwait = net::as_tuple(net::use_awaitable);

// Maps each command line to its reply; nullopt = never answer (stall).
using Responder = std::function<std::optional<std::string>(std::string)>;

class SmtpCourierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/courier_test.XXXXXX";
    dir_ = mkdtemp(tmpl);
    dinfo_ = std::move(domaininfo::DB::Open(dir_).value());
    Listen();
    // Every domain resolves to the test's server, with no MX (the implicit
    // MX: the domain itself).
    resolver_.Add("to.example", "A", "127.0.0.1");
    resolver_.Add("xn--and-6ma2c.example", "A", "127.0.0.1");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Deliver closes the acceptor when it is done; this opens it again.
  void Listen() {
    acceptor_ = tcp::acceptor(io_);
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
  }

  // The default server: a plain ESMTP server that accepts everything.
  static std::optional<std::string> Accept(const std::string& line) {
    if (line.rfind("EHLO", 0) == 0) return "250-fake\r\n250 8BITMIME";
    if (line == "DATA") return "354 go ahead";
    if (line == "QUIT") return "221 bye";
    return "250 ok";
  }

  net::awaitable<void> Serve(Responder respond, std::string greeting) {
    auto [ec, sock] = co_await acceptor_.async_accept(kAwait);
    if (ec) co_return;
    std::string buf;
    std::string hello = greeting + "\r\n";
    co_await net::async_write(sock, net::buffer(hello), kAwait);
    bool in_data = false;
    for (;;) {
      auto [rec, n] = co_await net::async_read_until(
          sock, net::dynamic_buffer(buf), '\n', kAwait);
      if (rec) co_return;
      std::string line = buf.substr(0, n - 2);
      buf.erase(0, n);
      if (in_data) {
        if (line != ".") {
          data_ += line + "\n";
          continue;
        }
        in_data = false;
        line = "<end of data>";
      }
      lines_.push_back(line);
      auto reply = respond(line);
      if (!reply) {
        net::steady_timer t(sock.get_executor(), std::chrono::seconds(30));
        co_await t.async_wait(kAwait);
        co_return;
      }
      if (line == "DATA" && reply->rfind("354", 0) == 0) in_data = true;
      std::string out = *reply + "\r\n";
      co_await net::async_write(sock, net::buffer(out), kAwait);
    }
  }

  Status Deliver(std::string from, std::string to, Responder respond,
                 std::string greeting = "220 fake ESMTP",
                 std::chrono::seconds session = std::chrono::seconds(10)) {
    SmtpOptions o;
    o.hostname = "me.example";
    o.port = std::to_string(acceptor_.local_endpoint().port());
    o.resolver = &resolver_;
    o.dinfo = dinfo_.get();
    o.session_timeout = session;
    o.blocking = blocking_;
    SmtpCourier courier(o);
    net::co_spawn(io_, Serve(respond, greeting), net::detached);
    std::optional<Status> out;
    net::co_spawn(
        io_,
        [&]() -> net::awaitable<void> {
          auto data = std::make_shared<const std::string>(head_);
          if (!via_.empty()) {
            std::vector<std::string> servers = via_;
            auto body = spool_;
            if (body) {
              out = co_await courier.ForwardSpooled(from, to, servers, data,
                                                    body);
            } else {
              out = co_await courier.Forward(from, to, servers, data);
            }
          } else if (spool_) {
            auto body = spool_;
            out = co_await courier.DeliverSpooled(from, to, data, body);
          } else {
            out = co_await courier.Deliver(from, to, data);
          }
          acceptor_.close();
          io_.stop();
        },
        net::detached);
    io_.run_for(std::chrono::seconds(20));
    return out.value_or(Status::Error("did not finish"));
  }

  net::io_context io_;
  tcp::acceptor acceptor_{io_};
  testlib::FakeResolver resolver_;
  std::string dir_;
  std::unique_ptr<domaininfo::DB> dinfo_;
  std::vector<std::string> lines_;
  std::string data_;
  // What Deliver sends: head_, then spool_'s contents when set.
  std::string head_ = "Subject: hi\n\n.x\n";
  std::shared_ptr<const safeio::Spool> spool_;
  // When set, Deliver forwards through these servers ("via") instead.
  std::vector<std::string> via_;
  // The courier's blocking pool (SmtpOptions::blocking).
  net::thread_pool* blocking_ = nullptr;
};

TEST_F(SmtpCourierTest, SpooledBodyIsSentWhole) {
  // Several of the courier's 64 KiB pieces, with dotted lines that fall
  // on piece boundaries too.
  std::string body, stuffed;
  for (int i = 0; body.size() < 300 * 1024; i++) {
    std::string line(i % 7 == 0 ? "." : "");
    line.append(i % 97, 'x');
    body += line;
    body += '\n';
    if (line.rfind(".", 0) == 0) stuffed += '.';
    stuffed += line;
    stuffed += '\n';
  }
  auto sp = safeio::Spool::Create(dir_, ".m:spool-");
  ASSERT_TRUE(sp.ok());
  ASSERT_TRUE((*sp)->Append(body).ok());
  spool_ = std::move(*sp);
  head_ = "Received: by me\n";
  Status s = Deliver("a@from.example", "b@to.example", Accept);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(data_, head_ + stuffed);
  spool_.reset();
}

TEST_F(SmtpCourierTest, SpooledBodyIsForwardedWhole) {
  // The same for a "via" alias: no MX lookup, the alias's server, and
  // the body read from its file a piece at a time.
  std::string body, stuffed;
  for (int i = 0; body.size() < 200 * 1024; i++) {
    // No "literal" + std::string: GCC 12 -O3 warns (-Wrestrict).
    std::string line =
        std::string(i % 5 == 0 ? "." : "").append(std::to_string(i));
    body.append(line).append("\n");
    if (line[0] == '.') stuffed.append(".");
    stuffed.append(line).append("\n");
  }
  auto sp = safeio::Spool::Create(dir_, ".m:spool-");
  ASSERT_TRUE(sp.ok());
  ASSERT_TRUE((*sp)->Append(body).ok());
  spool_ = std::move(*sp);
  head_ = "Received: by me\n";
  resolver_.Add("relay.example", "A", "127.0.0.1");
  via_ = {"relay.example"};
  Status s = Deliver("a@from.example", "b@elsewhere.example", Accept);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(lines_[2], "RCPT TO:<b@elsewhere.example>");
  EXPECT_EQ(data_, head_ + stuffed);
  spool_.reset();
}

TEST_F(SmtpCourierTest, SpooledBodyIsReadOnTheBlockingPool) {
  // A spooled body is read from its file while it is sent: those reads
  // must run on the blocking pool, never on the network thread that
  // sends it (here, the test's own, which runs the io_context), for
  // deliveries and "via" forwards alike.
  std::string body;
  for (int i = 0; body.size() < 512 * 1024; i++) {
    body += "line " + std::to_string(i) + " of a large body\n";
  }
  auto sp = safeio::Spool::Create(dir_, ".m:spool-");
  ASSERT_TRUE(sp.ok());
  ASSERT_TRUE((*sp)->Append(body).ok());
  ASSERT_FALSE((*sp)->in_memory());
  spool_ = std::move(*sp);
  head_ = "Received: by me\n";
  net::thread_pool pool(1);
  std::promise<pid_t> id;
  net::post(pool, [&id] { id.set_value(gettid()); });
  const pid_t pool_thread = id.get_future().get();
  const pid_t this_thread = gettid();
  blocking_ = &pool;
  resolver_.Add("relay.example", "A", "127.0.0.1");

  for (bool forward : {false, true}) {
    SCOPED_TRACE(forward ? "forward" : "deliver");
    via_.clear();
    if (forward) via_ = {"relay.example"};
    data_.clear();
    uint64_t pool0 = testlib::ThreadIoBytes(pool_thread, "rchar");
    uint64_t here0 = testlib::ThreadIoBytes(this_thread, "rchar");
    Status s = Deliver("a@from.example", "b@to.example", Accept);
    ASSERT_TRUE(s.ok()) << s.message();
    uint64_t pool_read = testlib::ThreadIoBytes(pool_thread, "rchar") - pool0;
    uint64_t here_read = testlib::ThreadIoBytes(this_thread, "rchar") - here0;
    EXPECT_EQ(data_, head_ + body);
    // All of it on the pool (the header block, for TLS-Required, too);
    // on this thread, only the reads of /proc above.
    EXPECT_GE(pool_read, body.size());
    EXPECT_LT(here_read, 16 * 1024u);
    io_.restart();
    Listen();
  }
  blocking_ = nullptr;
  spool_.reset();
}

TEST_F(SmtpCourierTest, PlainDelivery) {
  auto* tls = metrics::NewMap("chasquid/smtpOut/tlsCount", "", "");
  auto* checks =
      metrics::NewMap("chasquid/smtpOut/securityLevelChecks", "", "");
  int64_t plain = tls->Value("plain"), pass = checks->Value("pass");
  Status s = Deliver("a@from.example", "b@to.example", Accept);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(lines_,
            (std::vector<std::string>{
                "EHLO me.example", "MAIL FROM:<a@from.example> BODY=8BITMIME",
                "RCPT TO:<b@to.example>", "DATA", "<end of data>", "QUIT"}));
  EXPECT_EQ(data_, "Subject: hi\n\n..x\n");  // Still dot-stuffed here.
  EXPECT_EQ(tls->Value("plain"), plain + 1);
  EXPECT_EQ(checks->Value("pass"), pass + 1);
  ::domaininfo::Domain d;
  ASSERT_TRUE(dinfo_->Get("to.example", &d));
  EXPECT_EQ(d.outgoing_sec_level(), domaininfo::kPlain);
}

TEST_F(SmtpCourierTest, RcptRejectedIsPermanent) {
  Status s = Deliver("a@x", "b@to.example", [](std::string l) {
    if (l.rfind("RCPT", 0) == 0) {
      return std::optional<std::string>("550-5.1.1 no such user\r\n550 bye");
    }
    return Accept(l);
  });
  EXPECT_TRUE(s.permanent());
  EXPECT_EQ(s.message(), "MAIL+RCPT 550 \"5.1.1 no such user\\nbye\"");
}

TEST_F(SmtpCourierTest, TemporaryReplyTriesNextMXThenFails) {
  Status s = Deliver("a@x", "b@to.example", [](std::string l) {
    if (l == "<end of data>") return std::optional<std::string>("451 later");
    return Accept(l);
  });
  EXPECT_TRUE(s.transient());
  EXPECT_EQ(s.message(),
            "all MXs returned transient failures (last: DATA closing 451 "
            "\"later\")");
}

TEST_F(SmtpCourierTest, BadGreetingAndHelloFallback) {
  Status s = Deliver("a@x", "b@to.example", Accept, "554 go away");
  EXPECT_TRUE(s.transient());
  EXPECT_EQ(s.message(),
            "all MXs returned transient failures (last: Error creating "
            "client: 554 \"go away\")");
}

TEST_F(SmtpCourierTest, HeloWhenEhloIsRefused) {
  Status s = Deliver("a@x", "b@to.example", [](std::string l) {
    if (l.rfind("EHLO", 0) == 0) return std::optional<std::string>("502 no");
    return Accept(l);
  });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(lines_[1], "HELO me.example");
  EXPECT_EQ(lines_[2], "MAIL FROM:<a@x>");  // No extensions after HELO.
}

TEST_F(SmtpCourierTest, StallingPeerTimesOut) {
  auto start = std::chrono::steady_clock::now();
  Status s = Deliver(
      "a@x", "b@to.example",
      [](std::string l) {
        if (l == "DATA") return std::optional<std::string>();
        return Accept(l);
      },
      "220 fake", std::chrono::seconds(1));
  EXPECT_TRUE(s.transient());
  EXPECT_EQ(s.message(),
            "all MXs returned transient failures (last: DATA i/o timeout)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(SmtpCourierTest, UTF8WithoutSMTPUTF8) {
  // The domain goes as IDNA; a UTF-8 local part cannot go at all.
  Status s = Deliver("a@x", "b@ñandú.example", Accept);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(lines_[2], "RCPT TO:<b@xn--and-6ma2c.example>");
  lines_.clear();
  acceptor_ =
      tcp::acceptor(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  io_.restart();
  s = Deliver("a@x", "ñu@to.example", Accept);
  EXPECT_TRUE(s.permanent());
  EXPECT_EQ(s.message(),
            "MAIL+RCPT 599 \"local part is not ASCII but server does not "
            "support SMTPUTF8\"");
}

TEST_F(SmtpCourierTest, UTF8WithSMTPUTF8) {
  Status s = Deliver("ñu@x", "b@to.example", [](std::string l) {
    if (l.rfind("EHLO", 0) == 0) {
      return std::optional<std::string>("250-fake\r\n250 SMTPUTF8");
    }
    return Accept(l);
  });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(lines_[1], "MAIL FROM:<ñu@x> SMTPUTF8");
}

TEST_F(SmtpCourierTest, SecurityLevelDowngradeRefused) {
  ASSERT_TRUE(dinfo_->OutgoingSecLevel("to.example", domaininfo::kTlsSecure));
  auto* checks =
      metrics::NewMap("chasquid/smtpOut/securityLevelChecks", "", "");
  int64_t fail = checks->Value("fail");
  Status s = Deliver("a@x", "b@to.example", Accept);
  EXPECT_TRUE(s.transient());
  EXPECT_EQ(s.message(),
            "all MXs returned transient failures (last: Security level "
            "check failed (level:PLAIN))");
  EXPECT_EQ(checks->Value("fail"), fail + 1);
}

TEST_F(SmtpCourierTest, UnresolvableHostIsTransient) {
  resolver_.Add("to.example", "MX", "nx.example", 10);
  Status s = Deliver("a@x", "b@to.example", Accept);
  EXPECT_TRUE(s.transient());
  EXPECT_EQ(s.message(),
            "all MXs returned transient failures (last: Could not dial: "
            "dial tcp: lookup nx.example: no such host)");
}

}  // namespace
}  // namespace chasquid::courier
