#include "smtpsrv/fdreserve.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

namespace chasquid::smtpsrv {
namespace {

// A listening socket on 127.0.0.1 and a client connected to it (still in
// the backlog: nobody has accepted it).
struct Pair {
  int listener = -1;
  int client = -1;
  Pair(bool non_blocking) {
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(listen(listener, 8), 0);
    socklen_t len = sizeof(a);
    getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
    if (non_blocking) fcntl(listener, F_SETFL, O_NONBLOCK);
    client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  }
  ~Pair() {
    close(client);
    close(listener);
  }
  std::string ReadAll() const {
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = read(client, buf, sizeof(buf))) > 0) out.append(buf, n);
    return out;
  }
};

TEST(FdReserveTest, ShedsOneClientWhenOutOfDescriptors) {
  Pair p(/*non_blocking=*/true);
  FdReserve reserve;
  // Out of descriptors: the limit is what is open now.
  rlimit old;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  int probe = dup(0);
  ASSERT_GE(probe, 0);
  close(probe);
  rlimit low = old;
  low.rlim_cur = probe;  // The lowest free number: nothing above it.
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  EXPECT_LT(accept(p.listener, nullptr, nullptr), 0);
  EXPECT_EQ(errno, EMFILE);
  auto shed = reserve.Shed(p.listener, "421 busy\r\n");
  // Nobody else is waiting: the next one finds nothing, and says so.
  auto again = reserve.Shed(p.listener, "421 busy\r\n");
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  EXPECT_EQ(shed, FdReserve::Result::kShed);
  EXPECT_EQ(again, FdReserve::Result::kNoneWaiting);
  EXPECT_EQ(p.ReadAll(), "421 busy\r\n");
}

TEST(FdReserveTest, LeavesBlockingSocketsAlone) {
  Pair p(/*non_blocking=*/false);
  FdReserve reserve;
  EXPECT_EQ(reserve.Shed(p.listener, "421 busy\r\n"),
            FdReserve::Result::kFailed);
  // The client is still waiting to be accepted.
  int c = accept(p.listener, nullptr, nullptr);
  EXPECT_GE(c, 0);
  close(c);
}

}  // namespace
}  // namespace chasquid::smtpsrv
