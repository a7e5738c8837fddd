// The c-ares Resolver: every c-ares call happens on one strand; the sockets
// c-ares opens are watched with Asio descriptors (never owned: c-ares closes
// them) and its retransmission timeouts are driven by one steady_timer.
#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"
#include "dns/answers.h"
#include "dns/dns.h"
#include "metrics/metrics.h"

namespace chasquid::dns {
namespace {

// c-ares' library state is process-global and must be set up once.
void InitLibraryOnce() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

// RFC 6698 §7.1; older glibc headers have no ns_t_tlsa.
constexpr int kTypeTLSA = 52;

// The completion of one c-ares query: the status and the raw answer.
class OpBase {
 public:
  virtual ~OpBase() = default;
  virtual void Complete(int status, std::string answer) = 0;
  // For the variables: the query type and when it was sent.
  int type = 0;
  std::chrono::steady_clock::time_point start;
};

// Ours: every query sent, by type and by result, and how long it took.
// Label values come from fixed lists, never from the network.
const char* TypeLabel(int type) {
  switch (type) {
    case ns_t_a:
      return "A";
    case ns_t_aaaa:
      return "AAAA";
    case ns_t_mx:
      return "MX";
    case ns_t_txt:
      return "TXT";
    case ns_t_ptr:
      return "PTR";
    case kTypeTLSA:
      return "TLSA";
  }
  return "other";
}

const char* ResultLabel(int status) {
  switch (status) {
    case ARES_SUCCESS:
      return "ok";
    case ARES_ENODATA:
      return "nodata";
    case ARES_ENOTFOUND:
      return "nxdomain";
    case ARES_ETIMEOUT:
      return "timeout";
  }
  return "error";
}

struct DnsVars {
  metrics::CounterMap* queries = metrics::NewMap(
      "chasquid/dns/queries", "type", "DNS queries sent, by record type");
  metrics::CounterMap* results = metrics::NewMap(
      "chasquid/dns/queryResults", "result",
      "DNS query results (ok, nodata, nxdomain, timeout, error)");
  metrics::HistogramMap* duration = metrics::NewHistogramMap(
      "chasquid/dns/queryDuration", "type",
      "duration of DNS queries, in seconds, by record type",
      {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30});
};

// Created with the first resolver, so they are exported from start-up on.
const DnsVars& GetDnsVars() {
  static const DnsVars v;
  return v;
}

void CountQuery(const OpBase& op, int status) {
  const DnsVars& v = GetDnsVars();
  const char* type = TypeLabel(op.type);
  v.queries->Add(type);
  v.results->Add(ResultLabel(status));
  v.duration->Observe(type, std::chrono::duration<double>(
                                std::chrono::steady_clock::now() - op.start)
                                .count());
}

template <typename Handler>
class Op : public OpBase {
 public:
  explicit Op(Handler h) : h_(std::move(h)), work_(net::make_work_guard(h_)) {}
  void Complete(int status, std::string answer) override {
    auto ex = net::get_associated_executor(h_);
    net::post(
        ex, [h = std::move(h_), status, answer = std::move(answer)]() mutable {
          std::move(h)(status, std::move(answer));
        });
    work_.reset();
  }

