// The monitoring HTTP server: off unless
// `monitoring_address` is set, plain HTTP/1.1 on the daemon's io_context
// (Boost.Beast), Go ServeMux-like routing (exact paths, subtrees, 301 for
// non-canonical paths), and the index, flags, config, vars, metrics and exit
// pages. Other components add their pages with Handle/HandlePrefix (the
// queue adds /debug/queue, nettrace /debug/traces, ...).
//
// Handlers run on the server's io threads; a handler that blocks or waits
// (a CPU profile for N seconds) must be an AsyncHandler. Register handlers
// before Start(); the Server must outlive the io_context's run().
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "base/status.h"

namespace chasquid::monitoring {

namespace net = boost::asio;

struct Request {
  std::string method;
  std::string path;                               // Without the query.
  std::string target;                             // As received.
  std::multimap<std::string, std::string> query;  // Decoded; bounded size.
  std::string body;

  // First value of a query parameter, or `def`.
  std::string Param(const std::string& name, const std::string& def = "") const;
};

struct Response {
  int status = 200;
  std::string content_type;  // Empty: sniffed like Go (html or text).
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Text(std::string body, int status = 200);
  static Response Html(std::string body, int status = 200);
  // Go's http.Error: text/plain, nosniff, body + "\n".
  static Response Error(std::string msg, int status);
  static Response NotFound() { return Error("404 page not found", 404); }
};

using Handler = std::function<Response(const Request&)>;
using AsyncHandler = std::function<net::awaitable<Response>(Request)>;

// What the index page shows about the process.
struct Info {
  std::string config_hostname;
  std::string config_text;  // /debug/config.
  std::vector<std::string> argv;
  std::function<void()> on_exit;  // POST /exit, after the reply is sent.
  int blocking_threads = 0;  // The blocking pool's size, on the index page.
};

class Server {
 public:
  Server(net::io_context& io, Info info);
  ~Server();

  void Handle(std::string path, Handler h);
  void HandleAsync(std::string path, AsyncHandler h);
  // Handles `prefix` (ending in '/') and everything below it.
  void HandlePrefix(std::string prefix, AsyncHandler h);
  // Adds a link to the index page's list (label, href, optional note).
  void AddIndexLink(std::string section, std::string label, std::string href);

  // Binds `addr` (Go syntax: "host:port", ":port", "[v6]:port"). Errors as
  // Go's net.Listen would print them.
  Status Listen(const std::string& addr);
  void Start();  // Spawns the accept loop(s).

  // Dispatches one request (exposed for tests and for the HTTP session).
  net::awaitable<Response> Dispatch(Request req);

 private:
  net::awaitable<Response> DispatchPath(Request req);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses a Go-style listen address into endpoints to bind. ":port" yields
// the IPv6 any-address with dual-stack enabled, as Go does.
Result<std::vector<net::ip::tcp::endpoint>> ResolveListenAddress(
    const std::string& addr);

}  // namespace chasquid::monitoring
