// The local RPC between the daemon and chasquid-util:
// a Unix stream socket at
// <data_dir>/localrpc-v1, one request per connection, line based:
//
//   -> <Method> <url-encoded args>\r\n
//   <- 200 <url-encoded results>\r\n     or     500 <error text>\r\n
//
// Arguments and results are Go url.Values: keys sorted, several values per
// key in order. Methods are pluggable (Server::Register): the daemon
// registers AliasResolve and DomaininfoClear, and the queue tools' methods
// (queue/rpc.h). Requests are at most 64 KiB, replies 32 MiB. Every call
// is counted in chasquid/localrpc/calls by "<method>:<ok|error>".
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>

#include "base/status.h"

namespace chasquid::localrpc {

namespace net = boost::asio;

// Key/value pairs, in order (Go's url.Values without the map).
using Values = std::vector<std::pair<std::string, std::string>>;

// Go's url.Values.Encode: keys sorted (stable for repeated keys), each
// key and value QueryEscape'd, joined with '&'.
std::string EncodeValues(const Values& v);
// Go's url.ParseQuery. Errors: "invalid semicolon separator in query", or
// the unescape error.
Result<Values> DecodeValues(std::string_view s);
// The first value for `key`, or "".
std::string Get(const Values& v, const std::string& key);

// A method: blocking allowed (it runs on the server's pool). An error
// becomes "500 <message>".
using Handler = std::function<Result<Values>(const Values& args)>;

// Thread-safe after Start. Must outlive the io_context's run().
class Server {
 public:
  // Handlers run on `pool`, which must outlive the server.
  Server(net::any_io_executor ex, net::thread_pool* pool);
  ~Server();
  // Start-up only.
  void Register(std::string method, Handler h);
  // Removes a stale socket file and listens. Error: Go-style text
  // ("listen unix <path>: bind: <errno text>").
  Status Listen(const std::string& path);
  void Start();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// One call, blocking, with a 5 s deadline (chasquid-util). Errors: the
// dial error (`dial unix <path>: connect: <errno text>`), the server's
// 500 text, or a protocol error.
Result<Values> Call(const std::string& socket_path, const std::string& method,
                    const Values& args);

}  // namespace chasquid::localrpc
