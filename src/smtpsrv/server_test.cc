#include "smtpsrv/server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "smtpsrv/testutil.h"

namespace chasquid::smtpsrv {
namespace {

namespace net = boost::asio;

std::thread::id ThreadOf(net::io_context& io) {
  std::promise<std::thread::id> id;
  net::post(io, [&id] { id.set_value(std::this_thread::get_id()); });
  return id.get_future().get();
}

// The daemon runs each network thread's io_context apart (startup::
// IoThreads): connections must land on the contexts it gives, in turn,
// and a RCPT check that answers from memory must run on the
// connection's own thread, while one that may block goes to the pool.
TEST(ServerTest, ConnectionsTakeTheContextsInTurnAndRcptChecksStayOnThem) {
  // The connections' contexts outlive the main one: a pending accept
  // there holds a strand of theirs for the next socket.
  net::io_context a(1), b(1);
  net::io_context main_io(1);
  auto wm = net::make_work_guard(main_io);
  auto wa = net::make_work_guard(a);
  auto wb = net::make_work_guard(b);
  net::thread_pool pool(1);
  testlib::FakeQueue queue;
  std::mutex mu;
  std::vector<std::thread::id> seen;
  bool in_memory = true;
  Deps d;
  d.queue = &queue;
  d.blocking = &pool;
  d.local_domains = {"testserver"};
  d.user_exists = [&mu, &seen](const std::string& u,
                               const std::string&) -> Result<bool> {
    std::lock_guard<std::mutex> l(mu);
    seen.push_back(std::this_thread::get_id());
    return u == "user";
  };
  d.user_exists_never_blocks = [&mu, &in_memory](const std::string& domain) {
    std::lock_guard<std::mutex> l(mu);
    return in_memory && domain == "testserver";
  };
  Server srv(main_io, testing::TestServer::DefaultOptions(), std::move(d));
  srv.SetConnectionContexts({&a, &b});
  ASSERT_TRUE(srv.Listen("127.0.0.1:0", Mode::kSmtp).ok());
  srv.Start();
  std::thread tm([&main_io] { main_io.run(); });
  std::thread ta([&a] { a.run(); });
  std::thread tb([&b] { b.run(); });
  const std::thread::id main_thread = ThreadOf(main_io);
  const std::thread::id a_thread = ThreadOf(a), b_thread = ThreadOf(b);
  std::promise<std::thread::id> pid;
  net::post(pool, [&pid] { pid.set_value(std::this_thread::get_id()); });
  const std::thread::id pool_thread = pid.get_future().get();

  uint16_t port = srv.local_endpoints().at(0).port();
  auto rcpt = [port](const std::string& user) {
    testing::Client c(port);
    EXPECT_EQ(c.Reply().substr(0, 4), "220 ");
    EXPECT_EQ(c.Do("EHLO client").substr(0, 4), "250-");
    EXPECT_EQ(c.Do("MAIL FROM:<s@example.com>").substr(0, 4), "250 ");
    return c.Do("RCPT TO:<" + user + "@testserver>").substr(0, 4);
  };
  EXPECT_EQ(rcpt("user"), "250 ");
  EXPECT_EQ(rcpt("nobody"), "550 ");
  EXPECT_EQ(rcpt("user"), "250 ");
  EXPECT_EQ(rcpt("user"), "250 ");
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(seen, (std::vector<std::thread::id>{a_thread, b_thread, a_thread,
                                                  b_thread}));
    EXPECT_NE(a_thread, main_thread);
    seen.clear();
    in_memory = false;
  }
  EXPECT_EQ(rcpt("user"), "250 ");
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(seen, std::vector<std::thread::id>{pool_thread});
  }

  // Every connection ends (its client closed) before the contexts stop:
  // a connection's frame left pending on a or b would outlive main_io,
  // whose timer its deadline entry's owner holds.
  for (int i = 0; i < 1000 && srv.active().load() > 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(srv.active().load(), 0u);
  main_io.stop();
  a.stop();
  b.stop();
  tm.join();
  ta.join();
  tb.join();
  pool.join();
}

}  // namespace
}  // namespace chasquid::smtpsrv
