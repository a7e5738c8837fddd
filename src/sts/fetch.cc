// Fetching a policy: `_mta-sts` TXT, then HTTPS GET of
// https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.2-§3.3).
#include <idn2.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "base/strings.h"
#include "sts/sts.h"
#include "tlsroots/tlsroots.h"

namespace chasquid::sts {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kAwait = net::as_tuple(net::use_awaitable);

Result<std::string> ToAscii(const std::string& domain) {
  for (unsigned char c : domain) {
    if (c >= 0x80) {
      char* out = nullptr;
      int rc = idn2_to_ascii_8z(domain.c_str(), &out, IDN2_NONTRANSITIONAL);
      if (rc != IDN2_OK) {
        return Status::Error(std::string("idna: ") + idn2_strerror(rc));
      }
      std::string r = out;
      idn2_free(out);
      return r;
    }
  }
  return domain;
}

net::awaitable<Status> HasSTSRecord(dns::Resolver* resolver,
                                    std::string domain) {
  std::string txt_name = "_mta-sts." + domain;
  auto txts = co_await resolver->LookupTXT(txt_name);
  if (!txts.ok()) {
    std::string msg = txts.status().message();
    if (txts.status().not_found()) msg = "lookup " + txt_name + ": " + msg;
    co_return Status::Error(msg);
  }
  for (const auto& t : *txts) {
    if (HasPrefix(t, "v=STSv1;")) co_return Status::Ok();
  }
  co_return Status::Error("MTA-STS TXT record missing");
}

// Checks the Content-Type as chasquid does with mime.ParseMediaType.
Status CheckMediaType(std::string_view ct) {
  std::string media(TrimSpace(ct.substr(0, ct.find(';'))));
  if (media.empty()) {
    return Status::Error("HTTP media type error: mime: no media type");
  }
  if (AsciiToLower(media) != "text/plain") {
    return Status::Error("invalid HTTP media type");
  }
  return Status::Ok();
}

// `*kind` says which kind of failure an error is (PolicyLookup).
net::awaitable<Result<std::string>> HttpsGet(dns::Resolver* resolver,
                                             net::ssl::context& tls,
                                             std::string host, std::string port,
                                             Clock::time_point deadline,
                                             PolicyLookup::Failure* kind) {
  *kind = PolicyLookup::Failure::kFetch;
  auto ips = co_await resolver->LookupIP(host);
  if (!ips.ok()) {
    std::string msg = ips.status().message();
    if (ips.status().not_found()) msg = "lookup " + host + ": " + msg;
    co_return Status::Error("dial tcp: " + msg);
  }
  auto ex = co_await net::this_coro::executor;
  beast::tcp_stream tcp(ex);
  std::string err = "dial tcp: lookup " + host + ": no such host";
  bool connected = false;
  for (const auto& ip : *ips) {
    boost::system::error_code ec;
    auto addr = net::ip::make_address(ip, ec);
    if (ec) continue;
    tcp.expires_at(deadline);
    auto [cec] = co_await tcp.async_connect(
        tcp::endpoint(addr, static_cast<uint16_t>(std::atoi(port.c_str()))),
        kAwait);
    if (!cec) {
      connected = true;
      break;
    }
    err = "dial tcp " + ip + ":" + port + ": connect: " + cec.message();
    tcp.close();
  }
  if (!connected) co_return Status::Error(err);

  net::ssl::stream<beast::tcp_stream&> stream(tcp, tls);
  Status s = tlsroots::PrepareClient(stream.native_handle(), host,
                                     /*strict=*/true);
  if (!s.ok()) co_return s;
  tcp.expires_at(deadline);
  auto [hec] =
      co_await stream.async_handshake(net::ssl::stream_base::client, kAwait);
  if (hec) {
    // A certificate that does not validate is RFC 8460's
    // sts-webpki-invalid; other handshake failures are fetch errors.
    if (SSL_get_verify_result(stream.native_handle()) != X509_V_OK) {
      *kind = PolicyLookup::Failure::kWebPki;
    }
    co_return Status::Error("tls: " + hec.message());
  }

  http::request<http::empty_body> req(http::verb::get,
                                      "/.well-known/mta-sts.txt", 11);
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "chasquid");
  req.set(http::field::connection, "close");
  auto [wec, wn] = co_await http::async_write(stream, req, kAwait);
  if (wec) co_return Status::Error(wec.message());

