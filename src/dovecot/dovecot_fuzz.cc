// Fuzzes our side of the two Dovecot auth protocols: what a (broken or
// hostile) Dovecot answers on the userdb socket and on the client socket.
// A fake server thread accepts on both Unix sockets, writes the input's
// bytes, closes its writing side and reads until we hang up; the real
// dovecot::Auth client then runs Exists and Authenticate against it.
#include <fuzzer/FuzzedDataProvider.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "dovecot/dovecot.h"

namespace {

int Listen(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.data(), path.size());
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) ||
      listen(fd, 4)) {
    abort();
  }
  return fd;
}

// One fake Dovecot: answers every connection on either socket with the
// reply set for it.
struct FakeDovecot {
  std::string userdb_path, client_path;
  std::mutex mu;
  std::string userdb_reply, client_reply;  // Guarded by mu.

  FakeDovecot() {
    char dir[] = "/tmp/dovecot_fuzz.XXXXXX";
    if (!mkdtemp(dir)) abort();
    userdb_path = std::string(dir) + "/auth-userdb";
    client_path = std::string(dir) + "/auth-client";
    int u = Listen(userdb_path), c = Listen(client_path);
    std::thread([this, u, c] { Serve(u, c); }).detach();
  }

  void Serve(int u, int c) {
    while (true) {
      pollfd p[2] = {{u, POLLIN, 0}, {c, POLLIN, 0}};
      if (poll(p, 2, -1) <= 0) continue;
      bool is_userdb = p[0].revents & POLLIN;
      int conn = accept4(is_userdb ? u : c, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      std::string reply;
      {
        std::lock_guard<std::mutex> l(mu);
        reply = is_userdb ? userdb_reply : client_reply;
      }
      size_t off = 0;
      while (off < reply.size()) {
        ssize_t n =
            send(conn, reply.data() + off, reply.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      shutdown(conn, SHUT_WR);
      char buf[4096];
      while (recv(conn, buf, sizeof(buf), 0) > 0) {
      }
      close(conn);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace dc = chasquid::dovecot;
  static FakeDovecot* fake = new FakeDovecot();
  static dc::Auth* auth = [] {
    auto* a = new dc::Auth(fake->userdb_path, fake->client_path);
    a->SetTimeout(std::chrono::milliseconds(5000));
    return a;
  }();

  FuzzedDataProvider in(data, size);
  std::string user = in.ConsumeRandomLengthString(64);
  std::string userdb = in.ConsumeRandomLengthString(4096);
  std::string client = in.ConsumeRemainingBytesAsString();
  {
    std::lock_guard<std::mutex> l(fake->mu);
    fake->userdb_reply = userdb;
    fake->client_reply = client;
  }
  if (user.empty()) user = "user@example.com";
  bool safe = dc::IsUsernameSafe(user);

  auto exists = auth->Exists(user);
  // An answer needs the greeting first, and only a safe name is sent.
  if (exists.ok() && (!safe || !userdb.starts_with("VERSION\t1"))) {
    __builtin_trap();
  }
  auto ok = auth->Authenticate(user, "secret");
  if (ok.ok() && *ok && (!safe || client.find("OK\t1") == std::string::npos)) {
    __builtin_trap();
  }
  return 0;
}
