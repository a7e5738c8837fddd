// Read/write deadlines for many connections without a timer each.
//
// An idle SMTP client costs what its connection holds while it waits. A
// timer per connection (Beast's tcp_stream keeps two, plus a pending wait
// for every read) was about a fifth of that. Instead, every connection
// keeps one small entry here with its current deadline, and one sweeper
// per server wakes every `tick` and closes the sockets whose deadline has
// passed; their pending read or write then fails and the connection sees
// Fired(). A deadline fires at most one tick late; the tick is a small
// fraction of the shortest timeout (Server picks it).
//
// Threading: Set/Fired/Release are called on the connection's strand; the
// sweeper runs anywhere. An entry's socket is only closed on the socket's
// own executor (the connection's strand), and never after Release().
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace chasquid::smtpsrv {

namespace net = boost::asio;
using tcp = net::ip::tcp;

class Deadlines : public std::enable_shared_from_this<Deadlines> {
 public:
  using Clock = std::chrono::steady_clock;
  struct Entry;

  // One connection's handle. Move-only; releases its entry when destroyed
  // (before the socket it watches is destroyed: declare it after it).
  class Handle {
   public:
    Handle() = default;
    Handle(Handle&&) = default;
    Handle& operator=(Handle&&) = default;
    ~Handle() { Release(); }

    // The socket's deadline from now on (time_point::max() = none).
    void Set(Clock::time_point t);
    // Whether the sweeper closed the socket because the deadline passed.
    bool Fired() const;
    void Release();

   private:
    friend class Deadlines;
    std::shared_ptr<Deadlines> owner_;
    std::shared_ptr<Entry> entry_;
  };

  static std::shared_ptr<Deadlines> New(net::io_context& io,
                                        Clock::duration tick);

  // Starts the sweeper on `io`; Stop() ends it (idempotent).
  void Start();
  void Stop();

  // Watches `socket`, which must outlive the handle.
  Handle Watch(tcp::socket* socket);

  size_t size() const;

 private:
  Deadlines(net::io_context& io, Clock::duration tick);
  void Sweep();
  void Arm();

  Clock::duration tick_;
  net::steady_timer timer_;
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::unordered_set<std::shared_ptr<Entry>> entries_;
};

}  // namespace chasquid::smtpsrv
