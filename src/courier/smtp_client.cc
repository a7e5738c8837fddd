#include "courier/smtp_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "base/strings.h"
#include "courier/dane.h"
#include "courier/wire.h"
#include "tlsroots/tlsroots.h"

namespace chasquid::courier {
namespace {

using net::ip::tcp;
constexpr auto kAwait = net::as_tuple(net::use_awaitable);

// Go's smtp client reads replies through a 2 MiB limited reader.
constexpr size_t kMaxReplyBytes = 2 << 20;

std::string NetError(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return "i/o timeout";
  if (ec == net::error::eof) return "EOF";
  return AsciiToLower(ec.message());
}

std::string HostPort(const std::string& host, const std::string& port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port;
  return host + ":" + port;
}

}  // namespace

Client::Client(beast::tcp_stream stream, Clock::time_point deadline)
    : tcp_(std::move(stream)),
      deadline_(deadline),
      reply_budget_(kMaxReplyBytes) {}

net::awaitable<Result<std::unique_ptr<Client>>> Client::Dial(
    dns::Resolver* resolver, std::string host, std::string port,
    Clock::duration connect_timeout, Clock::duration session_timeout,
    SourceAddrs source) {
  std::string name = host;
  if (!name.empty() && name.back() == '.') name.pop_back();
  auto ips = co_await resolver->LookupIP(name);
  if (!ips.ok()) {
    std::string msg = ips.status().message();
    if (ips.status().not_found()) msg = "lookup " + host + ": " + msg;
    co_return Status::Transient("dial tcp: " + msg);
  }
  if (ips->empty()) {
    co_return Status::Transient("dial tcp: lookup " + host + ": no such host");
  }
  auto ex = co_await net::this_coro::executor;
  auto connect_deadline = Clock::now() + connect_timeout;
  std::string last_err;
  for (const auto& ip : *ips) {
    boost::system::error_code ec;
    auto addr = net::ip::make_address(ip, ec);
    if (ec) continue;
    uint16_t p = static_cast<uint16_t>(std::atoi(port.c_str()));
    beast::tcp_stream stream(ex);
    stream.expires_at(connect_deadline);
    const std::string& local = addr.is_v6() ? source.v6 : source.v4;
    if (!local.empty()) {
      // Bound before connecting; the connect then keeps the open socket.
      tcp::endpoint from(net::ip::make_address(local, ec), 0);
      if (!ec) stream.socket().open(from.protocol(), ec);
      if (!ec) stream.socket().bind(from, ec);
      if (ec) {
        last_err = "dial tcp " + HostPort(ip, port) + ": bind " + local + ": " +
                   AsciiToLower(ec.message());
        continue;
      }
    }
    auto [cec] = co_await stream.async_connect(tcp::endpoint(addr, p), kAwait);
    if (!cec) {
      co_return std::unique_ptr<Client>(
          new Client(std::move(stream), Clock::now() + session_timeout));
    }
    last_err = "dial tcp " + HostPort(ip, port) + ": " +
               (cec == beast::error::timeout
                    ? "i/o timeout"
                    : "connect: " + AsciiToLower(cec.message()));
    if (Clock::now() >= connect_deadline) break;
  }
  if (last_err.empty()) last_err = "dial tcp: no usable address for " + host;
  co_return Status::Transient(last_err);
}

void Client::ArmTimer() { tcp_.expires_at(deadline_); }

Status CheckSourceAddress(const std::string& field, const std::string& addr,
                          bool v6) {
  std::string what = field + " " + GoQuote(addr) + ": ";
  boost::system::error_code ec;
  auto a = net::ip::make_address(addr, ec);
  if (ec) return Status::Error(what + "not an IP address");
  if (a.is_v6() != v6) {
    return Status::Error(what +
                         (v6 ? "not an IPv6 address" : "not an IPv4 address"));
  }
  // Binding is how the kernel tells whether the address is ours.
  net::io_context io;
  tcp::socket s(io);
  tcp::endpoint ep(a, 0);
  s.open(ep.protocol(), ec);
  if (!ec) s.bind(ep, ec);
  if (ec) return Status::Error(what + "bind: " + AsciiToLower(ec.message()));
  return Status::Ok();
}

Status CheckSourceAddrs(const SourceAddrs& source) {
  if (!source.v4.empty()) {
    Status s = CheckSourceAddress("outgoing_source_ipv4", source.v4, false);
    if (!s.ok()) return s;
  }
  if (!source.v6.empty()) {
    return CheckSourceAddress("outgoing_source_ipv6", source.v6, true);
  }
  return Status::Ok();
}

net::awaitable<Result<std::string>> Client::ReadLine() {
  ArmTimer();
  auto buf = net::dynamic_buffer(inbuf_, inbuf_.size() + reply_budget_);
  boost::system::error_code ec;
  size_t n;
  if (tls_) {
    std::tie(ec, n) = co_await net::async_read_until(*tls_, buf, '\n', kAwait);
  } else {
    std::tie(ec, n) = co_await net::async_read_until(tcp_, buf, '\n', kAwait);
  }
  if (ec == net::error::not_found)
    co_return Status::Transient("reply too long");
  if (ec) co_return Status::Transient(NetError(ec));
  std::string line = inbuf_.substr(0, n);
  inbuf_.erase(0, n);
  reply_budget_ = n > reply_budget_ ? 0 : reply_budget_ - n;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.pop_back();
  }
  co_return line;
}

