#include "daemon/reload.h"

#include <mutex>

#include "base/log.h"

namespace chasquid::daemon {

namespace {
// The periodic timer and SIGHUP may fire on different io threads.
std::mutex g_reload_mu;
}  // namespace

void Reloader::Add(std::string fatal_prefix, std::function<Status()> step) {
  steps_.push_back({std::move(fatal_prefix), std::move(step)});
}

void Reloader::ReloadAll() {
  std::lock_guard<std::mutex> l(g_reload_mu);
  for (const Step& s : steps_) {
    Status st = s.fn();
    if (!st.ok()) CLOG_FATAL(s.fatal_prefix + st.message());
  }
}

void Reloader::StartPeriodic(boost::asio::io_context& io,
                             std::chrono::nanoseconds period) {
  if (period <= std::chrono::nanoseconds::zero()) return;
  period_ = period;
  timer_ = std::make_unique<boost::asio::steady_timer>(io);
  Arm();
}

void Reloader::Arm() {
  timer_->expires_after(period_);
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    ReloadAll();
    Arm();
  });
}

}  // namespace chasquid::daemon
