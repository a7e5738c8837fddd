#include "smtpsrv/server.h"

#include <fcntl.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/listen_addr.h"
#include "base/log.h"
#include "base/strings.h"
#include "maillog/maillog.h"
#include "smtpsrv/addr.h"
#include "smtpsrv/conn.h"
#include "smtpsrv/vars.h"

namespace chasquid::smtpsrv {

namespace {

// Descriptors kept free of connections, at least (see ConnectionBound).
constexpr size_t kMinFdHeadroom = 32;

// Descriptors open in this process (0 if /proc is not there).
size_t CountOpenFds() {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    n++;
  }
  return n;
}

void SetCloexec(int fd) { fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC); }

}  // namespace

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kSmtp:
      return "SMTP";
    case Mode::kSubmission:
      return "submission";
    case Mode::kSubmissionTls:
      return "submission+TLS";
  }
  return "?";
}

Server::Server(net::io_context& io, Options opts, Deps deps)
    : io_(io),
      conn_contexts_{&io},
      opts_(std::move(opts)),
      deps_(std::move(deps)),
      client_limits_(
          std::make_shared<limits::ClientLimits>(opts_.client_limits)),
      send_brake_(opts_.send_brake) {
  GetVars();  // Registers the variables, as Go's package init does.
  // Deadlines fire at most a tenth of the shortest timeout late (1 s for
  // the default one minute), checked no more often than every 10 ms.
  auto shortest = std::min(opts_.command_timeout, opts_.connection_timeout);
  auto tick = std::clamp<std::chrono::nanoseconds>(
      shortest / 10, std::chrono::milliseconds(10), std::chrono::seconds(1));
  deadlines_ = Deadlines::New(io_, tick);
  if (opts_.auth_throttle.enabled) {
    auth_throttle_ =
        std::make_unique<limits::AuthThrottle>(opts_.auth_throttle);
  }
}

Server::~Server() { deadlines_->Stop(); }

Status Server::Listen(const std::string& addr, Mode mode) {
  Result<ListenAddr> parsed = ParseListenAddr(addr);
  if (!parsed.ok()) return parsed.status().Prefixed("listen tcp: ");
  const std::string& host = parsed->host;
  const uint16_t port = parsed->port;
  tcp::endpoint ep;
  boost::system::error_code ec;
  bool dual = false;
  if (host.empty()) {
    // ":port": every interface, IPv4 and IPv6 (one dual-stack socket).
    ep = tcp::endpoint(tcp::v6(), port);
    dual = true;
  } else {
    auto a = net::ip::make_address(host, ec);
    if (ec) {
      tcp::resolver r(io_);
      auto res = r.resolve(host, std::to_string(port), ec);
      if (ec || res.empty()) {
        return Status::Error("listen tcp: lookup " + host + ": no such host");
      }
      ep = res.begin()->endpoint();
    } else {
      ep = tcp::endpoint(a, port);
    }
  }
  auto l = std::make_unique<Listener>(
      Listener{tcp::acceptor(io_), mode, addr, false});
  auto fail = [&](const char* op) {
    return Status::Error("listen tcp " + addr + ": " + op + ": " +
                         ErrnoText(ec.value()));
  };
  l->acceptor.open(ep.protocol(), ec);
  if (ec && dual) {
    // No IPv6 on this host: all IPv4 interfaces, then.
    ep = tcp::endpoint(tcp::v4(), port);
    dual = false;
    l->acceptor.open(ep.protocol(), ec);
  }
  if (ec) return fail("socket");
  SetCloexec(l->acceptor.native_handle());
  if (dual) l->acceptor.set_option(net::ip::v6_only(false), ec);
  l->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  l->acceptor.bind(ep, ec);
  if (ec) return fail("bind");
  l->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  listeners_.push_back(std::move(l));
  return Status::Ok();
}

Status Server::AddListenerFd(int fd, Mode mode) {
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return Status::Error("getsockname fd " + std::to_string(fd) + ": " +
                         ErrnoText(errno));
  }
  SetCloexec(fd);
  auto proto = ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4();
  auto l =
      std::make_unique<Listener>(Listener{tcp::acceptor(io_), mode, "", true});
  boost::system::error_code ec;
  l->acceptor.assign(proto, fd, ec);
  if (ec) {
    return Status::Error("Error making listener out of fd " +
                         std::to_string(fd) + ": " + ec.message());
  }
  auto ep = l->acceptor.local_endpoint(ec);
  l->addr = ec ? "fd " + std::to_string(fd) : EndpointString(ep);
  listeners_.push_back(std::move(l));
  return Status::Ok();
}

