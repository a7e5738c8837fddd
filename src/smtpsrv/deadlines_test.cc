#include "smtpsrv/deadlines.h"

#include <gtest/gtest.h>

#include <boost/asio/read.hpp>

namespace chasquid::smtpsrv {
namespace {

using namespace std::chrono_literals;
using Clock = Deadlines::Clock;

// A connected loopback pair: `server` is the watched end.
struct Pair {
  explicit Pair(net::io_context& io) : server(io), client(io) {
    tcp::acceptor acc(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    client.connect(acc.local_endpoint());
    acc.accept(server);
  }
  tcp::socket server, client;
};

TEST(DeadlinesTest, ClosesOnlyExpiredSockets) {
  net::io_context io;
  auto d = Deadlines::New(io, 10ms);
  Pair expired(io), later(io), none(io);
  auto h1 = d->Watch(&expired.server);
  auto h2 = d->Watch(&later.server);
  auto h3 = d->Watch(&none.server);
  EXPECT_EQ(d->size(), 3u);
  h1.Set(Clock::now() + 50ms);
  h2.Set(Clock::now() + 1h);

  char buf[16];
  boost::system::error_code ec1;
  bool done1 = false, done2 = false;
  expired.server.async_read_some(net::buffer(buf),
                                 [&](boost::system::error_code ec, size_t) {
                                   ec1 = ec;
                                   done1 = true;
                                 });
  char buf2[16];
  later.server.async_read_some(
      net::buffer(buf2),
      [&](boost::system::error_code, size_t) { done2 = true; });
  d->Start();
  auto start = Clock::now();
  while (!done1 && Clock::now() - start < 5s) io.run_one_for(100ms);
  ASSERT_TRUE(done1);
  EXPECT_TRUE(ec1);  // Aborted by the close.
  EXPECT_TRUE(h1.Fired());
  EXPECT_FALSE(expired.server.is_open());
  EXPECT_GE(Clock::now() - start, 40ms);
  // Neither the far deadline nor the unset one fired.
  io.run_for(100ms);
  EXPECT_FALSE(done2);
  EXPECT_FALSE(h2.Fired());
  EXPECT_TRUE(later.server.is_open());
  EXPECT_TRUE(none.server.is_open());
  d->Stop();
  io.run_for(50ms);
}

TEST(DeadlinesTest, ReleasedEntriesNeverFire) {
  net::io_context io;
  auto d = Deadlines::New(io, 10ms);
  Pair p(io);
  {
    auto h = d->Watch(&p.server);
    h.Set(Clock::now() - 1s);  // Already past.
  }                            // Released before any sweep.
  EXPECT_EQ(d->size(), 0u);
  d->Start();
  io.run_for(100ms);
  EXPECT_TRUE(p.server.is_open());
  d->Stop();
}

TEST(DeadlinesTest, MovedHandleKeepsItsEntry) {
  net::io_context io;
  auto d = Deadlines::New(io, 10ms);
  Pair p(io);
  Deadlines::Handle h;
  h = d->Watch(&p.server);
  Deadlines::Handle moved = std::move(h);
  EXPECT_EQ(d->size(), 1u);
  moved.Set(Clock::now());
  d->Start();
  auto start = Clock::now();
  while (p.server.is_open() && Clock::now() - start < 5s) io.run_one_for(50ms);
  EXPECT_TRUE(moved.Fired());
  moved.Release();
  EXPECT_EQ(d->size(), 0u);
  d->Stop();
}

}  // namespace
}  // namespace chasquid::smtpsrv
