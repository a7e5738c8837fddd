#include "smtpsrv/deadlines.h"

#include <vector>

#include <boost/asio/post.hpp>

namespace chasquid::smtpsrv {

struct Deadlines::Entry {
  // Guarded by the owner's mu_; nullptr once released.
  tcp::socket* socket = nullptr;
  Clock::time_point deadline = Clock::time_point::max();
  bool posted = false;  // The close is on its way (guarded by mu_).
  bool fired = false;   // Only touched on the socket's executor.
};

std::shared_ptr<Deadlines> Deadlines::New(net::io_context& io,
                                          Clock::duration tick) {
  return std::shared_ptr<Deadlines>(new Deadlines(io, tick));
}

Deadlines::Deadlines(net::io_context& io, Clock::duration tick)
    : tick_(tick), timer_(io) {}

void Deadlines::Start() { Arm(); }

void Deadlines::Stop() {
  std::lock_guard<std::mutex> l(mu_);
  stopped_ = true;
  timer_.cancel();
}

void Deadlines::Arm() {
  timer_.expires_after(tick_);
  // The sweeper keeps its owner alive; Stop() ends the chain.
  timer_.async_wait(
      [self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec) return;
        {
          std::lock_guard<std::mutex> l(self->mu_);
          if (self->stopped_) return;
        }
        self->Sweep();
        self->Arm();
      });
}

void Deadlines::Sweep() {
  const auto now = Clock::now();
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& e : entries_) {
    if (e->posted || !e->socket || e->deadline > now) continue;
    e->posted = true;
    // Closed on the connection's own strand, which is also where the
    // entry is released: the socket is alive when this runs, or the
    // handler sees socket == nullptr.
    net::post(e->socket->get_executor(), [self = shared_from_this(), e] {
      std::lock_guard<std::mutex> l2(self->mu_);
      if (!e->socket) return;
      e->fired = true;
      boost::system::error_code ignored;
      e->socket->close(ignored);
    });
  }
}

Deadlines::Handle Deadlines::Watch(tcp::socket* socket) {
  Handle h;
  h.owner_ = shared_from_this();
  h.entry_ = std::make_shared<Entry>();
  h.entry_->socket = socket;
  std::lock_guard<std::mutex> l(mu_);
  entries_.insert(h.entry_);
  return h;
}

size_t Deadlines::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return entries_.size();
}

void Deadlines::Handle::Set(Clock::time_point t) {
  if (!entry_) return;
  std::lock_guard<std::mutex> l(owner_->mu_);
  entry_->deadline = t;
}

bool Deadlines::Handle::Fired() const {
  if (!entry_) return false;
  std::lock_guard<std::mutex> l(owner_->mu_);
  return entry_->fired;
}

void Deadlines::Handle::Release() {
  if (!entry_) return;
  {
    std::lock_guard<std::mutex> l(owner_->mu_);
    entry_->socket = nullptr;
    owner_->entries_.erase(entry_);
  }
  entry_.reset();
  owner_.reset();
}

}  // namespace chasquid::smtpsrv
