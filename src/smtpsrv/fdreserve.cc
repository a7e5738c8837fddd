#include "smtpsrv/fdreserve.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace chasquid::smtpsrv {

namespace {

int OpenReserve() { return open("/dev/null", O_RDONLY | O_CLOEXEC); }

}  // namespace

FdReserve::FdReserve() : fd_(OpenReserve()) {}

FdReserve::~FdReserve() {
  if (fd_ >= 0) close(fd_);
}

FdReserve::Result FdReserve::Shed(int listen_fd, const char* reply) {
  std::lock_guard<std::mutex> l(mu_);
  if (fd_ < 0) fd_ = OpenReserve();  // Lost last time; maybe back now.
  if (fd_ < 0) return Result::kFailed;
  // Only on a non-blocking socket (as Asio leaves its acceptors): a
  // blocking accept with nobody waiting would hang this thread.
  int flags = fcntl(listen_fd, F_GETFL);
  if (flags < 0 || !(flags & O_NONBLOCK)) return Result::kFailed;
  close(fd_);
  // Another thread may take the freed number first; then this accept
  // fails with EMFILE too and we say so.
  int c = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  int err = errno;
  if (c >= 0) {
    // A fresh socket's send buffer is empty: this does not block, and a
    // client that reads nothing cannot hold us.
    (void)!send(c, reply, strlen(reply), MSG_NOSIGNAL);
    close(c);
  }
  fd_ = OpenReserve();
  if (c >= 0) return Result::kShed;
  return err == EAGAIN || err == EWOULDBLOCK ? Result::kNoneWaiting
                                             : Result::kFailed;
}

}  // namespace chasquid::smtpsrv
