#include "monitoring/server.h"

#include <unistd.h>

#include <atomic>
#include <ctime>
#include <memory>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/listen_addr.h"
#include "base/log.h"
#include "base/strings.h"
#include "monitoring/pages.h"
#include "nettrace/trace.h"

namespace chasquid::monitoring {

namespace beast = boost::beast;
namespace http = beast::http;
using net::ip::tcp;

namespace {

constexpr size_t kMaxHeaderBytes = 16 * 1024;
constexpr size_t kMaxBodyBytes = 64 * 1024;
constexpr size_t kMaxQueryParams = 32;
// No page takes long values (the longest are trace IDs, ~60 bytes); longer
// ones are dropped, so no handler ever sees them.
constexpr size_t kMaxQueryParamBytes = 2048;
constexpr size_t kMaxConnections = 64;
// Generous (a CPU profile may take minutes), but never unbounded.
constexpr auto kIdleTimeout = std::chrono::minutes(5);

std::multimap<std::string, std::string> ParseQuery(std::string_view q) {
  std::multimap<std::string, std::string> out;
  for (const std::string& part : Split(q, "&")) {
    if (part.empty() || part.size() > kMaxQueryParamBytes ||
        out.size() >= kMaxQueryParams) {
      continue;
    }
    size_t eq = part.find('=');
    auto k = QueryUnescape(part.substr(0, eq));
    auto v = QueryUnescape(eq == std::string::npos ? "" : part.substr(eq + 1));
    if (k.ok() && v.ok()) out.emplace(*k, *v);
  }
  return out;
}

// Go's path.Clean, for ServeMux's canonical-path redirect.
std::string CleanPath(const std::string& p) {
  std::vector<std::string> parts;
  for (const std::string& seg : Split(p, "/")) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(seg);
  }
  std::string out;
  for (const auto& s : parts) out += "/" + s;
  if (out.empty()) out = "/";
  // ServeMux keeps a trailing slash.
  if (p.size() > 1 && p.back() == '/' && out != "/") out += "/";
  return out;
}

}  // namespace

std::string Request::Param(const std::string& name,
                           const std::string& def) const {
  auto it = query.find(name);
  return it == query.end() ? def : it->second;
}

Response Response::Text(std::string body, int status) {
  return Response{status, "text/plain; charset=utf-8", std::move(body), {}};
}

Response Response::Html(std::string body, int status) {
  return Response{status, "text/html; charset=utf-8", std::move(body), {}};
}

Response Response::Error(std::string msg, int status) {
  return Response{status,
                  "text/plain; charset=utf-8",
                  std::move(msg) + "\n",
                  {{"X-Content-Type-Options", "nosniff"}}};
}

struct Server::Impl {
  Server* self;
  net::io_context& io;
  Info info;
  std::map<std::string, AsyncHandler> exact;
  std::map<std::string, AsyncHandler> prefixes;
  // Shared with the accept coroutines, which take them by value: a later
  // Listen may grow this vector while they run.
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
  std::atomic<size_t> connections{0};
  IndexData index;

  Impl(Server* s, net::io_context& io, Info i)
      : self(s), io(io), info(std::move(i)) {
    index.config_hostname = info.config_hostname;
    index.blocking_threads = info.blocking_threads;
    index.started = std::chrono::system_clock::now();
  }

  // Whether a page is registered (the index links only to those).
  bool Serves(const std::string& href) const {
    if (exact.count(href)) return true;
    for (const auto& [prefix, h] : prefixes) {
      if (HasPrefix(href, prefix) || href + "/" == prefix) return true;
    }
    return false;
  }

  net::awaitable<void> Accept(std::shared_ptr<tcp::acceptor> acc);
  net::awaitable<void> Session(tcp::socket sock);
};

Server::Server(net::io_context& io, Info info)
    : impl_(std::make_unique<Impl>(this, io, std::move(info))) {
  Handle("/", [this](const Request& r) {
    if (r.path != "/") return Response::NotFound();
    IndexData d = impl_->index;
    for (auto& l : d.links) l.available = impl_->Serves(l.href);
    return Response::Html(RenderIndex(d));
  });
  Handle("/debug/flags",
         [](const Request&) { return Response::Text(FlagsText()); });
  Handle("/debug/config", [this](const Request&) {
    return Response::Text(impl_->info.config_text);
  });
  Handle("/debug/vars", [](const Request& r) {
    if (r.method != "GET" && r.method != "HEAD") return Response::NotFound();
    return Response{200, "application/json; charset=utf-8", VarsText(), {}};
  });
  Handle("/metrics", [](const Request&) {
    return Response{200,
                    "application/openmetrics-text; version=1.0.0; "
                    "charset=utf-8",
                    MetricsText(),
                    {}};
  });
  Handle("/exit", [](const Request& r) {
    if (r.method != "POST") {
      return Response::Error("Use POST method for exiting", 405);
    }
    CLOG_INFO("Received /exit");
    Response res = Response::Error("OK exiting", 200);
    res.headers.emplace_back("X-Chasquid-Exit", "1");
    return res;
  });
  Handle("/debug/pprof/cmdline", [this](const Request&) {
    std::string out;
    for (size_t i = 0; i < impl_->info.argv.size(); i++) {
      if (i) out += '\0';
      out += impl_->info.argv[i];
    }
    Response res = Response::Text(out);
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return res;
  });
  // First: health at a glance (overview.h), when it is registered.
  AddIndexLink("", "overview", "/debug/overview");
  AddIndexLink("", "queue", "/debug/queue");
  AddIndexLink("monitoring", "traces", "/debug/traces");
  AddIndexLink("monitoring", "expvar", "/debug/vars");
  AddIndexLink("monitoring", "openmetrics", "/metrics");
  AddIndexLink("execution", "flags", "/debug/flags");
  AddIndexLink("execution", "config", "/debug/config");
  AddIndexLink("execution", "command line", "/debug/pprof/cmdline");
  AddIndexLink("", "pprof", "/debug/pprof");
}

