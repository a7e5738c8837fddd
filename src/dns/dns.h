// Asynchronous DNS (c-ares) inside the event loop: MX, A/AAAA and TXT, with
// timeouts, and the --testing__dns_addr override that sends every query to a
// test server.
//
// The implementation is c-ares (cares.cc). SPF, DKIM and the courier use
// the Resolver interface, so their tests can inject answers. Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "base/status.h"

namespace chasquid::dns {

namespace net = boost::asio;

struct MX {
  std::string host;  // Without the trailing dot.
  uint16_t preference = 0;
};

// Errors: Status::NotFound("no such host") when the name does not exist
// (NXDOMAIN; permanent, with not_found() set) vs Status::Transient (timeout, SERVFAIL). An existing name
// without records of the type returns an empty vector, not an error.
class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual net::awaitable<Result<std::vector<MX>>> LookupMX(
      std::string name) = 0;
  // A and AAAA, as text ("1.2.3.4", "::1").
  virtual net::awaitable<Result<std::vector<std::string>>> LookupIP(
      std::string name) = 0;
  // Each TXT record with its strings concatenated.
  virtual net::awaitable<Result<std::vector<std::string>>> LookupTXT(
      std::string name) = 0;

  // For SPF's "ptr" mechanism and %{p} macro: the names, without the trailing dot, that the PTR records of `ip`
  // ("1.2.3.4" or IPv6 text) point to, as Go's net.LookupAddr. A text that
  // is not an IP address is a permanent error. Errors as above. The
  // default, for resolvers that predate it, answers "no such host"
  // (not found), which SPF treats as "no PTR names". Defined inline so
  // that Resolver keeps no key function: code that only includes this
  // header (SPF, DKIM, their fakes) need not link the c-ares library.
  virtual net::awaitable<Result<std::vector<std::string>>> LookupAddr(
      std::string /*ip*/) {
    co_return Status::NotFound("no such host");
  }
};

// Creates the c-ares resolver. Queries run asynchronously inside the event
// loop of `ex` (c-ares' sockets are watched with Asio; no thread per query),
// serialized on an internal strand. `server` ("host:port") sends every query
// to that server (the --testing__dns_addr override; main passes it only when
// the flag was given explicitly); empty means the system's resolv.conf and,
// for LookupIP, /etc/hosts first. Each query times out after a few seconds
// (2 s, then one retry with 4 s). Errors from the constructor (c-ares could
// not be initialised, a bad server address) are reported by the returned
// Result. The Resolver must outlive the coroutines awaiting it and be
// destroyed when no query is in flight (normally: after the loop stopped).
Result<std::unique_ptr<Resolver>> NewCaresResolver(net::any_io_executor ex,
                                                   std::string server = "");

}  // namespace chasquid::dns
