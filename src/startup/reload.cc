#include "startup/reload.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <mutex>

#include "base/exit.h"
#include "base/log.h"

namespace chasquid::startup {

namespace {
// The periodic timer and SIGHUP may fire on different io threads.
std::mutex g_reload_mu;
}  // namespace

void Reloader::Add(std::string fatal_prefix, std::function<Status()> step) {
  steps_.push_back({std::move(fatal_prefix), std::move(step)});
}

void Reloader::AddOnSignal(std::string error_prefix, bool fatal,
                           std::function<Status()> step) {
  signal_steps_.push_back({std::move(error_prefix), fatal, std::move(step)});
}

void Reloader::HandleSignals(boost::asio::signal_set& signals) {
  signals.async_wait(
      [this, &signals](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        OnSignal(signals, sig);
      });
}

void Reloader::OnSignal(boost::asio::signal_set& signals, int sig) {
  if (sig != SIGHUP) {
    CLOG_INFO(std::string("Got signal to exit: ") + strsignal(sig));
    base::QuickExit(0);
  }
  CLOG_INFO("Received SIGHUP, reloading");
  for (const SignalStep& s : signal_steps_) {
    Status st = s.fn();
    if (st.ok()) continue;
    if (s.fatal) CLOG_FATAL(s.error_prefix + st.message());
    CLOG_ERROR(s.error_prefix + st.message());
  }
  ReloadAll();
  HandleSignals(signals);
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

}  // namespace chasquid::startup