Server::~Server() = default;

void Server::Handle(std::string path, Handler h) {
  impl_->exact[std::move(path)] =
      [h = std::move(h)](Request r) -> net::awaitable<Response> {
    co_return h(r);
  };
}

void Server::HandleAsync(std::string path, AsyncHandler h) {
  impl_->exact[std::move(path)] = std::move(h);
}

void Server::HandlePrefix(std::string prefix, AsyncHandler h) {
  impl_->prefixes[std::move(prefix)] = std::move(h);
}

void Server::AddIndexLink(std::string section, std::string label,
                          std::string href) {
  impl_->index.links.push_back(
      {std::move(section), std::move(label), std::move(href)});
}

net::awaitable<Response> Server::Dispatch(Request req) {
  // Every page is read-only except /exit: refuse other methods before any
  // handler runs (HEAD is GET without the body). /debug/vars keeps Go's
  // 404 for them.
  if (req.method != "GET" && req.method != "HEAD" &&
      !(req.method == "POST" && req.path == "/exit")) {
    if (req.path == "/debug/vars" || req.path == "/exit") {
      AsyncHandler& h = impl_->exact.at(req.path);
      co_return co_await h(std::move(req));
    }
    Response r = Response::Error("Method Not Allowed", 405);
    r.headers.emplace_back("Allow", "GET, HEAD");
    co_return r;
  }
  // Each request is a trace (family Monitoring.HTTP), so the traces page
  // always has something of ours to show. Events only: not logged.
  nettrace::Trace tr("Monitoring.HTTP", req.method + " " + req.target);
  Response res = co_await DispatchPath(std::move(req));
  tr.Event(std::to_string(res.status) + ", " + std::to_string(res.body.size()) +
           " bytes");
  if (res.status >= 500) tr.Error("status " + std::to_string(res.status));
  co_return res;
}

net::awaitable<Response> Server::DispatchPath(Request req) {
  std::string clean = CleanPath(req.path);
  if (clean != req.path) {
    Response r = Response::Html(
        "<a href=\"" + clean + "\">Moved Permanently</a>.\n", 301);
    r.headers.emplace_back("Location", clean);
    co_return r;
  }
  auto it = impl_->exact.find(req.path);
  if (it != impl_->exact.end()) co_return co_await it->second(std::move(req));
  // Longest matching subtree wins; "/prefix" alone redirects to "/prefix/".
  for (auto p = impl_->prefixes.rbegin(); p != impl_->prefixes.rend(); ++p) {
    const std::string& prefix = p->first;
    if (HasPrefix(req.path, prefix))
      co_return co_await p->second(std::move(req));
    if (req.path + "/" == prefix) {
      Response r = Response::Html(
          "<a href=\"" + prefix + "\">Moved Permanently</a>.\n", 301);
      r.headers.emplace_back("Location", prefix);
      co_return r;
    }
  }
  AsyncHandler& root = impl_->exact.at("/");
  co_return co_await root(std::move(req));
}

Result<std::vector<tcp::endpoint>> ResolveListenAddress(
    const std::string& addr) {
  Result<ListenAddr> parsed = ParseListenAddr(addr);
  if (!parsed.ok()) return parsed.status().Prefixed("listen tcp: ");
  if (parsed->host.empty()) {
    // Go listens on all addresses, IPv4 and IPv6, with one dual-stack
    // socket.
    return std::vector<tcp::endpoint>{tcp::endpoint(tcp::v6(), parsed->port)};
  }
  net::io_context tmp;
  tcp::resolver resolver(tmp);
  boost::system::error_code ec;
  auto results = resolver.resolve(
      parsed->host, std::to_string(parsed->port),
      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return Status::Error("listen tcp: lookup " + parsed->host +
                         ": no such host");
  }
  return std::vector<tcp::endpoint>{results.begin()->endpoint()};
}