 private:
  Handler h_;
  net::executor_work_guard<net::associated_executor_t<Handler>> work_;
};

void OnQueryDone(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                 int alen) {
  auto* op = static_cast<OpBase*>(arg);
  CountQuery(*op, status);
  std::string answer;
  if (abuf && alen > 0) answer.assign(reinterpret_cast<char*>(abuf), alen);
  op->Complete(status, std::move(answer));
  delete op;
}

// Maps a c-ares error to the contract's Status.
Status QueryError(const std::string& name, int status) {
  switch (status) {
    case ARES_ENOTFOUND:
      return Status::NotFound("no such host");
    case ARES_ETIMEOUT:
      return Status::Transient("lookup " + name + ": i/o timeout");
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
    case ARES_EFORMERR:
    case ARES_EBADRESP:
      return Status::Transient("lookup " + name + ": server misbehaving");
    case ARES_EBADNAME:
      return Status::Permanent("lookup " + name + ": invalid domain name");
    default:
      return Status::Transient("lookup " + name + ": " + ares_strerror(status));
  }
}

// An answer c-ares took but cannot parse is the server misbehaving, a
// transient error like a timeout, whatever the parser calls it: a name in
// the answer that is a compression loop or runs off the end is
// ARES_EBADNAME, which QueryError reads as a bad query name (permanent),
// and would make SPF say "none" and a delivery bounce.
Status AnswerError(const std::string& name, int status) {
  return QueryError(name, status == ARES_EBADNAME ? ARES_EBADRESP : status);
}

// "1.0.0.127.in-addr.arpa" for "127.0.0.1"; the nibble form under
// ip6.arpa for IPv6 (RFC 1035 §3.5, RFC 3596 §2.5).
Result<std::string> ReverseName(const std::string& ip) {
  unsigned char b[sizeof(in6_addr)];
  char part[8];
  std::string out;
  if (inet_pton(AF_INET, ip.c_str(), b) == 1) {
    for (int i = 3; i >= 0; i--) {
      snprintf(part, sizeof(part), "%u.", b[i]);
      out += part;
    }
    return out + "in-addr.arpa";
  }
  if (inet_pton(AF_INET6, ip.c_str(), b) == 1) {
    for (int i = 15; i >= 0; i--) {
      snprintf(part, sizeof(part), "%x.%x.", b[i] & 0xf, b[i] >> 4);
      out += part;
    }
    return out + "ip6.arpa";
  }
  return Status::Permanent("unrecognized address: " + ip);
}

class CaresResolver : public Resolver {
 public:
  explicit CaresResolver(net::any_io_executor ex)
      : strand_(net::make_strand(ex)), timer_(strand_) {}

  ~CaresResolver() override {
    if (channel_) ares_destroy(channel_);
    for (auto& [fd, w] : watches_) {
      w->alive = false;
      w->desc.release();
    }
  }

  Status Init(const std::string& server) {
    InitLibraryOnce();
    ares_options opts{};
    opts.sock_state_cb = &CaresResolver::OnSockState;
    opts.sock_state_cb_data = this;
    opts.timeout = kTimeoutMs;  // c-ares doubles it on the retry.
    opts.tries = 2;
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    int rc = ares_init_options(&channel_, &opts, mask);
    if (rc != ARES_SUCCESS) {
      channel_ = nullptr;
      return Status::Error(std::string("c-ares init: ") + ares_strerror(rc));
    }
    if (!server.empty()) {
      rc = ares_set_servers_ports_csv(channel_, server.c_str());
      if (rc != ARES_SUCCESS) {
        return Status::Error("invalid DNS server address \"" + server +
                             "\": " + ares_strerror(rc));
      }
      override_ = true;
    }
    trusts_ad_ = AllServersOnLoopback();
    return Status::Ok();
  }

  bool TrustsAD() const override { return trusts_ad_; }

