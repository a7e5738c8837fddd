#include "smtpsrv/testutil.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <boost/asio/write.hpp>

namespace chasquid::smtpsrv::testing {

namespace {

class CaptureSink : public maillog::Sink {
 public:
  CaptureSink(std::shared_ptr<std::vector<std::string>> lines,
              std::shared_ptr<std::mutex> mu)
      : lines_(std::move(lines)), mu_(std::move(mu)) {}
  Status Write(const std::string& line) override {
    std::lock_guard<std::mutex> l(*mu_);
    lines_->push_back(line);
    return Status::Ok();
  }

 private:
  std::shared_ptr<std::vector<std::string>> lines_;
  std::shared_ptr<std::mutex> mu_;
};

}  // namespace

const CertPair& TestCert() {
  static const CertPair pair = [] {
    char tmpl[] = "/tmp/smtpsrv-test-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    CertPair p{dir + "/fullchain.pem", dir + "/privkey.pem"};
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
        "-nodes -days 2 -subj /CN=testserver "
        "-addext subjectAltName=DNS:testserver -keyout " +
        p.privkey + " -out " + p.fullchain + " 2>/dev/null";
    if (system(cmd.c_str()) != 0) abort();
    return p;
  }();
  return pair;
}

Options TestServer::DefaultOptions() {
  Options o;
  o.hostname = "testserver";
  o.max_data_size = 1024 * 1024;
  o.hooks_dir = "/nonexistent";
  return o;
}

TestServer::TestServer(Options opts) : work_(io_.get_executor()) {
  auto tls = TlsContext::New({TestCert()});
  if (!tls.ok()) abort();
  tls_ = std::make_unique<TlsStore>(std::move(*tls));
  Deps d;
  d.queue = &queue_;
  d.tls = tls_.get();
  d.blocking = &pool_;
  d.local_domains = {"testserver", "localhost"};
  d.authenticate = [](const std::string& u, const std::string& dom,
                      const std::string& p) -> Result<bool> {
    if (u == "broken") return Status::Transient("backend down");
    return u == "user" && dom == "testserver" && p == "secret";
  };
  d.user_exists = [](const std::string& u,
                     const std::string& dom) -> Result<bool> {
    if (u == "broken") return Status::Transient("backend down");
    return (u == "user" || u == "ñandú") && dom == "testserver";
  };
  lines_ = std::make_shared<std::vector<std::string>>();
  lines_mu_ = std::make_shared<std::mutex>();
  maillog_ = std::make_unique<maillog::Logger>(
      std::make_unique<CaptureSink>(lines_, lines_mu_), false);
  d.maillog = maillog_.get();
  srv_ = std::make_unique<Server>(io_, std::move(opts), std::move(d));
  for (Mode m : {Mode::kSmtp, Mode::kSubmission, Mode::kSubmissionTls}) {
    if (!srv_->Listen("127.0.0.1:0", m).ok()) abort();
  }
  srv_->Start();
  thread_ = std::thread([this] { io_.run(); });
}

TestServer::~TestServer() {
  io_.stop();
  thread_.join();
  pool_.join();
}

void TestServer::ClearMaillog() {
  std::lock_guard<std::mutex> l(*lines_mu_);
  lines_->clear();
}

uint16_t TestServer::port(Mode m) const {
  return srv_->local_endpoints().at(static_cast<int>(m)).port();
}

std::vector<std::string> TestServer::maillog() const {
  std::lock_guard<std::mutex> l(*lines_mu_);
  std::vector<std::string> out;
  for (std::string s : *lines_) {
    if (!s.empty() && s.back() == '\n') s.pop_back();
    out.push_back(s);
  }
  return out;
}

Client::Client(uint16_t port) : sock_(io_) {
  sock_.connect({net::ip::make_address("127.0.0.1"), port});
}

Client::~Client() = default;

void Client::HalfClose() {
  boost::system::error_code ec;
  sock_.shutdown(net::ip::tcp::socket::shutdown_send, ec);
}

void Client::Send(const std::string& raw) {
  boost::system::error_code ec;
  if (tls_) {
    net::write(*tls_, net::buffer(raw), ec);
  } else {
    net::write(sock_, net::buffer(raw), ec);
  }
}

size_t Client::ReadSome(char* buf, size_t n) {
  // Asio's blocking reads retry forever on SO_RCVTIMEO; bound them here.
  if (!tls_ || SSL_pending(tls_->native_handle()) == 0) {
    pollfd p{sock_.native_handle(), POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) return 0;
  }
  boost::system::error_code ec;
  size_t r = tls_ ? tls_->read_some(net::buffer(buf, n), ec)
                  : sock_.read_some(net::buffer(buf, n), ec);
  return ec ? 0 : r;
}

std::string Client::ReadLine() {
  while (true) {
    size_t nl = buf_.find("\r\n");
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 2);
      return line;
    }
    char tmp[4096];
    size_t n = ReadSome(tmp, sizeof(tmp));
    if (n == 0) return "";
    buf_.append(tmp, n);
  }
}

std::string Client::Reply() {
  std::string out;
  while (true) {
    std::string line = ReadLine();
    if (line.empty()) return out;
    if (!out.empty()) out += "\r\n";
    out += line;
    if (line.size() < 4 || line[3] != '-') return out;
  }
}

bool Client::Closed() {
  char c;
  return buf_.empty() && ReadSome(&c, 1) == 0;
}

bool Client::StartTls(const std::string& sni) {
  ctx_ = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
  tls_ =
      std::make_unique<net::ssl::stream<net::ip::tcp::socket&>>(sock_, *ctx_);
  SSL_set_tlsext_host_name(tls_->native_handle(), sni.c_str());
  boost::system::error_code ec;
  tls_->handshake(net::ssl::stream_base::client, ec);
  if (ec) tls_.reset();
  return !ec;
}

bool Client::HandshakeNow(const std::string& sni) { return StartTls(sni); }

}  // namespace chasquid::smtpsrv::testing
