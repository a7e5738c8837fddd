// The server TLS context: every (fullchain, privkey) pair
// from certs/, chosen per handshake by the client's SNI name; TLS 1.2 and
// 1.3 only; no session tickets (a Microsoft client bug); no client
// certificates. Also the names chasquid prints for versions and suites.
//
// Certificates can be replaced while the daemon runs (certbot renews them
// in place). A TlsContext is therefore an immutable snapshot: KeyPairs are
// loaded from files once, a TlsContext is built from them, and TlsStore
// holds the current one. A connection takes the current snapshot when its
// handshake starts and keeps it for its whole life, so a reload never
// changes the certificate under an open connection, and a snapshot is
// freed when its last connection ends. OpenSSL's SSL_CTX is thread-safe
// for this read-only use.
#pragma once

#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <openssl/ssl.h>
#include <boost/asio/ssl/context.hpp>

#include "base/status.h"

namespace chasquid::smtpsrv {

struct CertPair {
  std::string fullchain, privkey;  // Paths.
};

// One certificate chain and its private key, in memory. Immutable and
// thread-safe; shared by every snapshot that serves it.
class KeyPair {
 public:
  // Reads and checks the files: the chain parses, the key parses and
  // matches the leaf. Errors name the file.
  static Result<std::shared_ptr<const KeyPair>> Load(const CertPair& files);
  ~KeyPair();
  KeyPair(const KeyPair&) = delete;
  KeyPair& operator=(const KeyPair&) = delete;

  X509* leaf() const { return leaf_; }               // Owned.
  STACK_OF(X509) * chain() const { return chain_; }  // Owned; may be null.
  EVP_PKEY* key() const { return key_; }             // Owned.
  // The leaf's notAfter, in seconds since the epoch.
  std::time_t NotAfter() const;

 private:
  KeyPair() = default;
  X509* leaf_ = nullptr;
  STACK_OF(X509) * chain_ = nullptr;
  EVP_PKEY* key_ = nullptr;
};

// The context, owning the per-certificate sub-contexts used for SNI.
class TlsContext {
 public:
  // Loads every pair; an unreadable or mismatched pair is an error naming
  // the files. At least one pair is required.
  static Result<std::unique_ptr<TlsContext>> New(
      const std::vector<CertPair>& certs);
  // Builds a context from pairs already loaded; the first one is served
  // when no other matches the SNI name. At least one pair is required.
  static Result<std::unique_ptr<TlsContext>> FromPairs(
      std::vector<std::shared_ptr<const KeyPair>> pairs);
  ~TlsContext();

  boost::asio::ssl::context& context() { return *main_; }
  size_t size() const { return pairs_.size(); }

 private:
  TlsContext() = default;
  static int OnServerName(SSL* ssl, int* alert, void* arg);

  std::vector<std::shared_ptr<const KeyPair>> pairs_;
  std::unique_ptr<boost::asio::ssl::context> main_;  // The first pair.
  std::vector<std::unique_ptr<boost::asio::ssl::context>> extra_;
};

// The current TlsContext snapshot. Thread-safe: Set from the reloader,
// Get from any connection.
class TlsStore {
 public:
  TlsStore() = default;
  explicit TlsStore(std::shared_ptr<TlsContext> ctx) : ctx_(std::move(ctx)) {}
  // Null until the first Set.
  std::shared_ptr<TlsContext> Get() const;
  void Set(std::shared_ptr<TlsContext> ctx);

 private:
  mutable std::mutex mu_;
  std::shared_ptr<TlsContext> ctx_;
};

// "TLS-1.2", "TLS-1.3", "SSL-3.0", ..., "TLS-0x1234".
std::string TlsVersionName(int version);
// IANA name, e.g. "TLS_AES_128_GCM_SHA256";
// "TLS_UNKNOWN_CIPHER_SUITE-0x1234" when OpenSSL has none.
std::string TlsCipherName(const SSL_CIPHER* c);
// An OpenSSL/Asio error as text for replies and logs.
std::string TlsErrorText(const boost::system::error_code& ec);

}  // namespace chasquid::smtpsrv
