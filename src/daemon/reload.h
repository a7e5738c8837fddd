// Reloading: every --testing__reload_every
// (default 30s) and on SIGHUP, reload the aliases files and then every
// user database. Any error is fatal, so a broken file is noticed at once
// rather than at the next restart.
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
#include <boost/asio/steady_timer.hpp>

#include "base/status.h"

namespace chasquid::daemon {

class Reloader {
 public:
  // `fatal_prefix` starts the fatal line, e.g. "Error reloading aliases: ".
  void Add(std::string fatal_prefix, std::function<Status()> step);

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
  std::vector<Step> steps_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::chrono::nanoseconds period_{};
};

}  // namespace chasquid::daemon