net::awaitable<Result<Reply>> Client::ReadReply(int expect) {
  wire::ReplyReader reader;
  do {
    auto line = co_await ReadLine();
    if (!line.ok()) co_return line.status();
    Status s = reader.Feed(*line);
    if (!s.ok()) co_return s;
  } while (!reader.done());
  if (!wire::CodeMatches(reader.code(), expect)) {
    co_return wire::ReplyStatus(reader.code(), reader.text());
  }
  co_return Reply{reader.code(), reader.text()};
}

net::awaitable<Status> Client::WriteRaw(std::string data) {
  ArmTimer();
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) =
        co_await net::async_write(*tls_, net::buffer(data), kAwait);
  } else {
    std::tie(ec, std::ignore) =
        co_await net::async_write(tcp_, net::buffer(data), kAwait);
  }
  if (ec) co_return Status::Transient(NetError(ec));
  co_return Status::Ok();
}

net::awaitable<Result<Reply>> Client::Cmd(std::string line, int expect) {
  line += "\r\n";
  Status s = co_await WriteRaw(std::move(line));
  if (!s.ok()) co_return s;
  co_return co_await ReadReply(expect);
}

net::awaitable<Status> Client::Hello(std::string localname) {
  ext_.clear();
  std::string ehlo = "EHLO " + localname;
  auto r = co_await Cmd(std::move(ehlo), 250);
  if (!r.ok()) {
    std::string helo = "HELO " + localname;
    auto h = co_await Cmd(std::move(helo), 250);
    if (!h.ok()) co_return h.status();
    co_return Status::Ok();
  }
  auto lines = Split(r->text, "\n");
  for (size_t i = 1; i < lines.size(); i++) {
    auto sp = lines[i].find(' ');
    if (sp == std::string::npos) {
      ext_[lines[i]] = "";
    } else {
      ext_[lines[i].substr(0, sp)] = lines[i].substr(sp + 1);
    }
  }
  co_return Status::Ok();
}

net::awaitable<Status> Client::StartTLS(net::ssl::context& ctx,
                                        std::string host, bool strict) {
  std::string starttls = "STARTTLS";
  auto r = co_await Cmd(std::move(starttls), 220);
  if (!r.ok()) co_return r.status();
  // Anything the server sent before the handshake is not to be trusted.
  inbuf_.clear();
  tls_ = std::make_unique<net::ssl::stream<beast::tcp_stream&>>(tcp_, ctx);
  Status s = tlsroots::PrepareClient(tls_->native_handle(), host, strict);
  if (!s.ok()) co_return s;
  if (!dane_.empty()) {
    s = PrepareDane(tls_->native_handle(), host, dane_);
    if (!s.ok()) co_return s;
  }
  ArmTimer();
  auto [ec] =
      co_await tls_->async_handshake(net::ssl::stream_base::client, kAwait);
  if (ec) co_return Status::Transient("tls: " + ec.message());
  co_return Status::Ok();
}

bool Client::IsVerified() const {
  return tls_ && tlsroots::Verified(tls_->native_handle());
}

SSL* Client::ssl() const { return tls_ ? tls_->native_handle() : nullptr; }

void Client::Close() {
  boost::system::error_code ec;
  tcp_.socket().shutdown(tcp::socket::shutdown_both, ec);
  tcp_.close();
}

std::string Client::LocalIP() const {
  boost::system::error_code ec;
  auto ep = tcp_.socket().local_endpoint(ec);
  return ec ? std::string() : ep.address().to_string();
}

std::string Client::RemoteIP() const {
  boost::system::error_code ec;
  auto ep = tcp_.socket().remote_endpoint(ec);
  return ec ? std::string() : ep.address().to_string();
}

}  // namespace chasquid::courier
