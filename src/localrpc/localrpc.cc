#include "localrpc/localrpc.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "base/async.h"
#include "base/log.h"
#include "base/strings.h"
#include "metrics/metrics.h"
#include "nettrace/trace.h"

namespace chasquid::localrpc {

namespace {

using net::local::stream_protocol;
using namespace net::experimental::awaitable_operators;

// A request is one short line; a reply may carry a whole queue listing
// (queue/rpc.h bounds it at 8 MiB of JSON, up to three times that once
// URL-encoded).
constexpr size_t kMaxLine = 64 * 1024;
constexpr size_t kMaxReply = 32 << 20;

// Ours: calls by "<method>:<result>" (ok or error). Methods nobody
// registered count as "unknown", so a client cannot grow the map.
metrics::CounterMap* calls =
    metrics::NewMap("chasquid/localrpc/calls", "method_result",
                    "local RPC calls (chasquid-util), by method and result");

struct Reply {
  Status status;
  Values values;
};

// An error text as one reply line: a handler's error may quote what the
// request carried (decoded, so CR and LF are possible), and a line break
// would end the reply early and leave the rest to be read as garbage.
std::string OneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\r', ' ');
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

}  // namespace

std::string EncodeValues(const Values& v) {
  Values sorted = v;
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [k, val] : sorted) {
    if (!out.empty()) out += '&';
    out += QueryEscape(k) + "=" + QueryEscape(val);
  }
  return out;
}

Result<Values> DecodeValues(std::string_view s) {
  Values out;
  for (const auto& part : Split(s, "&")) {
    if (part.empty()) continue;
    if (part.find(';') != std::string::npos) {
      return Status::Error("invalid semicolon separator in query");
    }
    auto eq = part.find('=');
    std::string k = part.substr(0, eq);
    std::string v = eq == std::string::npos ? "" : part.substr(eq + 1);
    auto uk = QueryUnescape(k);
    if (!uk.ok()) return uk.status();
    auto uv = QueryUnescape(v);
    if (!uv.ok()) return uv.status();
    out.emplace_back(std::move(*uk), std::move(*uv));
  }
  return out;
}

std::string Get(const Values& v, const std::string& key) {
  for (const auto& [k, val] : v) {
    if (k == key) return val;
  }
  return "";
}

struct Server::Impl : std::enable_shared_from_this<Impl> {
  Impl(net::any_io_executor ex, net::thread_pool* pool)
      : ex(ex), pool(pool), acceptor(ex) {}

  net::awaitable<void> AcceptLoop() {
    for (;;) {
      auto [ec, sock] =
          co_await acceptor.async_accept(net::as_tuple(net::use_awaitable));
      if (ec) {
        if (ec == net::error::operation_aborted) co_return;
        CLOG_ERROR("localrpc: accept error: " + ec.message());
        continue;
      }
      net::co_spawn(ex, Serve(shared_from_this(), std::move(sock)),
                    net::detached);
    }
  }

  static net::awaitable<void> Serve(std::shared_ptr<Impl> self,
                                    stream_protocol::socket sock) {
    try {
      co_await self->Handle(sock);
    } catch (const std::exception& e) {
      CLOG_ERROR(std::string("localrpc: exception: ") + e.what());
    }
  }

