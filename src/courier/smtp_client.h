// One outgoing SMTP connection (Go's net/smtp.Client as chasquid uses it):
// dial, greeting, EHLO/HELO, STARTTLS, commands and DATA, with a
// per-connection deadline and a cap on the size of the replies read.
//
// A Client is owned by one coroutine and is not thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "base/status.h"
#include "dns/dns.h"

namespace chasquid::courier {

namespace net = boost::asio;
namespace beast = boost::beast;

struct Reply {
  int code = 0;
  std::string text;  // Lines after the codes, joined with LF.
};

// Local addresses for outgoing connections; empty: the kernel's choice.
// Callers pass a named object, never a default or braced temporary: GCC 12
// destroys such temporaries twice inside a co_await (base/async.h).
struct SourceAddrs {
  std::string v4, v6;
};

// Checks that `addr` is an address of the family `v6` selects that this
// host has (by binding a socket to it). Errors name `field`, e.g.
// `outgoing_source_ipv4 "192.0.2.1": bind: cannot assign requested address`.
Status CheckSourceAddress(const std::string& field, const std::string& addr,
                          bool v6);
// Both of them, under the config field names (outgoing_source_ipv4/6);
// empty ones are fine.
Status CheckSourceAddrs(const SourceAddrs& source);

class Client {
 public:
  using Clock = std::chrono::steady_clock;

  // Connects to every address of `host` in turn until one answers, within
  // `connect_timeout`; the connection then ends at `deadline` whatever it
  // is doing. Errors (transient) look like Go's: "dial tcp 127.0.0.1:25:
  // connect: connection refused", "dial tcp: lookup x: no such host".
  static net::awaitable<Result<std::unique_ptr<Client>>> Dial(
      dns::Resolver* resolver, std::string host, std::string port,
      Clock::duration connect_timeout, Clock::duration session_timeout,
      SourceAddrs source);

  // Reads one reply and checks its code against `expect` (see
  // wire::CodeMatches). Unexpected codes give wire::ReplyStatus errors
  // (permanent iff 5xx); network and protocol errors are transient.
  net::awaitable<Result<Reply>> ReadReply(int expect);
  // Sends `line` + CRLF and reads the reply.
  net::awaitable<Result<Reply>> Cmd(std::string line, int expect);

  // EHLO, falling back to HELO; records the extensions.
  net::awaitable<Status> Hello(std::string localname);
  // The extension keyword as advertised (case-sensitive, like Go).
  bool HasExtension(const std::string& name) const {
    return ext_.count(name) > 0;
  }

  // STARTTLS (expects 220) and the handshake; see tlsroots::PrepareClient
  // for `strict`. After it, IsVerified() gives the validation result.
  net::awaitable<Status> StartTLS(net::ssl::context& ctx, std::string host,
                                  bool strict);
  bool IsTLS() const { return tls_ != nullptr; }
  // Makes the next StartTLS match the peer against these TLSA records
  // (courier/dane.h) instead of only the trusted roots. After it,
  // DaneMatched(ssl()) gives the outcome.
  void SetDane(std::vector<dns::TLSA> records) { dane_ = std::move(records); }
  bool IsVerified() const;
  SSL* ssl() const;
  // The connection's local and remote IP addresses as text ("" once
  // closed or on error), for TLS reports (RFC 8460 §4.4: sending-mta-ip,
  // receiving-ip).
  std::string LocalIP() const;
  std::string RemoteIP() const;

  // Sends an already encoded body (wire::EncodeData). Write errors are
  // transient; returns without reading the final reply.
  net::awaitable<Status> WriteRaw(std::string data);

  // Closes the socket (no QUIT).
  void Close();

 private:
  explicit Client(beast::tcp_stream stream, Clock::time_point deadline);
  net::awaitable<Result<std::string>> ReadLine();
  void ArmTimer();

  beast::tcp_stream tcp_;
  std::unique_ptr<net::ssl::stream<beast::tcp_stream&>> tls_;
  Clock::time_point deadline_;
  std::string inbuf_;
  size_t reply_budget_;  // Bytes of replies still allowed.
  std::map<std::string, std::string> ext_;
  std::vector<dns::TLSA> dane_;
};

}  // namespace chasquid::courier
