// Out of file descriptors: turning clients away instead of leaving them
// hanging.
//
// When the process reaches RLIMIT_NOFILE, accept(2) fails with EMFILE and
// the connection stays in the listen backlog, where its client waits for
// a greeting that only comes once another connection ends (or never: a
// client that gives up has still taken its place in the backlog). The
// usual cure (libev's and nginx's) keeps one descriptor in reserve: on
// EMFILE or ENFILE, close the reserve, accept the waiting connection with
// it, tell the client "421 4.3.2" and close it, then take the reserve
// back. Connections already open are untouched and finish their mail.
#pragma once

#include <mutex>

namespace chasquid::smtpsrv {

class FdReserve {
 public:
  // Opens the reserve (/dev/null). If that fails, Shed always fails.
  FdReserve();
  ~FdReserve();
  FdReserve(const FdReserve&) = delete;
  FdReserve& operator=(const FdReserve&) = delete;

  enum class Result {
    kShed,         // One client was answered and closed.
    kNoneWaiting,  // Nobody to turn away: wait for the next client.
    kFailed,       // No reserve, or a blocking socket: back off.
  };
  // Accepts one pending connection of the non-blocking listening socket
  // `listen_fd` with the reserve descriptor, writes `reply` to it, closes
  // it and takes the reserve back. Thread-safe: listeners share one
  // reserve.
  Result Shed(int listen_fd, const char* reply);

 private:
  std::mutex mu_;
  int fd_;  // Guarded by mu_; -1 if the reserve is lost.
};

}  // namespace chasquid::smtpsrv
