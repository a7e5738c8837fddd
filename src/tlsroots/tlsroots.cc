#include "tlsroots/tlsroots.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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
    while (dirent* e = readdir(dp)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      AddPemFile(store, dir + "/" + name);
    }
    closedir(dp);
  }
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
  static int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr,
                                        nullptr);
  return idx;
}

// Never aborts the handshake; remembers that something failed.
int RecordingVerify(int preverify_ok, X509_STORE_CTX* ctx) {
  if (!preverify_ok) {
    SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(
        ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
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
  auto ctx =
      std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  SSL_CTX* c = ctx->native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
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
    X509_VERIFY_PARAM_set_hostflags(
        param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
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
    case TLS1_3_VERSION: return "TLS-1.3";
    case TLS1_2_VERSION: return "TLS-1.2";
    case TLS1_1_VERSION: return "TLS-1.1";
    case TLS1_VERSION: return "TLS-1.0";
    default: return "unknown";
  }
}

std::string CipherName(SSL* ssl) {
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
  if (!c) return "";
  const char* name = SSL_CIPHER_standard_name(c);
  return name ? name : SSL_CIPHER_get_name(c);
}

}  // namespace chasquid::tlsroots
