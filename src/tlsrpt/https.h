// The HTTPS delivery of a TLS report (RFC 8460 §5.4): one POST of the
// gzip'd JSON, Content-Type application/tlsrpt+gzip, to an `https:` rua,
// with the server's certificate validated against the trusted roots and
// its name. 2xx is success; anything else, or no answer within the
// timeout, is an error. No redirects are followed.
#pragma once

#include <chrono>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "base/status.h"
#include "dns/dns.h"

namespace chasquid::tlsrpt {

namespace net = boost::asio;

struct Url {
  std::string host, port = "443", path = "/";
};
// Parses "https://host[:port][/path]". Errors: another scheme, no host.
Result<Url> ParseHttpsUrl(const std::string& url);

// `resolver` and `tls` must outlive the call.
net::awaitable<Status> HttpsPost(dns::Resolver* resolver,
                                 net::ssl::context* tls, std::string url,
                                 std::string body,
                                 std::chrono::steady_clock::duration timeout);

}  // namespace chasquid::tlsrpt