std::vector<tcp::endpoint> Server::local_endpoints() const {
  std::vector<tcp::endpoint> out;
  for (const auto& l : listeners_) {
    boost::system::error_code ec;
    out.push_back(l->acceptor.local_endpoint(ec));
  }
  return out;
}

size_t Server::ConnectionBound() const {
  // Read at each accept: an admin (or a test) may change the limit of the
  // running process with prlimit(1).
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
    return opts_.max_connections;
  }
  size_t left = rl.rlim_cur > base_fds_ ? rl.rlim_cur - base_fds_ : 0;
  size_t headroom = std::max<size_t>(kMinFdHeadroom, left / 8);
  return std::min(opts_.max_connections, left > headroom ? left - headroom : 0);
}

void Server::SetConnectionContexts(std::vector<net::io_context*> contexts) {
  if (!contexts.empty()) conn_contexts_ = std::move(contexts);
}

void Server::Start() {
  deadlines_->Start();
  // What the process holds before any client: listeners, logs, the
  // queue's and the monitoring server's descriptors.
  base_fds_ = CountOpenFds();
  if (size_t bound = ConnectionBound(); bound < opts_.max_connections) {
    CLOG_INFO("Serving at most " + std::to_string(bound) +
              " connections at once: what RLIMIT_NOFILE leaves, less "
              "room for their queue files, hooks and MDAs");
  }
  for (auto& l : listeners_) {
    CLOG_INFO("Server listening on " + l->addr + " (" + ModeName(l->mode) +
              (l->systemd ? ", via systemd)" : ")"));
    (deps_.maillog ? *deps_.maillog : maillog::Default()).Listening(l->addr);
    net::co_spawn(io_, AcceptLoop(l.get()), net::detached);
  }
}

net::awaitable<void> Server::AcceptLoop(Listener* l) {
  net::steady_timer backoff(io_);
  while (true) {
    // Each connection gets its own strand: its coroutine never runs on two
    // threads at once, and no other coroutine touches its socket. The
    // connections take the io_contexts in turn.
    // The strand is named, not a temporary of the co_await (base/async.h).
    net::io_context& ctx =
        *conn_contexts_[next_context_++ % conn_contexts_.size()];
    auto strand = net::make_strand(ctx);
    auto [ec, socket] = co_await l->acceptor.async_accept(
        strand, net::as_tuple(net::use_awaitable));
    if (ec) {
      if (ec == net::error::operation_aborted) co_return;
      bool out_of_fds =
          ec == net::error::no_descriptors ||
          ec == boost::system::errc::too_many_files_open_in_system;
      // Out of descriptors: turn the waiting client away now rather than
      // leave it in the backlog (fdreserve.h). Out of descriptors, accept
      // fails at once even with nobody waiting, so then wait for the next
      // client instead of spinning.
      auto shed = out_of_fds ? fd_reserve_.Shed(l->acceptor.native_handle(),
                                                "421 4.3.2 Too many open "
                                                "files, try again later\r\n")
                             : FdReserve::Result::kFailed;
      if (shed != FdReserve::Result::kFailed) {
        // One line per episode, not per client: a flood would fill the
        // log. The counter has the rest.
        if (!out_of_fds_logged_.exchange(true)) {
          CLOG_ERROR("SMTP accept error: " + ec.message() +
                     "; refusing new connections until descriptors free up");
        }
        if (shed == FdReserve::Result::kShed) {
          GetVars().refused_out_of_fds->Add();
        } else {
          auto wait = l->acceptor.async_wait(tcp::acceptor::wait_read,
                                             net::as_tuple(net::use_awaitable));
          (void)co_await std::move(wait);
        }
        continue;
      }
      // Anything else (or no reserve): back off instead of spinning.
      CLOG_ERROR("SMTP accept error: " + ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      (void)co_await backoff.async_wait(net::as_tuple(net::use_awaitable));
      continue;
    }
    if (out_of_fds_logged_.exchange(false)) {
      CLOG_INFO("SMTP accept: descriptors available again");
    }
    SetCloexec(socket.native_handle());
    if (active_.load() >= ConnectionBound()) {
      // Over the bound: one clear line, then the door. The socket's send
      // buffer is empty, so this non-blocking write does not wait.
      static const char kBusy[] =
          "421 4.3.2 Too many connections, try again later\r\n";
      boost::system::error_code ignored;
      socket.non_blocking(true, ignored);
      socket.write_some(net::buffer(kBusy, sizeof(kBusy) - 1), ignored);
      socket.close(ignored);
      continue;
    }
    active_++;
    auto ex = socket.get_executor();
    net::co_spawn(ex, Conn::Run(std::move(socket), l->mode, this),
                  [](std::exception_ptr e) {
                    if (e) CLOG_ERROR("SMTP connection ended by an exception");
                  });
  }
}

}  // namespace chasquid::smtpsrv
