// Fuzzes a whole SMTP session: the input's bytes are what one client sends
// to a real Server (listening on loopback, with a fake queue behind it,
// as in the unit tests), through the connection's state machine: the
// command reader, MAIL/RCPT checks, DATA and its dot reader, STARTTLS (the
// bytes after it are a TLS handshake, likely a broken one), AUTH, error
// counting. The first byte picks the port (SMTP or submission).
//
// Checks: the server answers every byte stream and hangs up at its end,
// every line it writes is a reply line ("NNN " or "NNN-"), and whatever
// it queued has recipients and stays within the size limit.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "smtpsrv/testutil.h"

namespace {

namespace ss = chasquid::smtpsrv;

// Everything the server wrote until it closed.
std::string Session(uint16_t port, const uint8_t* data, size_t size) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int err = 0;
  if (fd < 0) {
    err = errno;
  } else if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))) {
    err = errno;
    // libFuzzer's timeout alarm can interrupt connect too; the connection
    // then goes on in the background: wait for it and read its outcome.
    if (err == EINTR) {
      pollfd p{fd, POLLOUT, 0};
      while (poll(&p, 1, 10000) < 0 && errno == EINTR) {
      }
      socklen_t len = sizeof(err);
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
  }
  if (err != 0) {
    fprintf(stderr, "session_fuzz: connect: %s\n", strerror(err));
    abort();
  }
  // Closed with a reset, once the server has closed: no TIME_WAIT on
  // this side. A long run makes over a thousand connections a second,
  // and TIME_WAITs used up the local ports within minutes (connect then
  // failed with EADDRNOTAVAIL, in a 10-minute run).
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  std::string out;
  char buf[8192];
  size_t off = 0;
  bool closed_write = false;
  // The server's command timeout is a minute; it must not need one here.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (!closed_write) p.events |= POLLOUT;
    int r = poll(&p, 1, 1000);
    // libFuzzer's timeout alarm interrupts poll now and then: not an end.
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) abort();
    if (r == 0) {
      if (std::chrono::steady_clock::now() < deadline) continue;
      fprintf(stderr,
              "session_fuzz: no close after 30 s (sent %zu of %zu"
              " bytes); the server wrote:\n%s\n",
              off, size, out.c_str());
      abort();
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) break;  // Closed (or reset after our last bytes).
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (p.revents & POLLOUT) {
      ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) off += static_cast<size_t>(n);
      // Otherwise the server hung up.
      if (n < 0 && errno != EAGAIN && errno != EINTR) off = size;
      if (off == size) {
        shutdown(fd, SHUT_WR);
        closed_write = true;
      }
    }
  }
  close(fd);
  return out;
}

bool IsReplyLine(const std::string& l) {
  return l.size() >= 4 && l[0] >= '2' && l[0] <= '5' && isdigit(l[1]) &&
         isdigit(l[2]) && (l[3] == ' ' || l[3] == '-');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ss::testing::TestServer* srv = new ss::testing::TestServer();
  if (size == 0) return 0;
  ss::Mode mode = data[0] & 1 ? ss::Mode::kSubmission : ss::Mode::kSmtp;
  std::string out = Session(srv->port(mode), data + 1, size - 1);

  // After STARTTLS the server speaks TLS: only the lines before count.
  // The reply is a whole line (a 554 for a malformed header quotes the
  // client's line, which may hold the same words).
  size_t tls =
      out.find("\r\n220 2.0.0 You experience a strange sense of peace\r\n");
  if (tls != std::string::npos) out.resize(tls + 2);
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find("\r\n", pos);
    if (nl == std::string::npos) __builtin_trap();  // A reply cut short.
    if (!IsReplyLine(out.substr(pos, nl - pos))) __builtin_trap();
    pos = nl + 2;
  }
  // (Empty when a reset beat the greeting: the server closed on an error
  // with our bytes still unread.)
  if (!out.empty() && !out.starts_with("220 ")) __builtin_trap();

  for (const auto& m : srv->queue().Messages()) {
    if (m.to.empty() || m.to.size() > 100) __builtin_trap();
    if (m.data.size() >
        ss::testing::TestServer::DefaultOptions().max_data_size + 65536) {
      __builtin_trap();
    }
  }
  srv->queue().Clear();
  srv->ClearMaillog();
  return 0;
}
