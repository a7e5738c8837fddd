#include "tlsroots/tlsroots.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <set>
#include <vector>

#include "base/strings.h"

namespace chasquid::tlsroots {
namespace {

// Go's crypto/x509 root_linux.go lists.
const char* const kCertFiles[] = {
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
};
const char* const kCertDirs[] = {"/etc/ssl/certs", "/etc/pki/tls/certs"};

// Adds every PEM certificate in `path` to `store`; returns how many.
int AddPemFile(X509_STORE* store, const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (!bio) return 0;
  int n = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(store, cert) == 1) n++;
    X509_free(cert);
  }
  BIO_free(bio);
  ERR_clear_error();  // The end of file shows up as a PEM error.
  return n;
}

void LoadRoots(X509_STORE* store) {
  std::vector<std::string> files;
  if (const char* f = getenv("SSL_CERT_FILE"); f && *f) {
    files.push_back(f);
  } else {
    files.assign(std::begin(kCertFiles), std::end(kCertFiles));
  }
  for (const auto& f : files) {
    if (AddPemFile(store, f) > 0) break;  // Go uses the first that works.
  }
  std::vector<std::string> dirs;
  if (const char* d = getenv("SSL_CERT_DIR"); d && *d) {
    dirs = Split(d, ":");
  } else {
    dirs.assign(std::begin(kCertDirs), std::end(kCertDirs));
  }
  for (const auto& dir : dirs) {
    DIR* dp = opendir(dir.c_str());
    if (!dp) continue;
    // In name order, as Go reads a directory: the store then holds the
    // same certificates in the same order whatever the file system says.
    std::vector<std::string> names;
    while (dirent* e = readdir(dp)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      names.push_back(std::move(name));
    }
    closedir(dp);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) AddPemFile(store, dir + "/" + name);
  }
}

bool ValidNow(X509* c) {
  return X509_cmp_time(X509_get0_notBefore(c), nullptr) < 0 &&
         X509_cmp_time(X509_get0_notAfter(c), nullptr) > 0;
}

// The store's issuer lookup (X509_STORE_set_get_issuer). OpenSSL's own
// takes the first trusted certificate whose subject is x's issuer name
// (and whose key identifier matches, if both have one), and only verifies
// the signature once the chain is built. Certificates that one tool made
// without key identifiers all share a subject: self-signed test and
// private certificates typically read just "O=<tool's org>". With two of
// them trusted, the second host's own certificate would lose to the first
// one's and fail with a bad signature (or, self-signed, as an "untrusted
// mimic" of it). Go's x509 tries every certificate of that name; so do
// we: the issuer is one that really signed `x`, preferring one that is
// valid now, else any that signed it (so that the verifier reports the
// expiry rather than a missing issuer). Returns 1 and a new reference in
// *issuer, or 0 if there is none.
int GetIssuer(X509** issuer, X509_STORE_CTX* ctx, X509* x) {
  *issuer = nullptr;
  STACK_OF(X509)* candidates =
      X509_STORE_CTX_get1_certs(ctx, X509_get_issuer_name(x));
  if (!candidates) {
    ERR_clear_error();  // "Not found" is not an error here.
    return 0;
  }
  X509* best = nullptr;
  for (int i = 0; i < sk_X509_num(candidates); i++) {
    X509* c = sk_X509_value(candidates, i);
    EVP_PKEY* key = X509_get0_pubkey(c);
    if (!key || X509_check_issued(c, x) != X509_V_OK ||
        X509_verify(x, key) != 1) {
      continue;
    }
    if (!best || (!ValidNow(best) && ValidNow(c))) best = c;
  }
  if (best) {
    X509_up_ref(best);
    *issuer = best;
  }
  sk_X509_pop_free(candidates, X509_free);
  ERR_clear_error();  // Candidates that failed leave their errors behind.
  return best ? 1 : 0;
}

// Reading a few hundred PEM files takes a while: do it on first use, not
// at start-up (where it would delay installing the signal handlers).
void EnsureRoots(SSL_CTX* ctx) {
  static std::mutex mu;
  static std::set<SSL_CTX*> loaded;
  std::lock_guard<std::mutex> l(mu);
  if (!loaded.insert(ctx).second) return;
  LoadRoots(SSL_CTX_get_cert_store(ctx));
}

int FailureIndex() {
  static int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

// Never aborts the handshake; remembers that something failed.
int RecordingVerify(int preverify_ok, X509_STORE_CTX* ctx) {
  if (!preverify_ok) {
    SSL* ssl = static_cast<SSL*>(
        X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (ssl) SSL_set_ex_data(ssl, FailureIndex(), reinterpret_cast<void*>(1));
  }
  return 1;
}

bool IsIP(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

Result<std::shared_ptr<net::ssl::context>> NewClientContext() {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  SSL_CTX* c = ctx->native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  X509_STORE_set_get_issuer(SSL_CTX_get_cert_store(c), &GetIssuer);
  // Every trusted certificate is an anchor, as in Go, not only
  // self-signed ones: a server's own certificate or an intermediate put in
  // the trusted set ends the chain there. Expiry, purpose and host name
  // are still checked on every certificate of the chain.
  X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(c), X509_V_FLAG_PARTIAL_CHAIN);
  return ctx;
}

Status PrepareClient(SSL* ssl, std::string host, bool strict) {
  EnsureRoots(SSL_get_SSL_CTX(ssl));
  if (!host.empty() && host.back() == '.') host.pop_back();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (IsIP(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
      return Status::Transient("invalid host name for SNI: " + host);
    }
    X509_VERIFY_PARAM_set_hostflags(param,
                                    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
                                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) != 1) {
      return Status::Transient("invalid host name: " + host);
    }
  }
  SSL_set_ex_data(ssl, FailureIndex(), nullptr);
  SSL_set_verify(ssl, SSL_VERIFY_PEER, strict ? nullptr : &RecordingVerify);
  return Status::Ok();
}

bool Verified(SSL* ssl) {
  if (SSL_get_ex_data(ssl, FailureIndex()) != nullptr) return false;
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (!peer) return false;
  X509_free(peer);
  return SSL_get_verify_result(ssl) == X509_V_OK;
}

std::string VersionName(SSL* ssl) {
  switch (SSL_version(ssl)) {
    case TLS1_3_VERSION:
      return "TLS-1.3";
    case TLS1_2_VERSION:
      return "TLS-1.2";
    case TLS1_1_VERSION:
      return "TLS-1.1";
    case TLS1_VERSION:
      return "TLS-1.0";
    default:
      return "unknown";
  }
}

std::string CipherName(SSL* ssl) {
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
  if (!c) return "";
  const char* name = SSL_CIPHER_standard_name(c);
  return name ? name : SSL_CIPHER_get_name(c);
}

}  // namespace chasquid::tlsroots