  net::awaitable<TLSAAnswer> LookupTLSA(std::string host,
                                        std::string port) override {
    TLSAAnswer out;
    if (!trusts_ad_) co_return out;  // kInsecure: nothing to believe.
    // RFC 7672 §2.2.2: TLSA records of a host whose addresses are not
    // authenticated are not looked up (an attacker chose the address
    // anyway). A failed address lookup leaves the TLSA one to tell.
    bool host_secure = false;
    auto a = co_await SecureQuery(host, ns_t_a, /*cd=*/false);
    if (std::get<0>(a) == ARES_SUCCESS) {
      auto p = ParseTLSAReply(std::get<1>(a));
      if (p.ok() && p->rcode == ns_r_noerror) {
        if (!p->ad) co_return out;
        host_secure = true;
      }
    }
    std::string name =
        std::string("_").append(port).append("._tcp.").append(host);
    auto q = co_await SecureQuery(name, kTypeTLSA, /*cd=*/false);
    int status = std::get<0>(q);
    std::string why;
    if (status == ARES_SUCCESS) {
      auto p = ParseTLSAReply(std::get<1>(q));
      if (p.ok() && (p->rcode == ns_r_noerror || p->rcode == ns_r_nxdomain)) {
        if (!p->ad) co_return out;
        out.kind = TLSAAnswer::Kind::kSecure;
        out.records = std::move(p->records);
        co_return out;
      }
      why = p.ok() ? std::string("rcode ").append(std::to_string(p->rcode))
                   : p.status().message();
    } else {
      why = ares_strerror(status);
    }
    // c-ares reports a validator's SERVFAIL as ARES_ESERVFAIL or, once it
    // gave up on its only server, ARES_ECONNREFUSED; anything but a
    // timeout may hide data that fails validation. Is it there?
    if (status != ARES_ETIMEOUT) {
      auto cd = co_await SecureQuery(name, kTypeTLSA, /*cd=*/true);
      if (std::get<0>(cd) == ARES_SUCCESS) {
        auto p = ParseTLSAReply(std::get<1>(cd));
        if (p.ok() && (p->rcode == ns_r_noerror || p->rcode == ns_r_nxdomain)) {
          out.kind = TLSAAnswer::Kind::kBogus;
          out.error = std::string("TLSA lookup for ")
                          .append(name)
                          .append(": DNSSEC validation failed");
          co_return out;
        }
      }
    }
    // A failure in an unsigned zone cannot hide DANE records: only one in
    // a signed zone defers (RFC 7672 §2.2). The host's addresses tell.
    if (host_secure) {
      out.kind = TLSAAnswer::Kind::kError;
      out.error =
          std::string("TLSA lookup for ").append(name).append(": ").append(why);
    }
    co_return out;
  }

  net::awaitable<bool> MXInsecure(std::string domain) override {
    if (!trusts_ad_) co_return false;
    auto q = co_await SecureQuery(domain, ns_t_mx, /*cd=*/false);
    if (std::get<0>(q) != ARES_SUCCESS) co_return false;
    auto p = ParseTLSAReply(std::get<1>(q));
    co_return p.ok() && p->rcode == ns_r_noerror && p->answers > 0 && !p->ad;
  }

  net::awaitable<Result<std::vector<MX>>> LookupMX(std::string name) override {
    auto [status, answer] = co_await Query(name, ns_t_mx);
    if (status == ARES_ENODATA) co_return std::vector<MX>{};
    if (status != ARES_SUCCESS) co_return QueryError(name, status);
    std::vector<MX> mxs;
    status = ParseMXAnswer(answer, &mxs);
    if (status == ARES_ENODATA) co_return std::vector<MX>{};
    if (status != ARES_SUCCESS) co_return AnswerError(name, status);
    co_return mxs;
  }

  net::awaitable<Result<std::vector<std::string>>> LookupIP(
      std::string name) override {
    std::vector<std::string> ips;
    // IP literals need no query (Go's resolver does the same).
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(AF_INET, name.c_str(), buf) == 1 ||
        inet_pton(AF_INET6, name.c_str(), buf) == 1) {
      co_return std::vector<std::string>{name};
    }
    if (!override_) {
      // c-ares calls happen only on the strand. The lambda is named, not a
      // temporary inside the co_await: GCC 12 destroys such temporaries
      // twice (base/async.h). That double free crashed the daemon on every
      // remote delivery without --testing__dns_addr, the only case that
      // reads the hosts file; the tests always set the flag.
      auto from_hosts = [this,
                         name]() -> net::awaitable<std::vector<std::string>> {
        co_return FromHostsFile(name);
      };
      ips = co_await net::co_spawn(strand_, from_hosts, net::use_awaitable);
      if (!ips.empty()) co_return ips;
    }
    // No structured bindings across a later co_await (GCC 12 keeps the
    // hidden tuple in the frame and has miscompiled that).
    auto q4 = co_await Query(name, ns_t_a);
    auto q6 = co_await Query(name, ns_t_aaaa);
    const int s4 = std::get<0>(q4), s6 = std::get<0>(q6);
    const std::string& a4 = std::get<1>(q4);
    const std::string& a6 = std::get<1>(q6);
    bool any_ok = false;
    // An answer that does not parse adds nothing, as before.
    if (s4 == ARES_SUCCESS) {
      (void)ParseAddrAnswer(a4, AF_INET, &ips);
      any_ok = true;
    }
    if (s6 == ARES_SUCCESS) {
      (void)ParseAddrAnswer(a6, AF_INET6, &ips);
      any_ok = true;
    }
    if (any_ok || s4 == ARES_ENODATA || s6 == ARES_ENODATA) co_return ips;
    co_return QueryError(name, s4 != ARES_ENOTFOUND ? s4 : s6);
  }

