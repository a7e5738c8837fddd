// The server TLS context: every (fullchain, privkey) pair
// from certs/, chosen per handshake by the client's SNI name; TLS 1.2 and
// 1.3 only; no session tickets (a Microsoft client bug); no client
// certificates. Also the names chasquid prints for versions and suites.
//
// The context is built once at start-up and then only read (OpenSSL
// SSL_CTX is thread-safe for that).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>

#include "base/status.h"

namespace chasquid::smtpsrv {

struct CertPair {
  std::string fullchain, privkey;  // Paths.
};

// The context, owning the per-certificate sub-contexts used for SNI.
class TlsContext {
 public:
  // Loads every pair; an unreadable or mismatched pair is an error naming
  // the files. At least one pair is required.
  static Result<std::unique_ptr<TlsContext>> New(
      const std::vector<CertPair>& certs);
  ~TlsContext();

  boost::asio::ssl::context& context() { return *main_; }
  size_t size() const { return 1 + extra_.size(); }

 private:
  TlsContext() = default;
  static int OnServerName(SSL* ssl, int* alert, void* arg);

  std::unique_ptr<boost::asio::ssl::context> main_;  // The first pair.
  std::vector<std::unique_ptr<boost::asio::ssl::context>> extra_;
  std::vector<X509*> leaves_;  // Not owned (belong to the contexts).
};

// "TLS-1.2", "TLS-1.3", "SSL-3.0", ..., "TLS-0x1234".
std::string TlsVersionName(int version);
// IANA name, e.g. "TLS_AES_128_GCM_SHA256";
// "TLS_UNKNOWN_CIPHER_SUITE-0x1234" when OpenSSL has none.
std::string TlsCipherName(const SSL_CIPHER* c);
// An OpenSSL/Asio error as text for replies and logs.
std::string TlsErrorText(const boost::system::error_code& ec);

}  // namespace chasquid::smtpsrv
