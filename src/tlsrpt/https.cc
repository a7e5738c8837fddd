#include "tlsrpt/https.h"

#include <cstdlib>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "base/strings.h"
#include "tlsroots/tlsroots.h"

namespace chasquid::tlsrpt {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using net::ip::tcp;

Result<Url> ParseHttpsUrl(const std::string& url) {
  if (AsciiToLower(url.substr(0, 8)) != "https://") {
    return Status::Error("not an https URL");
  }
  std::string rest = url.substr(8);
  Url u;
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos) u.path = rest.substr(slash);
  size_t colon = hostport.rfind(':');
  if (colon != std::string::npos && hostport.find(']') == std::string::npos) {
    u.port = hostport.substr(colon + 1);
    hostport = hostport.substr(0, colon);
    int p = std::atoi(u.port.c_str());
    if (p <= 0 || p > 65535) return Status::Error("bad port");
  }
  u.host = hostport;
  if (u.host.empty() || u.host.size() > 253) return Status::Error("no host");
  for (char c : u.path) {
    if (c == '\r' || c == '\n' || c == ' ') return Status::Error("bad path");
  }
  return u;
}

net::awaitable<Status> HttpsPost(dns::Resolver* resolver,
                                 net::ssl::context* tls, std::string url,
                                 std::string body,
                                 std::chrono::steady_clock::duration timeout) {
  constexpr auto kAwait = net::as_tuple(net::use_awaitable);
  auto parsed = ParseHttpsUrl(url);
  if (!parsed.ok()) co_return parsed.status();
  Url u = *parsed;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string host = u.host;
  auto ips = co_await resolver->LookupIP(host);
  if (!ips.ok())
    co_return ips.status().Prefixed(
        std::string("lookup ").append(u.host).append(": "));
  auto ex = co_await net::this_coro::executor;
  beast::tcp_stream tcp(ex);
  bool connected = false;
  std::string err = "no address";
  for (const auto& ip : *ips) {
    boost::system::error_code ec;
    auto addr = net::ip::make_address(ip, ec);
    if (ec) continue;
    tcp.expires_at(deadline);
    auto ep =
        tcp::endpoint(addr, static_cast<uint16_t>(std::atoi(u.port.c_str())));
    auto [cec] = co_await tcp.async_connect(ep, kAwait);
    if (!cec) {
      connected = true;
      break;
    }
    err = std::string("connect ").append(ip).append(": ").append(cec.message());
    tcp.close();
  }
  if (!connected) co_return Status::Error(err);

  net::ssl::stream<beast::tcp_stream&> stream(tcp, *tls);
  Status s = tlsroots::PrepareClient(stream.native_handle(), u.host,
                                     /*strict=*/true);
  if (!s.ok()) co_return s;
  tcp.expires_at(deadline);
  auto [hec] =
      co_await stream.async_handshake(net::ssl::stream_base::client, kAwait);
  if (hec) co_return Status::Error(std::string("tls: ").append(hec.message()));

  http::request<http::string_body> req(http::verb::post, u.path, 11);
  req.set(http::field::host, u.host);
  req.set(http::field::user_agent, "chasquid");
  req.set(http::field::content_type, "application/tlsrpt+gzip");
  req.set(http::field::connection, "close");
  req.body() = std::move(body);
  req.prepare_payload();
  auto [wec, wn] = co_await http::async_write(stream, req, kAwait);
  if (wec) co_return Status::Error(std::string("POST: ").append(wec.message()));

  beast::flat_buffer buf;
  http::response_parser<http::empty_body> parser;
  parser.header_limit(16 * 1024);
  auto [rec, rn] =
      co_await http::async_read_header(stream, buf, parser, kAwait);
  tcp.close();
  if (rec)
    co_return Status::Error(
        std::string("reading the answer: ").append(rec.message()));
  unsigned code = parser.get().result_int();
  if (code < 200 || code > 299) {
    co_return Status::Error(
        std::string("HTTP status ").append(std::to_string(code)));
  }
  co_return Status::Ok();
}

}  // namespace chasquid::tlsrpt
