#include "smtpsrv/tls.h"

#include <cstdio>

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace chasquid::smtpsrv {

namespace ssl = boost::asio::ssl;

namespace {

// The settings every context shares, before any certificate.
void SetOptions(ssl::context& ctx) {
  boost::system::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                      ssl::context::no_tlsv1_1,
                  ec);
  SSL_CTX* c = ctx.native_handle();
  // Go's defaults: TLS 1.2 and 1.3, ECDHE with AEAD suites (1.2).
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(c, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!SHA1");
  // No session tickets (chasquid works around a Microsoft bug this way);
  // with TLS 1.3 that also means issuing none after the handshake.
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_num_tickets(c, 0);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  // Idle connections should not keep 34 KiB of TLS buffers each.
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
}

Status LoadFiles(ssl::context& ctx, const CertPair& pair) {
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(pair.fullchain, ec);
  if (ec) {
    return Status::Error("loading " + pair.fullchain + ": " + ec.message());
  }
  ctx.use_private_key_file(pair.privkey, ssl::context::pem, ec);
  if (ec) return Status::Error("loading " + pair.privkey + ": " + ec.message());
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    return Status::Error("tls: private key does not match public key (" +
                         pair.fullchain + ", " + pair.privkey + ")");
  }
  return Status::Ok();
}

Status UsePair(ssl::context& ctx, const KeyPair& pair) {
  SSL_CTX* c = ctx.native_handle();
  if (SSL_CTX_use_certificate(c, pair.leaf()) != 1 ||
      (pair.chain() && SSL_CTX_set1_chain(c, pair.chain()) != 1) ||
      SSL_CTX_use_PrivateKey(c, pair.key()) != 1) {
    ERR_clear_error();
    return Status::Error("tls: cannot use a loaded certificate");
  }
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<const KeyPair>> KeyPair::Load(const CertPair& files) {
  // OpenSSL's own file loaders (the same as at start-up), into a scratch
  // context; the pair then keeps references to what it parsed.
  ssl::context scratch(ssl::context::tls_server);
  if (Status s = LoadFiles(scratch, files); !s.ok()) {
    ERR_clear_error();
    return s;
  }
  SSL_CTX* c = scratch.native_handle();
  std::shared_ptr<KeyPair> p(new KeyPair());
  p->leaf_ = SSL_CTX_get0_certificate(c);
  p->key_ = SSL_CTX_get0_privatekey(c);
  if (!p->leaf_ || !p->key_) return Status::Error("tls: empty pair");
  X509_up_ref(p->leaf_);
  EVP_PKEY_up_ref(p->key_);
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(c, &chain);
  if (chain) p->chain_ = X509_chain_up_ref(chain);
  return std::shared_ptr<const KeyPair>(std::move(p));
}

KeyPair::~KeyPair() {
  X509_free(leaf_);
  if (chain_) sk_X509_pop_free(chain_, X509_free);
  EVP_PKEY_free(key_);
}

std::time_t KeyPair::NotAfter() const {
  struct tm tm = {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf_), &tm) != 1) return 0;
  return timegm(&tm);
}

Result<std::unique_ptr<TlsContext>> TlsContext::New(
    const std::vector<CertPair>& certs) {
  std::vector<std::shared_ptr<const KeyPair>> pairs;
  for (const CertPair& c : certs) {
    auto p = KeyPair::Load(c);
    if (!p.ok()) return p.status();
    pairs.push_back(std::move(*p));
  }
  return FromPairs(std::move(pairs));
}

Result<std::unique_ptr<TlsContext>> TlsContext::FromPairs(
    std::vector<std::shared_ptr<const KeyPair>> pairs) {
  if (pairs.empty()) return Status::Error("no certificates");
  std::unique_ptr<TlsContext> t(new TlsContext());
  for (size_t i = 0; i < pairs.size(); i++) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    SetOptions(*ctx);
    if (Status s = UsePair(*ctx, *pairs[i]); !s.ok()) return s;
    if (i == 0) {
      t->main_ = std::move(ctx);
    } else {
      t->extra_.push_back(std::move(ctx));
    }
  }
  t->pairs_ = std::move(pairs);
  if (!t->extra_.empty()) {
    SSL_CTX* c = t->main_->native_handle();
    SSL_CTX_set_tlsext_servername_callback(c, &TlsContext::OnServerName);
    SSL_CTX_set_tlsext_servername_arg(c, t.get());
  }
  return t;
}

TlsContext::~TlsContext() = default;

// With several certificates, the first whose leaf matches the SNI name is
// used; otherwise the first one.
int TlsContext::OnServerName(SSL* ssl, int* alert, void* arg) {
  auto* t = static_cast<TlsContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name || !*name) return SSL_TLSEXT_ERR_OK;
  for (size_t i = 0; i < t->pairs_.size(); i++) {
    if (X509_check_host(t->pairs_[i]->leaf(), name, 0, 0, nullptr) == 1) {
      if (i > 0) SSL_set_SSL_CTX(ssl, t->extra_[i - 1]->native_handle());
      return SSL_TLSEXT_ERR_OK;
    }
  }
  return SSL_TLSEXT_ERR_OK;
}

std::shared_ptr<TlsContext> TlsStore::Get() const {
  std::lock_guard<std::mutex> l(mu_);
  return ctx_;
}

void TlsStore::Set(std::shared_ptr<TlsContext> ctx) {
  std::lock_guard<std::mutex> l(mu_);
  ctx_ = std::move(ctx);
}

std::string TlsVersionName(int v) {
  switch (v) {
    case SSL3_VERSION:
      return "SSL-3.0";
    case TLS1_VERSION:
      return "TLS-1.0";
    case TLS1_1_VERSION:
      return "TLS-1.1";
    case TLS1_2_VERSION:
      return "TLS-1.2";
    case TLS1_3_VERSION:
      return "TLS-1.3";
  }
  char buf[16];
  snprintf(buf, sizeof(buf), "TLS-0x%04x", v & 0xFFFF);
  return buf;
}

std::string TlsCipherName(const SSL_CIPHER* c) {
  if (!c) return "TLS_UNKNOWN_CIPHER_SUITE-0x0000";
  const char* n = SSL_CIPHER_standard_name(c);
  if (n && *n) return n;
  char buf[48];
  snprintf(buf, sizeof(buf), "TLS_UNKNOWN_CIPHER_SUITE-0x%04x",
           SSL_CIPHER_get_protocol_id(c));
  return buf;
}

std::string TlsErrorText(const boost::system::error_code& ec) {
  return ec.message();
}

}  // namespace chasquid::smtpsrv