Status Server::Listen(const std::string& addr) {
  auto eps = ResolveListenAddress(addr);
  if (!eps.ok()) return eps.status();
  for (const auto& ep : *eps) {
    tcp::acceptor acc(impl_->io);
    boost::system::error_code ec;
    acc.open(ep.protocol(), ec);
    if (!ec && ep.address().is_v6()) {
      acc.set_option(net::ip::v6_only(false), ec);
    }
    if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acc.bind(ep, ec);
    if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::Error("listen tcp " + addr +
                           ": bind: " + AsciiToLower(ec.message()));
    }
    impl_->acceptors.push_back(std::make_shared<tcp::acceptor>(std::move(acc)));
  }
  return Status::Ok();
}

void Server::Start() {
  for (const auto& acc : impl_->acceptors) {
    net::co_spawn(impl_->io, impl_->Accept(acc), net::detached);
  }
}

net::awaitable<void> Server::Impl::Accept(std::shared_ptr<tcp::acceptor> acc) {
  boost::system::error_code lec;
  auto local = acc->local_endpoint(lec);
  nettrace::Task task("monitoring",
                      "HTTP listener " + (lec ? std::string("?") : [&] {
                        std::ostringstream s;
                        s << local;
                        return s.str();
                      }()));
  task.SetState("accepting");
  net::steady_timer backoff(io);
  for (;;) {
    auto strand = net::make_strand(io);  // Named: base/async.h.
    auto [ec, sock] =
        co_await acc->async_accept(strand, net::as_tuple(net::use_awaitable));
    if (ec) {
      if (ec == net::error::operation_aborted) co_return;
      // Out of descriptors (EMFILE) every accept fails at once, client or
      // not: retrying straight away would spin a core. Wait a little; the
      // pending clients are served when descriptors free up.
      task.SetState("accept error, backing off: " + ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      auto wait = backoff.async_wait(net::as_tuple(net::use_awaitable));
      (void)co_await std::move(wait);
      task.SetState("accepting");
      continue;
    }
    if (connections >= kMaxConnections) continue;  // Dropped: closes sock.
    auto ex = sock.get_executor();
    net::co_spawn(ex, Session(std::move(sock)), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        CLOG_ERROR(std::string("monitoring: ") + ex.what());
      }
    });
  }
}

net::awaitable<void> Server::Impl::Session(tcp::socket sock) {
  connections++;
  struct Guard {
    std::atomic<size_t>& c;
    ~Guard() { c--; }
  } guard{connections};
  boost::system::error_code pec;
  auto peer = sock.remote_endpoint(pec);
  std::ostringstream peer_s;
  if (!pec) peer_s << peer;
  nettrace::Task task("monitoring", "HTTP client " + peer_s.str());
  beast::tcp_stream stream(std::move(sock));
  beast::flat_buffer buf;
  for (;;) {
    task.SetState("reading request");
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxBodyBytes);
    stream.expires_after(kIdleTimeout);
    auto [ec, n] = co_await http::async_read(stream, buf, parser,
                                             net::as_tuple(net::use_awaitable));
    if (ec) co_return;
    auto hreq = parser.release();
    Request req;
    req.method = std::string(hreq.method_string());
    req.target = std::string(hreq.target());
    size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos)
      req.query = ParseQuery(req.target.substr(q + 1));
    req.body = hreq.body();
    if (req.method == "POST") {
      auto ct = hreq[http::field::content_type];
      if (ct.starts_with("application/x-www-form-urlencoded")) {
        for (auto& kv : ParseQuery(req.body)) req.query.insert(kv);
      }
    }
    bool head = req.method == "HEAD";
    task.SetState("serving " + req.method + " " + req.target);
    Response r = co_await self->Dispatch(std::move(req));
    task.SetState("writing response");

    http::response<http::string_body> res{static_cast<http::status>(r.status),
                                          hreq.version()};
    std::string ct = r.content_type;
    if (ct.empty()) {
      ct = (HasPrefix(r.body, "<!DOCTYPE html") || HasPrefix(r.body, "<html"))
               ? "text/html; charset=utf-8"
               : "text/plain; charset=utf-8";
    }
    res.set(http::field::content_type, ct);
    bool exiting = false;
    for (auto& [k, v] : r.headers) {
      if (k == "X-Chasquid-Exit") {
        exiting = true;
        continue;
      }
      res.set(k, v);
    }
    res.keep_alive(hreq.keep_alive() && !exiting);
    if (head) {
      res.content_length(r.body.size());
    } else {
      res.body() = std::move(r.body);
      res.prepare_payload();
    }
    stream.expires_after(kIdleTimeout);
    if (head) {
      http::response_serializer<http::string_body> sr{res};
      auto [wec, wn] = co_await http::async_write_header(
          stream, sr, net::as_tuple(net::use_awaitable));
      if (wec) co_return;
    } else {
      auto [wec, wn] = co_await http::async_write(
          stream, res, net::as_tuple(net::use_awaitable));
      if (wec) co_return;
    }
    if (exiting) {
      beast::error_code sec;
      stream.socket().shutdown(tcp::socket::shutdown_send, sec);
      if (info.on_exit) info.on_exit();
      co_return;
    }
    if (!res.keep_alive()) co_return;
  }
}

}  // namespace chasquid::monitoring