  net::awaitable<void> Handle(stream_protocol::socket& sock) {
    // One request per connection, 5 s for all of it.
    net::steady_timer deadline(ex);
    deadline.expires_after(std::chrono::seconds(5));
    std::string buf;
    auto read = net::async_read_until(sock, net::dynamic_buffer(buf, kMaxLine),
                                      "\n", net::as_tuple(net::use_awaitable));
    // Each awaitable is named before the co_await (GCC 12; base/async.h).
    auto read_timeout = deadline.async_wait(net::as_tuple(net::use_awaitable));
    auto read_race = std::move(read) || std::move(read_timeout);
    auto r = co_await std::move(read_race);
    if (r.index() != 0) co_return;
    auto [ec, n] = std::get<0>(r);
    if (ec) co_return;
    std::string line = buf.substr(0, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
      line.pop_back();
    }
    auto sp = line.find(' ');
    std::string method = line.substr(0, sp);
    std::string args = sp == std::string::npos ? "" : line.substr(sp + 1);
    nettrace::Trace tr("LocalRPC", method);

    std::string resp;
    auto it = handlers.find(method);
    if (it == handlers.end()) {
      resp = "500 unknown method";
      calls->Add("unknown:error");
    } else if (auto vals = DecodeValues(args); !vals.ok()) {
      resp = "500 " + OneLine(vals.status().message());
      calls->Add(method + ":error");
    } else {
      Handler h = it->second;
      auto call = [h, v = std::move(*vals)] {
        auto res = h(v);
        return res.ok() ? Reply{Status::Ok(), std::move(*res)}
                        : Reply{res.status(), {}};
      };
      Reply rep = co_await RunBlocking(*pool, std::move(call));
      if (rep.status.ok()) {
        resp = "200 " + EncodeValues(rep.values);
        calls->Add(method + ":ok");
      } else {
        tr.Error(rep.status.message());
        resp = "500 " + OneLine(rep.status.message());
        calls->Add(method + ":error");
      }
    }
    tr.Debugf(resp);
    resp += "\r\n";
    auto write = net::async_write(sock, net::buffer(resp),
                                  net::as_tuple(net::use_awaitable));
    auto write_timeout = deadline.async_wait(net::as_tuple(net::use_awaitable));
    auto write_race = std::move(write) || std::move(write_timeout);
    co_await std::move(write_race);
  }

  net::any_io_executor ex;
  net::thread_pool* pool;
  stream_protocol::acceptor acceptor;
  std::map<std::string, Handler> handlers;
};

Server::Server(net::any_io_executor ex, net::thread_pool* pool)
    : impl_(std::make_shared<Impl>(ex, pool)) {}

Server::~Server() {
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

void Server::Register(std::string method, Handler h) {
  impl_->handlers[std::move(method)] = std::move(h);
}

Status Server::Listen(const std::string& path) {
  unlink(path.c_str());
  boost::system::error_code ec;
  stream_protocol::endpoint ep(path);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (ec) {
    return Status::Error("listen unix " + path +
                         ": bind: " + ErrnoText(ec.value()));
  }
  impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Error("listen unix " + path +
                         ": listen: " + ErrnoText(ec.value()));
  }
  // Not inherited by MDAs or hooks (they close every descriptor anyway).
  fcntl(impl_->acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
  return Status::Ok();
}

void Server::Start() {
  net::co_spawn(impl_->ex, impl_->AcceptLoop(), net::detached);
}

Result<Values> Call(const std::string& socket_path, const std::string& method,
                    const Values& args) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Error("socket: " + ErrnoText(errno));
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    close(fd);
    return Status::Error("dial unix " + socket_path +
                         ": connect: invalid argument");
  }
  memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Status s = Status::Error("dial unix " + socket_path +
                             ": connect: " + ErrnoText(errno));
    close(fd);
    return s;
  }
  std::string req = method + " " + EncodeValues(args) + "\r\n";
  const char* p = req.data();
  size_t left = req.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = Status::Error("write: " + ErrnoText(errno));
      close(fd);
      return s;
    }
    p += n;
    left -= n;
  }
  std::string resp;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  size_t nl = std::string::npos;
  while (nl == std::string::npos && resp.size() < kMaxReply) {
    int ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                 deadline - std::chrono::steady_clock::now())
                 .count();
    struct pollfd pfd = {fd, POLLIN, 0};
    if (ms <= 0 || poll(&pfd, 1, ms) == 0) {
      close(fd);
      return Status::Error("read unix " + socket_path + ": i/o timeout");
    }
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    // Only the new bytes are searched: a reply may be megabytes long.
    size_t was = resp.size();
    resp.append(buf, n);
    nl = resp.find('\n', was);
  }
  close(fd);
  if (nl == std::string::npos) return Status::Error("unexpected EOF");
  resp.resize(nl);
  if (!resp.empty() && resp.back() == '\r') resp.pop_back();
  auto sp = resp.find(' ');
  std::string code = resp.substr(0, sp);
  std::string text = sp == std::string::npos ? "" : resp.substr(sp + 1);
  if (code != "200") return Status::Error(text);
  return DecodeValues(text);
}

}  // namespace chasquid::localrpc
