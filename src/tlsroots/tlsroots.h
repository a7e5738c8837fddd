// TLS client setup shared by the SMTP courier, the MTA-STS fetcher and
// smtp-check: trusted roots loaded with Go's semantics, and certificate
// validation like Go's crypto/tls (chain to the roots, server-auth, host
// name from subjectAltName only; the CN is never used).
//
// Roots: SSL_CERT_FILE replaces the default
// bundle file; SSL_CERT_DIR (':'-separated) replaces the default
// directories, and EVERY file in them is read as PEM (Go semantics, not
// OpenSSL's hashed-name lookup), in name order. Without them: the first
// readable of the usual bundle files, plus every file in /etc/ssl/certs.
// Every certificate of every file is a trust anchor, as in Go: also one
// that is not self-signed or not a CA (a server's own certificate), and
// also when several share a subject name (the issuer is the one whose
// signature verifies, not the first of that name).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>

#include "base/status.h"

namespace chasquid::tlsroots {

namespace net = boost::asio;

// A client context (TLS 1.2+) whose store holds the roots above. Built once
// per call; callers keep it for the process lifetime (contexts are
// thread-safe to use concurrently once configured).
Result<std::shared_ptr<net::ssl::context>> NewClientContext();

// Prepares `ssl` (a not yet connected SSL*) to connect to `host`: SNI (not
// for IP literals; trailing dot removed) and host-name verification. With
// `strict`, a failed validation aborts the handshake; otherwise the
// handshake always proceeds and Verified() tells the outcome afterwards.
Status PrepareClient(SSL* ssl, std::string host, bool strict);

// The verification outcome after a handshake prepared with strict=false.
bool Verified(SSL* ssl);

// "TLS-1.3" / "TLS-1.2" ..., and the IANA cipher suite name.
std::string VersionName(SSL* ssl);
std::string CipherName(SSL* ssl);

}  // namespace chasquid::tlsroots
