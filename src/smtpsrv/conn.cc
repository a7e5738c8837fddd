#include "smtpsrv/conn.h"

#include <algorithm>
#include <exception>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"
#include "base/strings.h"
#include "limits/client_key.h"
#include "maillog/maillog.h"
#include "metrics/latency.h"
#include "smtp/command.h"
#include "smtpsrv/addr.h"
#include "smtpsrv/vars.h"

namespace chasquid::smtpsrv {

namespace {

// Bytes asked from the socket per read while in the middle of a command
// line (or a pipelined batch).
constexpr size_t kReadChunk = 512;
// Bytes asked while waiting for a new command. The read buffer stays
// allocated for as long as the read is pending, which for an idle client
// is most of its life: a small first read keeps idle connections cheap
// (bench/conn_memory). Typical commands fit; longer ones or pipelined
// batches take one more read of kReadChunk.
constexpr size_t kIdleReadChunk = 64;

}  // namespace

net::awaitable<void> Conn::Run(tcp::socket socket, Mode mode, Server* srv) {
  const auto start = Clock::now();
  {
    metrics::GaugeGuard live(metrics::LiveConnections());
    try {
      Conn conn(std::move(socket), mode, srv);
      co_await conn.Handle();
    } catch (const std::exception& e) {
      CLOG_ERROR(std::string("SMTP connection: uncaught exception: ") +
                 e.what());
    }
  }
  metrics::SmtpSessionDuration()->Observe(
      std::chrono::duration<double>(Clock::now() - start).count());
  srv->active()--;
}

Conn::Conn(tcp::socket socket, Mode mode, Server* srv)
    : srv_(srv),
      opts_(srv->options()),
      deps_(srv->deps()),
      mode_(mode),
      sock_(std::move(socket)),
      io_deadline_(srv->deadlines().Watch(&sock_)),
      deadline_(Clock::now() + opts_.connection_timeout),
      tr_("SMTP.Conn", PeerAddr(sock_)),
      task_("SMTP.Conn", tr_.title()),
      hostname_(opts_.hostname) {
  boost::system::error_code ec;
  auto ep = sock_.remote_endpoint(ec);
  if (!ec) {
    remote_ip_ = IpString(ep.address());
    remote_addr_ = tr_.title();
  }
}

Conn::~Conn() {
  if (admitted_) admitted_->Release(limits::ClientKey(remote_ip_));
}

void Conn::SetCommandDeadline() {
  io_deadline_.Set(std::min(Clock::now() + opts_.command_timeout, deadline_));
}

std::string Conn::ReadErrorText(const boost::system::error_code& ec) const {
  if (ec == net::error::eof || ec == net::ssl::error::stream_truncated) {
    return "EOF";
  }
  boost::system::error_code ignored;
  std::string where = "read tcp " +
                      EndpointString(sock_.local_endpoint(ignored)) + "->" +
                      tr_.title() + ": ";
  if (io_deadline_.Fired()) return where + "i/o timeout";
  if (ec.category() == boost::system::system_category()) {
    return where + ErrnoText(ec.value());
  }
  return where + ec.message();
}

maillog::Logger& Conn::MailLog() {
  return deps_.maillog ? *deps_.maillog : maillog::Default();
}

void Conn::LogRejected(const std::string& from,
                       const std::vector<std::string>& to,
                       const std::string& reason) {
  MailLog().Rejected(remote_addr_, from, to, reason);
}

std::optional<Result<std::string>> Conn::TakeLine(LineScan* st, size_t* chunk) {
  size_t nl = inbuf_.find('\n', st->scanned);
  if (nl != std::string::npos) {
    std::string line = inbuf_.substr(0, nl);
    inbuf_.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (st->too_long || line.size() > smtp::kMaxLineLength) {
      return Result<std::string>(Status::Permanent("line too long"));
    }
    return Result<std::string>(std::move(line));
  }
  // 1000 bytes plus a possible '\r' waiting for its '\n'.
  if (inbuf_.size() > smtp::kMaxLineLength + 1) {
    // Over the limit: read on to the end of the line, discarding, so the
    // rest of it is never taken as a command.
    st->too_long = true;
    inbuf_.clear();
  }
  st->scanned = inbuf_.size();
  *chunk = kReadChunk;
  if (inbuf_.empty()) {
    *chunk = kIdleReadChunk;
    // Drop a buffer grown by earlier reads before idling on a new one.
    if (inbuf_.capacity() > 4 * kIdleReadChunk) std::string().swap(inbuf_);
  }
  return std::nullopt;
}

net::awaitable<Result<std::string>> Conn::ReadLine() {
  LineScan st;
  while (true) {
    size_t chunk = 0;
    auto got = TakeLine(&st, &chunk);
    if (got) co_return std::move(*got);
    size_t old = inbuf_.size();
    inbuf_.resize(old + chunk);
    auto [ec, n] = co_await ReadOp(net::buffer(inbuf_.data() + old, chunk));
    inbuf_.resize(old + n);
    if (ec) co_return Status::Transient(ReadErrorText(ec));
  }
}

net::awaitable<Status> Conn::WriteReply(int code, std::string text) {
  GetVars().response_code_count->Add(std::to_string(code));
  tr_.Debugf("<- " + std::to_string(code) + "  " + text);
  std::string out;
  auto lines = Split(text, "\n");
  for (size_t i = 0; i < lines.size(); i++) {
    out += std::to_string(code) + (i + 1 < lines.size() ? "-" : " ") +
           lines[i] + "\r\n";
  }
  SetCommandDeadline();
  auto ec = co_await WriteRaw(std::move(out));
  if (ec) co_return Status::Transient(ec.message());
  co_return Status::Ok();
}

net::awaitable<bool> Conn::Greet() {
  tr_.Debugf(std::string("Connected, mode: ") + ModeName(mode_));
  SetCommandDeadline();
  if (mode_ == Mode::kSubmissionTls) {
    task_.SetState("TLS handshake");
    Status s = co_await Handshake();
    if (!s.ok()) {
      tr_.Error("error completing TLS handshake: " + s.message());
      co_return false;
    }
  }
  if (opts_.haproxy_incoming) {
    task_.SetState("HAProxy handshake");
    auto ep = co_await ReadProxyHeader();
    if (!ep.ok()) {
      tr_.Error("error in haproxy handshake: " + ep.status().message());
      co_return false;
    }
    if (ep->local) {
      tr_.Debugf("haproxy: LOCAL command, keeping the connection's peer");
    } else {
      remote_ip_ = CanonicalIp(ep->src_ip);
      remote_addr_ = JoinHostPort(remote_ip_, ep->src_port);
    }
  }
  // The client is known now (HAProxy's, if any): its limits.
  if (auto refused = AdmitConnection()) {
    std::string bye =
        std::to_string(refused->code) + " " + refused->text + "\r\n";
    (void)co_await WriteRaw(std::move(bye));
    co_return false;
  }
  // Named, not built inside the co_await (GCC 12: base/async.h).
  std::string greeting = "220 " + hostname_ + " ESMTP chasquid\r\n";
  auto ec = co_await WriteRaw(std::move(greeting));
  co_return !ec;
}

net::awaitable<void> Conn::Handle() {
  if (!co_await Greet()) co_return;
  std::string err;
  while (true) {
    if (Clock::now() > deadline_) {
      err = "connection deadline exceeded";
      tr_.Error(err);
      break;
    }
    SetCommandDeadline();
    task_.SetState("idle");  // Waiting for a command; short: no allocation.
    // ReadLine(), inlined: while a client idles here, no coroutine frame
    // but this one is alive (bench/conn_memory).
    Result<std::string> line = Status::Transient("EOF");
    LineScan st;
    while (true) {
      size_t chunk = 0;
      auto got = TakeLine(&st, &chunk);
      if (got) {
        line = std::move(*got);
        break;
      }
      size_t old = inbuf_.size();
      inbuf_.resize(old + chunk);
      auto [ec, n] = co_await ReadOp(net::buffer(inbuf_.data() + old, chunk));
      inbuf_.resize(old + n);
      if (ec) {
        line = Status::Transient(ReadErrorText(ec));
        break;
      }
    }
    if (!line.ok()) {
      err = line.status().message();
      std::string reply = "554 error reading command: " + err + "\r\n";
      (void)co_await WriteRaw(std::move(reply));
      break;
    }
    Next next = co_await HandleCommand(std::move(*line), &err);
    if (next == Next::kQuit) co_return;
    if (next == Next::kClose) break;
  }
  if (!err.empty() && err != "EOF") tr_.Error("exiting with error: " + err);
}

// One command, in its own coroutine so that its locals live only while it
// runs: the frame of Handle() stays small while a client idles.
net::awaitable<Conn::Next> Conn::HandleCommand(std::string line,
                                               std::string* err) {
  smtp::Command cmd = smtp::ParseCommand(line);
  if (cmd.verb == "AUTH") {
    tr_.Debugf("-> AUTH <redacted>");
  } else {
    tr_.Debugf("-> " + cmd.verb + " " + cmd.params);
  }
  task_.SetState(cmd.verb.size() <= 8 ? cmd.verb : "unknown");

  std::string label = cmd.verb;
  bool quit = false;
  Reply r = co_await Dispatch(cmd.verb, cmd.params, &label, &quit);
  if (quit) co_return Next::kQuit;
  GetVars().command_count->Add(label);

  if (r.code > 0) {
    if (r.code >= 400) {
      // Be verbose about errors: fail2ban reads these lines.
      tr_.Error(label + " failed: " + std::to_string(r.code) + "  " + r.text);
      if (++error_count_ >= 3) {
        // RFC 5321 §4.3.2: the server may close after repeated errors.
        tr_.Error("too many errors, breaking connection");
        std::string bye = "4.5.0 Too many errors, bye";
        (void)co_await WriteReply(421, std::move(bye));
        co_return Next::kClose;
      }
    }
    Status s = co_await WriteReply(r.code, r.text);
    if (!s.ok()) {
      *err = s.message();
      co_return Next::kClose;
    }
    if (close_after_reply_) co_return Next::kClose;
  } else if (r.code < 0) {
    tr_.Error(label + " closed the connection: " + r.text);
    co_return Next::kClose;
  }
  co_return Next::kContinue;
}

net::awaitable<Conn::Reply> Conn::Dispatch(std::string verb, std::string params,
                                           std::string* label, bool* quit) {
  if (verb == "HELO") co_return Helo(params);
  if (verb == "EHLO") co_return Ehlo(params);
  if (verb == "HELP") co_return Reply{214, "2.0.0 Hoy por ti, mañana por mi"};
  if (verb == "NOOP") {
    co_return Reply{250, "2.0.0 You hear a faint typing noise."};
  }
  if (verb == "RSET") co_return Rset();
  if (verb == "VRFY") {
    co_return Reply{
        502, "5.5.1 You have a strange feeling for a moment, then it passes."};
  }
  if (verb == "EXPN") {
    co_return Reply{502, "5.5.1 You feel disoriented for a moment."};
  }
  if (verb == "MAIL") co_return co_await Mail(params);
  if (verb == "RCPT") co_return co_await Rcpt(params);
  if (verb == "DATA") co_return co_await Data();
  if (verb == "STARTTLS") co_return co_await StartTls();
  if (verb == "AUTH") {
    Reply r = co_await Auth(params);
    CountAuth(params, r.code);
    co_return r;
  }
  if (verb == "QUIT") {
    std::string bye = "2.0.0 Be seeing you...";
    (void)co_await WriteReply(221, std::move(bye));
    *quit = true;
    co_return Reply{};
  }
  if (verb == "GET" || verb == "POST" || verb == "CONNECT") {
    // Cross-protocol attacks (ALPACA, https://alpaca-attack.com/): an HTTP
    // client pointed at us gets one line and the door.
    GetVars().wrong_proto_count->Add(verb);
    tr_.Error("http command, closing connection");
    std::string bye = "5.7.0 You hear someone cursing shoplifters";
    (void)co_await WriteReply(502, std::move(bye));
    *quit = true;
    co_return Reply{};
  }
  // Keep only a short, quoted prefix of unknown verbs: they become metric
  // labels and log lines.
  *label = smtp::UnknownCommandLabel(verb);
  co_return Reply{500, "5.5.1 Unknown command"};
}

}  // namespace chasquid::smtpsrv
