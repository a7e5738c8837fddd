// Reloading: every --testing__reload_every
// (default 30s) and on SIGHUP, reload the aliases files and then every
// user database. Any error is fatal, so a broken file is noticed at once
// rather than at the next restart. SIGHUP first reopens the logs and
// reloads the domain info database; SIGTERM and SIGINT end the daemon.
//
// Components add their step in main, in the order they must run (aliases
// first, then "Error reloading authenticators: "). Thread-safe once
// started: Add only before StartPeriodic.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/status.h"

namespace chasquid::startup {

class Reloader {
 public:
  // `fatal_prefix` starts the fatal line, e.g. "Error reloading aliases: ".
  void Add(std::string fatal_prefix, std::function<Status()> step);

  // A step only SIGHUP runs, before the periodic ones (reopening logs,
  // reloading domaininfo). Its error is logged as "<error_prefix><error>",
  // at fatal level (exit 1) when `fatal`.
  void AddOnSignal(std::string error_prefix, bool fatal,
                   std::function<Status()> step);

  // From now on: SIGHUP logs "Received SIGHUP, reloading", runs the signal
  // steps and then ReloadAll; SIGTERM and SIGINT log the signal and exit
  // 0 at once (accepted mail is on disk already). `signals` must outlive
  // the io_context's run.
  void HandleSignals(boost::asio::signal_set& signals);

  // Runs every step in order; the first error logs
  // "<fatal_prefix><error>" at fatal level and exits 1.
  void ReloadAll();

  // Runs ReloadAll every `period` on `io` (blocking file reads, but the
  // files are small and this is what chasquid does too).
  void StartPeriodic(boost::asio::io_context& io,
                     std::chrono::nanoseconds period);

 private:
  void Arm();

  struct Step {
    std::string fatal_prefix;
    std::function<Status()> fn;
  };
  struct SignalStep {
    std::string error_prefix;
    bool fatal;
    std::function<Status()> fn;
  };
  void OnSignal(boost::asio::signal_set& signals, int sig);

  std::vector<Step> steps_;
  std::vector<SignalStep> signal_steps_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::chrono::nanoseconds period_{};
};

}  // namespace chasquid::startup
