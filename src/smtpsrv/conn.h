// One SMTP client connection: the coroutine that owns the
// socket, reads commands, dispatches them and writes replies.
//
// The implementation is split by concern:
//   conn.cc         lifecycle, line reading, replies, command dispatch;
//   conn_dialog.cc  HELO/EHLO and the small commands, MAIL, RCPT;
//   conn_auth.cc    AUTH PLAIN and LOGIN;
//   conn_data.cc    DATA and the post-DATA pipeline;
//   conn_tls.cc     STARTTLS, implicit TLS, and I/O over either layer.
//
// Lifetime: Run() creates the Conn in its coroutine frame; the Conn (and
// its socket) die when the coroutine returns. Only the Conn touches its
// socket; it runs on the socket's strand. Not thread-safe, by design.
#pragma once

#ifndef CHASQUID_INSIDE_SMTPSRV
#error "smtpsrv/conn.h is private to smtpsrv/"
#endif

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "base/status.h"
#include "haproxy/haproxy.h"
#include "nettrace/trace.h"
#include "smtpsrv/checks.h"
#include "smtpsrv/server.h"

namespace chasquid::maillog {
class Logger;
}
namespace chasquid::safeio {
class Spool;
}

namespace chasquid::smtpsrv {

namespace ssl = net::ssl;

class Conn {
 public:
  // Serves one accepted socket to the end. `srv` must outlive it.
  static net::awaitable<void> Run(tcp::socket socket, Mode mode, Server* srv);

  Conn(tcp::socket socket, Mode mode, Server* srv);
  ~Conn();

 private:
  using Clock = std::chrono::steady_clock;

  // A reply: code and text; code 0 = nothing to write, code < 0 = close
  // the connection (text says why, for the trace).
  struct Reply {
    int code = 0;
    std::string text;
  };

  net::awaitable<void> Handle();
  enum class Next { kContinue, kQuit, kClose };
  // Runs one command line; kQuit ends silently, kClose after an error
  // (in *err when it is an I/O one).
  net::awaitable<Next> HandleCommand(std::string line, std::string* err);
  net::awaitable<bool> Greet();  // TLS, HAProxy, greeting; false = close.
  // conn_proxy.cc: reads and parses the PROXY header (v1 or v2).
  net::awaitable<Result<haproxy::Endpoints>> ReadProxyHeader();
  net::awaitable<Reply> Dispatch(std::string verb, std::string params,
                                 std::string* label, bool* quit);

  // conn_dialog.cc
  Reply Helo(const std::string& params);
  Reply Ehlo(const std::string& params);
  Reply Rset();
  net::awaitable<Reply> Mail(std::string params);
  net::awaitable<Reply> Rcpt(std::string params);
  net::awaitable<Result<bool>> LocalUserExists(std::string addr);
  void ResetEnvelope();

  // conn_auth.cc
  net::awaitable<Reply> Auth(std::string params);
  net::awaitable<Result<std::string>> AuthChallenge(std::string prompt);
  net::awaitable<Reply> Authenticate(std::string user, std::string domain,
                                     std::string password);
  // The reply to an AUTH the throttle refused: 454, or 421 and close for
  // a client that insists. Logs, counts and traces which rule fired.
  Reply AuthRefused(const std::string& who, limits::AuthThrottle::Rule rule,
                    Clock::duration retry_after);
  // Waits `d` on this connection's executor.
  net::awaitable<void> Pause(Clock::duration d);

  // conn_sender.cc: nullopt if allowed, else the refusal (logged and
  // counted). Only with the options on, and only after AUTH.
  net::awaitable<std::optional<Reply>> AuthorizeMailFrom(std::string addr);
  net::awaitable<std::optional<Reply>> AuthorizeHeaderFrom(std::string data);
  // How `addr` belongs to the authenticated user: "own", "alias", or ""
  // (not at all).
  net::awaitable<std::string> SenderMatch(std::string addr);

  // conn_limits.cc: nullopt if within the limits, else the refusal
  // (logged, counted, traced).
  std::optional<Reply> AdmitConnection();               // At the start.
  std::optional<Reply> CheckSendBrake(uint32_t rcpts);  // MAIL, RCPT.
  void CountSent();  // After the queue took a message.
  Reply LimitRefusal(const char* limit, int code, std::string text);
  std::string AuthUser() const;  // user@domain; only after AUTH.