  net::awaitable<Result<std::vector<std::string>>> LookupAddr(
      std::string ip) override {
    auto rev = ReverseName(ip);
    if (!rev.ok()) co_return rev.status();
    auto [status, answer] = co_await Query(*rev, ns_t_ptr);
    if (status == ARES_ENODATA) co_return std::vector<std::string>{};
    if (status != ARES_SUCCESS) co_return QueryError(*rev, status);
    std::vector<std::string> names;
    (void)ParsePTRAnswer(ip, answer, &names);
    co_return names;
  }

  net::awaitable<Result<std::vector<std::string>>> LookupTXT(
      std::string name) override {
    auto [status, answer] = co_await Query(name, ns_t_txt);
    if (status == ARES_ENODATA) co_return std::vector<std::string>{};
    if (status != ARES_SUCCESS) co_return QueryError(name, status);
    std::vector<std::string> txts;
    status = ParseTXTAnswer(answer, &txts);
    if (status == ARES_ENODATA) co_return std::vector<std::string>{};
    if (status != ARES_SUCCESS) co_return AnswerError(name, status);
    co_return txts;
  }

 private:
  struct Watch {
    explicit Watch(net::strand<net::any_io_executor>& s, int fd)
        : desc(s, fd) {}
    net::posix::stream_descriptor desc;
    bool want_read = false, want_write = false;
    bool reading = false, writing = false;
    bool alive = true;
  };

  // On the strand.
  std::vector<std::string> FromHostsFile(const std::string& name) {
    std::vector<std::string> ips;
    for (int family : {AF_INET, AF_INET6}) {
      hostent* host = nullptr;
      if (ares_gethostbyname_file(channel_, name.c_str(), family, &host) !=
          ARES_SUCCESS) {
        continue;
      }
      char text[INET6_ADDRSTRLEN];
      for (char** a = host->h_addr_list; a && *a; a++) {
        if (inet_ntop(family, *a, text, sizeof(text))) ips.push_back(text);
      }
      ares_free_hostent(host);
    }
    return ips;
  }

  // Whether every server c-ares will ask is a loopback address.
  bool AllServersOnLoopback() {
    ares_addr_port_node* servers = nullptr;
    if (ares_get_servers_ports(channel_, &servers) != ARES_SUCCESS) {
      return false;
    }
    bool any = false, all = true;
    char text[INET6_ADDRSTRLEN];
    for (auto* s = servers; s; s = s->next) {
      any = true;
      if (!inet_ntop(s->family, &s->addr, text, sizeof(text)) ||
          !IsLoopbackServer(text)) {
        all = false;
      }
    }
    ares_free_data(servers);
    return any && all;
  }

