// Test helpers for smtpsrv: a server on loopback with fakes behind it,
// and a blocking line-oriented client (optionally over TLS). Test-only.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>

#include "maillog/maillog.h"
#include "smtpsrv/server.h"
#include "smtpsrv/tls.h"
#include "testlib/fake_queue.h"

namespace chasquid::smtpsrv::testing {

namespace net = boost::asio;

using testlib::FakeQueue;

// A self-signed certificate for "testserver" in a temporary directory.
const CertPair& TestCert();

// A running server on 127.0.0.1 (one listener per mode) with a FakeQueue,
// user "user@testserver" / "secret" and local domain "testserver".
class TestServer {
 public:
  explicit TestServer(Options opts = DefaultOptions());
  ~TestServer();
  static Options DefaultOptions();
  uint16_t port(Mode m) const;
  FakeQueue& queue() { return queue_; }
  std::vector<std::string> maillog() const;  // Lines so far.
  void ClearMaillog();
  Server& server() { return *srv_; }

 private:
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  net::thread_pool pool_{2};
  FakeQueue queue_;
  std::unique_ptr<TlsStore> tls_;
  std::unique_ptr<Server> srv_;
  std::thread thread_;
  std::shared_ptr<std::vector<std::string>> lines_;
  std::shared_ptr<std::mutex> lines_mu_;
  std::unique_ptr<maillog::Logger> maillog_;
};

// A blocking client; every read gives up after 10 s.
class Client {
 public:
  explicit Client(uint16_t port);
  ~Client();
  void Send(const std::string& raw);  // As is.
  void Cmd(const std::string& line) { Send(line + "\r\n"); }
  // One reply (all its lines, CRLF-joined without the last CRLF); "" on
  // EOF/timeout.
  std::string Reply();
  // Cmd + Reply.
  std::string Do(const std::string& line) {
    Cmd(line);
    return Reply();
  }
  // True if the server closed the connection (EOF on the next read).
  bool Closed();
  // Shuts down our sending side (the server reads EOF).
  void HalfClose();
  // STARTTLS handshake (after the 220 was read); false on failure.
  bool StartTls(const std::string& sni = "testserver");
  // For implicit TLS listeners.
  bool HandshakeNow(const std::string& sni = "testserver");

 private:
  std::string ReadLine();
  size_t ReadSome(char* buf, size_t n);
  net::io_context io_;
  net::ip::tcp::socket sock_;
  std::unique_ptr<net::ssl::context> ctx_;
  std::unique_ptr<net::ssl::stream<net::ip::tcp::socket&>> tls_;
  std::string buf_;
};

}  // namespace chasquid::smtpsrv::testing