  // conn_data.cc
  net::awaitable<Reply> Data();
  // The message is in `spool` (the body as received, on disk).
  net::awaitable<Reply> ProcessData(std::shared_ptr<safeio::Spool> spool);
  std::string ReceivedHeader() const;
  // Runs the hook on `*head` then `body`; its output is prepended to
  // *head.
  net::awaitable<std::optional<Reply>> PostDataHook(
      std::string* head, std::shared_ptr<safeio::Spool> body);

  // conn_tls.cc
  net::awaitable<Reply> StartTls();
  net::awaitable<Status> Handshake();
  void AdoptTlsState();

  // I/O (conn.cc, conn_tls.cc). Reads append to inbuf_.
  net::awaitable<boost::system::error_code> ReadSome(size_t max);
  // The bare read (not a coroutine: no frame of its own while pending).
  net::awaitable<std::tuple<boost::system::error_code, size_t>> ReadOp(
      net::mutable_buffer buf);
  net::awaitable<boost::system::error_code> WriteRaw(std::string data);
  // A command line, without its ending. Errors:
  // "line too long", "EOF", "... i/o timeout".
  net::awaitable<Result<std::string>> ReadLine();
  // The non-waiting half of ReadLine: a complete line (or its error) from
  // inbuf_, or nullopt and the number of bytes to read next in *chunk.
  struct LineScan {
    bool too_long = false;
    size_t scanned = 0;
  };
  std::optional<Result<std::string>> TakeLine(LineScan* st, size_t* chunk);
  net::awaitable<Status> WriteReply(int code, std::string text);
  void SetCommandDeadline();
  // Mail log lines.
  void LogRejected(const std::string& from, const std::vector<std::string>& to,
                   const std::string& reason);
  maillog::Logger& MailLog();
  std::string ReadErrorText(const boost::system::error_code& ec) const;

  // State.
  Server* srv_;
  const Options& opts_;
  const Deps& deps_;
  Mode mode_;
  tcp::socket sock_;
  Deadlines::Handle io_deadline_;  // sock_'s; released before sock_ dies.
  std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
  std::string inbuf_;
  Clock::time_point deadline_;
  nettrace::Trace tr_;
  nettrace::Task task_;

  std::string remote_ip_;    // Peer IP (HAProxy source if enabled).
  std::string remote_addr_;  // ip:port, IPv6 as [ip]:port.
  std::string hostname_;     // Configured, or the TLS SNI name.
  // TLS and AUTH details, allocated once either is known: an idle
  // connection pays one pointer for them (bench/conn_memory). on_tls_ and
  // completed_auth_ imply it is set.
  struct Session {
    std::string tls_version, tls_cipher;
    std::string auth_user, auth_domain;
    // The certificates this connection's TLS layer was made with: kept
    // for the connection's life, whatever reloads happen meanwhile.
    std::shared_ptr<TlsContext> tls_ctx;
  };
  std::unique_ptr<Session> session_;
  Session& MutableSession() {
    if (!session_) session_ = std::make_unique<Session>();
    return *session_;
  }

  std::string ehlo_domain_;
  bool is_esmtp_ = false;
  bool on_tls_ = false;
  bool completed_auth_ = false;
  bool auth_refused_ = false;       // The AUTH throttle refused once here.
  bool close_after_reply_ = false;  // Close once this reply is written.
  // The server's ClientLimits, once this connection is counted in it.
  std::shared_ptr<limits::ClientLimits> admitted_;
  int error_count_ = 0;

  // The envelope.
  bool has_sender_ = false;
  bool require_tls_ = false;  // Ours: MAIL FROM had REQUIRETLS (RFC 8689).
  std::string mail_from_;
  std::vector<std::string> rcpt_to_;
  // These two are pointers, not optionals: most connections never fill
  // them, and every byte of Conn is paid by each idle connection
  // (bench/conn_memory).
  std::unique_ptr<SpfOutcome> spf_;
  // Stale across messages on purpose; null after a message
  // DKIM could not parse.
  std::unique_ptr<std::string> dkim_verify_;

  friend class ConnTestPeer;
};

}  // namespace chasquid::smtpsrv