  // Sends one query with EDNS0 and the AD bit (and with `cd`, the CD bit)
  // set, and returns (c-ares status, raw answer). Unlike ares_query, an
  // NXDOMAIN comes back as ARES_SUCCESS with the reply's RCODE.
  net::awaitable<std::tuple<int, std::string>> SecureQuery(std::string name,
                                                           int type, bool cd) {
    return net::async_initiate<decltype(net::use_awaitable),
                               void(int, std::string)>(
        [this, name, type, cd](auto handler) {
          auto* op = new Op<decltype(handler)>(std::move(handler));
          op->type = type;
          op->start = std::chrono::steady_clock::now();
          net::post(strand_, [this, name, type, cd, op] {
            unsigned char* buf = nullptr;
            int len = 0;
            int rc = ares_create_query(name.c_str(), ns_c_in, type, 0,
                                       /*rd=*/1, &buf, &len,
                                       /*max_udp_size=*/1232);
            if (rc != ARES_SUCCESS || len < 12) {
              if (buf) ares_free_string(buf);
              OnQueryDone(op, rc != ARES_SUCCESS ? rc : ARES_EBADQUERY, 0,
                          nullptr, 0);
              return;
            }
            buf[3] |= 0x20;  // AD: "tell me if you validated it".
            if (cd) buf[3] |= 0x10;
            ares_send(channel_, buf, len, &OnQueryDone, op);
            ares_free_string(buf);
            RearmTimer();
          });
        },
        net::use_awaitable);
  }

  // Sends one query and returns (c-ares status, raw answer).
  net::awaitable<std::tuple<int, std::string>> Query(std::string name,
                                                     int type) {
    return net::async_initiate<decltype(net::use_awaitable),
                               void(int, std::string)>(
        [this, name, type](auto handler) {
          auto* op = new Op<decltype(handler)>(std::move(handler));
          op->type = type;
          op->start = std::chrono::steady_clock::now();
          net::post(strand_, [this, name, type, op] {
            ares_query(channel_, name.c_str(), ns_c_in, type, &OnQueryDone, op);
            RearmTimer();
          });
        },
        net::use_awaitable);
  }

  // c-ares tells us which sockets it wants watched. Called on the strand
  // (from ares_query or ares_process_fd).
  static void OnSockState(void* data, ares_socket_t fd, int readable,
                          int writable) {
    auto* self = static_cast<CaresResolver*>(data);
    auto it = self->watches_.find(fd);
    if (!readable && !writable) {
      if (it != self->watches_.end()) {
        it->second->alive = false;
        it->second->desc.release();  // c-ares closes the fd itself.
        self->watches_.erase(it);
      }
      return;
    }
    if (it == self->watches_.end()) {
      it =
          self->watches_.emplace(fd, std::make_shared<Watch>(self->strand_, fd))
              .first;
    }
    it->second->want_read = readable;
    it->second->want_write = writable;
    self->Arm(it->second, fd);
  }

  void Arm(const std::shared_ptr<Watch>& w, int fd) {
    if (w->want_read && !w->reading) {
      w->reading = true;
      w->desc.async_wait(
          net::posix::descriptor_base::wait_read,
          net::bind_executor(strand_,
                             [this, w, fd](boost::system::error_code ec) {
                               w->reading = false;
                               if (!w->alive || ec) return;
                               ares_process_fd(channel_, fd, ARES_SOCKET_BAD);
                               if (w->alive) Arm(w, fd);
                               RearmTimer();
                             }));
    }
    if (w->want_write && !w->writing) {
      w->writing = true;
      w->desc.async_wait(
          net::posix::descriptor_base::wait_write,
          net::bind_executor(strand_,
                             [this, w, fd](boost::system::error_code ec) {
                               w->writing = false;
                               if (!w->alive || ec) return;
                               ares_process_fd(channel_, ARES_SOCKET_BAD, fd);
                               if (w->alive) Arm(w, fd);
                               RearmTimer();
                             }));
    }
  }

  // Schedules ares_process_fd for c-ares' next retransmission or timeout.
  // ares_timeout walks every query in flight, so with thousands of them
  // (a restart with a big queue) calling it after each event was
  // quadratic. Every deadline c-ares sets is at least kTimeoutMs after it
  // sets it, so a timer armed to fire sooner than that from now is early
  // enough for any query sent or retried since: it stays, and when it
  // fires (perhaps for nothing, if its query was answered) the next one
  // is computed afresh.
  void RearmTimer() {
    auto now = std::chrono::steady_clock::now();
    if (timer_armed_ &&
        timer_due_ <= now + std::chrono::milliseconds(kTimeoutMs)) {
      return;
    }
    timeval tv{};
    if (!ares_timeout(channel_, nullptr, &tv)) {
      timer_armed_ = false;
      timer_.cancel();
      return;
    }
    auto wait =
        std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    timer_armed_ = true;
    timer_due_ = now + wait;
    timer_.expires_after(wait);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      timer_armed_ = false;
      ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      RearmTimer();
    });
  }

  static constexpr int kTimeoutMs = 2000;
  // On the strand: whether timer_ waits, and until when.
  bool timer_armed_ = false;
  std::chrono::steady_clock::time_point timer_due_;

  net::strand<net::any_io_executor> strand_;
  net::steady_timer timer_;
  ares_channel channel_ = nullptr;
  bool override_ = false;
  bool trusts_ad_ = false;
  std::map<int, std::shared_ptr<Watch>> watches_;
};

}  // namespace

