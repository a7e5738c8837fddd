// The SMTP receiving side: listeners for the three modes
// (smtp, submission, submission over TLS), from configured addresses or
// systemd socket activation, and one Conn coroutine per accepted client.
//
// Threading: the Server is built and configured on the main thread, then
// Start() spawns one accept loop per listener on the io_context; every
// accepted socket gets its own strand and its own coroutine (conn.h), on
// the io_context or, when SetConnectionContexts gave several, on each of
// them in turn. The Server and everything in Deps must outlive the
// io_contexts' run().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "base/status.h"
#include "limits/auth_throttle.h"
#include "limits/client_limits.h"
#include "limits/send_brake.h"
#include "smtpsrv/deadlines.h"
#include "smtpsrv/fdreserve.h"

namespace chasquid::queue {
class Queue;
}
namespace chasquid::aliases {
class Resolver;
}
namespace chasquid::maillog {
class Logger;
}

namespace chasquid::smtpsrv {

namespace net = boost::asio;
using tcp = net::ip::tcp;

class Checks;
class TlsStore;
class TlsContext;

enum class Mode { kSmtp, kSubmission, kSubmissionTls };

// "SMTP", "submission", "submission+TLS": used in logs and Received.
const char* ModeName(Mode m);
inline bool IsSubmission(Mode m) { return m != Mode::kSmtp; }

struct Options {
  std::string hostname;
  uint64_t max_data_size = 50ull * 1024 * 1024;
  std::string hooks_dir = "hooks";  // hooks/post-data, relative to cwd.
  bool haproxy_incoming = false;
  std::string suffix_separators = "+";
  std::string drop_characters = ".";
  int max_received_headers = 50;  // --testing__max_received_headers.
  std::chrono::nanoseconds command_timeout = std::chrono::minutes(1);
  std::chrono::nanoseconds connection_timeout = std::chrono::minutes(20);
  std::chrono::nanoseconds hook_timeout = std::chrono::minutes(1);
  // Connections served at once; beyond it a client gets
  // "421 4.3.2 Too many connections, try again later" and is closed.
  // Each one costs a file descriptor, so the bound is lowered to fit
  // under RLIMIT_NOFILE (Server::ConnectionBound).
  size_t max_connections = 20000;
  // Failed AUTHs per client and per user (limits/auth_throttle.h); on by
  // default.
  limits::AuthThrottleOptions auth_throttle;
  // Sender authorization (sender_auth.h), off by default: MAIL FROM, and
  // the From: header, of an authenticated session.
  bool authorize_sender = false;
  bool authorize_header_from = false;
  // Per-client connection limits and the per-user hourly brake; all off
  // here (the daemon sets config/abuse.h's defaults).
  limits::ClientLimitsOptions client_limits;
  limits::SendBrakeOptions send_brake;
};

// Everything a connection needs from the rest of the daemon. Pointers are
// not owned and must outlive the Server; functions must be thread-safe
// (they are called from any io thread, through RunBlocking).
struct Deps {
  queue::Queue* queue = nullptr;         // nullptr: DATA fails with 451.
  aliases::Resolver* aliases = nullptr;  // nullptr: no aliases.
  Checks* checks = nullptr;              // nullptr: no SPF/DKIM/sec. level.
  // The server TLS contexts (tls.h); each handshake takes the current
  // snapshot. nullptr: no TLS.
  TlsStore* tls = nullptr;
  net::thread_pool* blocking = nullptr;  // Auth, hooks, alias hook.
  // auth::Authenticator::Authenticate / Exists; may block (scrypt).
  std::function<Result<bool>(const std::string& user, const std::string& domain,
                             const std::string& password)>
      authenticate;
  std::function<Result<bool>(const std::string& user,
                             const std::string& domain)>
      user_exists;
  // True if user_exists(_, domain) answers from memory and may run on the
  // network thread (auth::Authenticator::ExistsNeverBlocks). Unset: it
  // always runs on `blocking`.
  std::function<bool(const std::string& domain)> user_exists_never_blocks;
  // Normalised local domains ("localhost" included by the caller).
  std::set<std::string> local_domains;
  // The mail log; nullptr: maillog::Default().
  maillog::Logger* maillog = nullptr;
};

class Server {
 public:
  Server(net::io_context& io, Options opts, Deps deps);
  ~Server();

  // Binds `addr` (Go "host:port", ":port" = all interfaces v4+v6,
  // "[v6]:port"). Errors as Go's net.Listen prints them.
  Status Listen(const std::string& addr, Mode mode);
  // Adopts an inherited, already listening socket (systemd).
  Status AddListenerFd(int fd, Mode mode);

  // The io_contexts accepted connections are spread over, in turn (each
  // run by one thread of its own: a connection's work then never changes
  // threads). Default: the one given to the constructor. Before Start().
  void SetConnectionContexts(std::vector<net::io_context*> contexts);

  // Starts the accept loops; logs "Server listening on <addr> (<mode>)".
  void Start();

  size_t num_listeners() const { return listeners_.size(); }
  // Bound addresses, in listener order (tests bind port 0).
  std::vector<tcp::endpoint> local_endpoints() const;
  const Options& options() const { return opts_; }
  const Deps& deps() const { return deps_; }

  // Live connection count (for the bound and for tests).
  std::atomic<size_t>& active() { return active_; }
  // The connections' read/write deadlines (deadlines.h).
  Deadlines& deadlines() { return *deadlines_; }
  // Shared by all connections; nullptr when AUTH throttling is off.
  limits::AuthThrottle* auth_throttle() { return auth_throttle_.get(); }
  // Shared with the connections it admitted, which release their place in
  // it when they end, possibly after the server is gone (an io_context
  // destroys pending connection coroutines after its owner).
  const std::shared_ptr<limits::ClientLimits>& client_limits() {
    return client_limits_;
  }
  limits::SendBrake& send_brake() { return send_brake_; }

 private:
  struct Listener {
    tcp::acceptor acceptor;
    Mode mode;
    std::string addr;  // As configured (for the logs).
    bool systemd;
  };
  net::awaitable<void> AcceptLoop(Listener* l);
  // How many connections may be open at once: max_connections, but no
  // more than the descriptors RLIMIT_NOFILE leaves above base_fds_, less
  // an eighth of them (at least 32). Each connection holds one, and its
  // DATA needs a few more for a moment (queue file, directory fsync, hook
  // pipes), as do the queue's MDAs: the headroom keeps those from failing,
  // so open connections finish their mail.
  size_t ConnectionBound() const;

  net::io_context& io_;
  std::vector<net::io_context*> conn_contexts_;  // Never empty.
  std::atomic<size_t> next_context_{0};
  Options opts_;
  Deps deps_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::atomic<size_t> active_{0};
  std::shared_ptr<Deadlines> deadlines_;
  std::unique_ptr<limits::AuthThrottle> auth_throttle_;
  std::shared_ptr<limits::ClientLimits> client_limits_;
  limits::SendBrake send_brake_;
  size_t base_fds_ = 0;   // Descriptors open at Start().
  FdReserve fd_reserve_;  // For EMFILE/ENFILE: see fdreserve.h.
  std::atomic<bool> out_of_fds_logged_{false};
};

}  // namespace chasquid::smtpsrv
