#include "smtpsrv/tls.h"

#include <cstdio>

#include <openssl/x509v3.h>

namespace chasquid::smtpsrv {

namespace ssl = boost::asio::ssl;

namespace {

Status Configure(ssl::context& ctx, const CertPair& pair) {
  boost::system::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                      ssl::context::no_tlsv1_1,
                  ec);
  SSL_CTX* c = ctx.native_handle();
  // Go's defaults: TLS 1.2 and 1.3, ECDHE with AEAD suites (1.2).
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(c,
                          "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!SHA1");
  // No session tickets (chasquid works around a Microsoft bug this way);
  // with TLS 1.3 that also means issuing none after the handshake.
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_num_tickets(c, 0);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  // Idle connections should not keep 34 KiB of TLS buffers each.
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);

  ctx.use_certificate_chain_file(pair.fullchain, ec);
  if (ec) {
    return Status::Error("loading " + pair.fullchain + ": " + ec.message());
  }
  ctx.use_private_key_file(pair.privkey, ssl::context::pem, ec);
  if (ec) return Status::Error("loading " + pair.privkey + ": " + ec.message());
  if (SSL_CTX_check_private_key(c) != 1) {
    return Status::Error("tls: private key does not match public key (" +
                         pair.fullchain + ", " + pair.privkey + ")");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<TlsContext>> TlsContext::New(
    const std::vector<CertPair>& certs) {
  if (certs.empty()) return Status::Error("no certificates");
  std::unique_ptr<TlsContext> t(new TlsContext());
  for (size_t i = 0; i < certs.size(); i++) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    Status s = Configure(*ctx, certs[i]);
    if (!s.ok()) return s;
    t->leaves_.push_back(SSL_CTX_get0_certificate(ctx->native_handle()));
    if (i == 0) {
      t->main_ = std::move(ctx);
    } else {
      t->extra_.push_back(std::move(ctx));
    }
  }
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
  for (size_t i = 0; i < t->leaves_.size(); i++) {
    if (t->leaves_[i] &&
        X509_check_host(t->leaves_[i], name, 0, 0, nullptr) == 1) {
      if (i > 0) SSL_set_SSL_CTX(ssl, t->extra_[i - 1]->native_handle());
      return SSL_TLSEXT_ERR_OK;
    }
  }
  return SSL_TLSEXT_ERR_OK;
}

std::string TlsVersionName(int v) {
  switch (v) {
    case SSL3_VERSION: return "SSL-3.0";
    case TLS1_VERSION: return "TLS-1.0";
    case TLS1_1_VERSION: return "TLS-1.1";
    case TLS1_2_VERSION: return "TLS-1.2";
    case TLS1_3_VERSION: return "TLS-1.3";
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