  beast::flat_buffer buf;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  parser.header_limit(64 * 1024);
  auto [rec, rn] =
      co_await http::async_read_header(stream, buf, parser, kAwait);
  if (rec) co_return Status::Error(rec.message());
  const auto& res = parser.get();
  unsigned code = res.result_int();
  if (code == 301 || code == 302 || code == 303 || code == 307 || code == 308) {
    co_return Status::Error("redirects not allowed in MTA-STS");
  }
  if (code != 200) {
    co_return Status::Error("HTTP response status code: " +
                            std::to_string(code));
  }
  s = CheckMediaType(std::string(res[http::field::content_type]));
  if (!s.ok()) {
    *kind = PolicyLookup::Failure::kInvalid;
    co_return s;
  }

  // At most kMaxPolicySize bytes of body; the rest is ignored.
  std::string body;
  char chunk[4096];
  while (!parser.is_done() && body.size() < kMaxPolicySize) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof(chunk);
    auto [bec, bn] = co_await http::async_read(stream, buf, parser, kAwait);
    if (bec == http::error::need_buffer) bec = {};
    if (bec && bec != http::error::end_of_stream) {
      co_return Status::Error(bec.message());
    }
    body.append(chunk, sizeof(chunk) - parser.get().body().size);
    if (bec) break;
  }
  if (body.size() > kMaxPolicySize) body.resize(kMaxPolicySize);
  tcp.close();
  co_return body;
}

// UncheckedFetch, with `*kind` set to what an error, or a later Check
// failure, means (kNone before the policy server is asked).
net::awaitable<Result<Policy>> FetchKind(
    dns::Resolver* resolver, net::ssl::context& tls, std::string domain,
    Clock::duration timeout, std::string port, PolicyLookup::Failure* kind) {
  *kind = PolicyLookup::Failure::kNone;
  auto deadline = Clock::now() + timeout;
  auto ascii = ToAscii(domain);
  if (!ascii.ok()) co_return ascii.status();
  Status s = co_await HasSTSRecord(resolver, *ascii);
  if (!s.ok()) co_return s;
  std::string host = "mta-sts." + *ascii;
  auto body = co_await HttpsGet(resolver, tls, host, port, deadline, kind);
  if (!body.ok()) co_return body.status();
  // Parse never fails; Check (in Fetch and Lookup) judges the policy.
  *kind = PolicyLookup::Failure::kInvalid;
  co_return Parse(*body);
}

}  // namespace

net::awaitable<Result<Policy>> UncheckedFetch(dns::Resolver* resolver,
                                              net::ssl::context& tls,
                                              std::string domain,
                                              Clock::duration timeout,
                                              std::string port) {
  PolicyLookup::Failure kind = PolicyLookup::Failure::kNone;
  auto f = FetchKind(resolver, tls, std::move(domain), timeout, std::move(port),
                     &kind);
  co_return co_await std::move(f);
}

net::awaitable<PolicyLookup> Lookup(dns::Resolver* resolver,
                                    net::ssl::context& tls, std::string domain,
                                    Clock::duration timeout, std::string port) {
  PolicyLookup out;
  auto f = FetchKind(resolver, tls, std::move(domain), timeout, std::move(port),
                     &out.failure);
  auto p = co_await std::move(f);
  if (p.ok()) {
    Status s = Check(*p);
    if (s.ok()) {
      out.policy = std::move(*p);
      co_return out;
    }
    out.failure = PolicyLookup::Failure::kInvalid;
    out.error = s.message();
    co_return out;
  }
  out.error = p.status().message();
  co_return out;
}

net::awaitable<Result<Policy>> Fetch(dns::Resolver* resolver,
                                     net::ssl::context& tls, std::string domain,
                                     Clock::duration timeout,
                                     std::string port) {
  auto p = co_await UncheckedFetch(resolver, tls, domain, timeout, port);
  if (!p.ok()) co_return p;
  Status s = Check(*p);
  if (!s.ok()) co_return s;
  co_return p;
}

}  // namespace chasquid::sts