bool IsLoopbackServer(const std::string& server) {
  std::string ip = server;
  if (!ip.empty() && ip[0] == '[') {
    ip = ip.substr(1, ip.find(']') - 1);
  } else if (std::count(ip.begin(), ip.end(), ':') == 1) {
    ip = ip.substr(0, ip.find(':'));  // "127.0.0.1:53"
  }
  in_addr a4;
  in6_addr a6;
  if (inet_pton(AF_INET, ip.c_str(), &a4) == 1) {
    return (ntohl(a4.s_addr) >> 24) == 127;
  }
  if (inet_pton(AF_INET6, ip.c_str(), &a6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&a6);
  }
  return false;
}

Result<ParsedTLSAReply> ParseTLSAReply(const std::string& msg) {
  auto u = [&msg](size_t i) -> unsigned {
    return static_cast<unsigned char>(msg[i]);
  };
  const size_t size = msg.size();
  if (size < 12) return Status::Error("DNS reply too short");
  ParsedTLSAReply r;
  r.rcode = static_cast<int>(u(3) & 0x0f);
  r.ad = (u(3) & 0x20) != 0;
  const unsigned qdcount = u(4) << 8 | u(5);
  const unsigned ancount = u(6) << 8 | u(7);
  size_t off = 12;
  // Skips a (possibly compressed) name; compression pointers end it.
  auto skip_name = [&]() -> bool {
    for (int labels = 0; labels < 128; labels++) {
      if (off >= size) return false;
      unsigned len = u(off);
      if (len == 0) {
        off++;
        return true;
      }
      if ((len & 0xc0) == 0xc0) {
        if (off + 2 > size) return false;
        off += 2;
        return true;
      }
      if (len & 0xc0) return false;
      off += 1 + len;
    }
    return false;
  };
  for (unsigned i = 0; i < qdcount; i++) {
    if (!skip_name() || off + 4 > size) {
      return Status::Error("malformed DNS question");
    }
    off += 4;
  }
  for (unsigned i = 0; i < ancount; i++) {
    if (!skip_name() || off + 10 > size) {
      return Status::Error("malformed DNS answer");
    }
    unsigned type = u(off) << 8 | u(off + 1);
    unsigned klass = u(off + 2) << 8 | u(off + 3);
    size_t rdlen = u(off + 8) << 8 | u(off + 9);
    off += 10;
    if (off + rdlen > size) return Status::Error("malformed DNS answer");
    r.answers++;
    if (type == kTypeTLSA && klass == ns_c_in && rdlen >= 3) {
      TLSA t;
      t.usage = static_cast<uint8_t>(u(off));
      t.selector = static_cast<uint8_t>(u(off + 1));
      t.matching_type = static_cast<uint8_t>(u(off + 2));
      t.data = msg.substr(off + 3, rdlen - 3);
      r.records.push_back(std::move(t));
    }
    off += rdlen;
  }
  return r;
}

Result<std::unique_ptr<Resolver>> NewCaresResolver(net::any_io_executor ex,
                                                   std::string server) {
  GetDnsVars();
  auto r = std::make_unique<CaresResolver>(ex);
  Status s = r->Init(server);
  if (!s.ok()) return s;
  return std::unique_ptr<Resolver>(std::move(r));
}

}  // namespace chasquid::dns
