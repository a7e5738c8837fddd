// Fuzzes the local RPC server's request parsing: the real Server, on a Unix
// socket in a temporary directory, given the bytes as one client would send
// them. A request is a method name, a space and url-encoded arguments; the
// "Echo" method answers its arguments back. Every answer must be a single
// "200 <values>" or "500 <text>" line, or no answer for a request that never
// ended; and a 200 must carry what the request carried.
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "localrpc/localrpc.h"

namespace {

namespace net = boost::asio;
namespace lr = chasquid::localrpc;

struct Fixture {
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work{
      io.get_executor()};
  net::thread_pool pool{1};
  std::unique_ptr<lr::Server> srv;
  std::string path;

  Fixture() {
    char dir[] = "/tmp/localrpc_fuzz.XXXXXX";
    if (!mkdtemp(dir)) abort();
    path = std::string(dir) + "/localrpc-v1";
    srv = std::make_unique<lr::Server>(io.get_executor(), &pool);
    srv->Register(
        "Echo",
        [](const lr::Values& v) -> chasquid::Result<lr::Values> { return v; });
    srv->Register("Fail",
                  [](const lr::Values&) -> chasquid::Result<lr::Values> {
                    return chasquid::Status::Error("failed\r\non purpose");
                  });
    if (!srv->Listen(path).ok()) abort();
    srv->Start();
  }
};

// The answer to `req`: everything the server wrote before closing. The
// server's event loop runs on this thread, between our socket calls: a
// thread hand-off per step made each input cost tens of milliseconds on a
// busy machine.
std::string RoundTrip(Fixture& f, const std::string& req) {
  const std::string& path = f.path;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) abort();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.data(), path.size());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    abort();
  }
  size_t off = 0;
  bool write_closed = false;
  std::string out;
  char buf[4096];
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    f.io.poll();
    if (!write_closed) {
      ssize_t n = send(fd, req.data() + off, req.size() - off,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) off += static_cast<size_t>(n);
      // The server may close early (a line over 64 KiB).
      if (off == req.size() || (n < 0 && errno != EAGAIN)) {
        shutdown(fd, SHUT_WR);
        write_closed = true;
      }
    }
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN)) break;
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    // The server's own deadline is 5 s; past 10 s it is stuck.
    if (std::chrono::steady_clock::now() > give_up) abort();
    f.io.run_one_for(std::chrono::milliseconds(1));
  }
  close(fd);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* f = new Fixture();
  std::string req(reinterpret_cast<const char*>(data), size);

  // The codec alone: what decodes re-encodes to something that decodes to
  // the same pairs (sorted by key, as Go's Encode does).
  if (auto v = lr::DecodeValues(req); v.ok()) {
    auto again = lr::DecodeValues(lr::EncodeValues(*v));
    if (!again.ok()) __builtin_trap();
    auto sorted = *v;
    std::stable_sort(
        sorted.begin(), sorted.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    if (*again != sorted) __builtin_trap();
  }

  std::string resp = RoundTrip(*f, req);
  if (resp.empty()) return 0;  // No complete line, or over 64 KiB.
  if (!resp.ends_with("\r\n")) __builtin_trap();
  std::string line = resp.substr(0, resp.size() - 2);
  if (line.find('\n') != std::string::npos) __builtin_trap();
  if (line.starts_with("500 ")) return 0;
  if (!line.starts_with("200 ")) __builtin_trap();
  // Only Echo answers 200: it must give back the request's arguments.
  size_t nl = req.find('\n');
  std::string first = req.substr(0, nl);
  while (!first.empty() && (first.back() == '\r' || first.back() == '\n')) {
    first.pop_back();
  }
  size_t sp = first.find(' ');
  auto sent =
      lr::DecodeValues(sp == std::string::npos ? "" : first.substr(sp + 1));
  auto got = lr::DecodeValues(line.substr(4));
  if (!sent.ok() || !got.ok()) __builtin_trap();
  auto sorted = *sent;
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  if (*got != sorted) __builtin_trap();
  return 0;
}
