// DKIM signing and verification (RFC 6376, RFC 8463 ed25519-sha256) as
// chasquid does it: relaxed/relaxed signatures
// with rsa-sha256 or ed25519-sha256 over a fixed list of headers, and
// verification of every DKIM-Signature of a message, with key records
// fetched through dns::Resolver. Mail is never rejected because a signature
// fails: results only go to Authentication-Results.
//
// Keys are read from domains/<domain>/dkim:<selector>.pem (PKCS#8 PEM,
// RSA or Ed25519), the layout chasquid-util dkim-keygen writes.
//
// Thread-safety: a Signer is immutable after loading and may sign from many
// threads at once. VerifyMessage keeps its state per call.
#pragma once

#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "base/status.h"
#include "dns/dns.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace chasquid::nettrace {
class Trace;
}

namespace chasquid::dkim {

namespace net = boost::asio;

struct Message;  // dkim/message.h

// A private key that signs for one domain and selector.
class Signer {
 public:
  // Takes ownership of `key` (RSA or Ed25519).
  Signer(std::string domain, std::string selector, EVP_PKEY* key);
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  const std::string& domain() const { return domain_; }
  const std::string& selector() const { return selector_; }
  // "rsa-sha256" or "ed25519-sha256".
  std::string algorithm() const;
  EVP_PKEY* key() const { return key_; }

  // Signs a CRLF message at time `now`. Returns the value of the
  // DKIM-Signature header in its abstract form: five lines joined by CRLF,
  // without the header name. Errors: message parse errors
  // and crypto failures.
  Result<std::string> Sign(std::string_view crlf_message,
                           std::time_t now) const;
  // Sign for a parsed message whose relaxed body hash (SHA-256) is known.
  Result<std::string> SignParsed(const Message& m, const std::string& body_hash,
                                 std::time_t now) const;

 private:
  std::string domain_, selector_;
  EVP_PKEY* key_;
};

// Loads one key file, with the exact error texts:
// "open <path>: <errno text>", "error decoding PEM block",
// "unsupported block type: <TYPE>", "x509: ...", "unsupported key type: ...".
Result<std::shared_ptr<const Signer>> LoadSigner(const std::string& domain,
                                                 const std::string& selector,
                                                 const std::string& path);

// Loads every domains/<dir>/dkim:*.pem of one domain directory, sorted by
// file name, for the daemon's domain discovery. `domain` is the normalized
// domain name (what d= says). On error the daemon logs
// "  <domain>: DKIM loading error: <message>" and exits.
Result<std::vector<std::shared_ptr<const Signer>>> LoadDomainSigners(
    const std::string& domain, const std::string& domain_dir);

// The DNS record that publishes `key`'s public half:
// "v=DKIM1; k=<rsa|ed25519>; p=<base64>" (RSA: SubjectPublicKeyInfo DER;
// Ed25519: the raw 32 bytes).
Result<std::string> DNSRecord(EVP_PKEY* key);

// The header as chasquid prepends it to a message in internal (LF) form:
// "DKIM-Signature: <value>\n" with every line break followed by a TAB.
std::string SignatureHeaderLF(const std::string& value);

enum class State { kSuccess, kPermFail, kTempFail };

// The result for one examined signature.
struct SignatureResult {
  State state = State::kPermFail;
  std::string error;   // Empty on success.
  std::string domain;  // d=, empty if the header did not parse.
  std::string selector;
  std::string b;  // b= without whitespace, empty if it did not parse.
};

struct VerifyResult {
  int found = 0;  // Signatures examined (at most 5).
  int valid = 0;
  std::vector<SignatureResult> results;  // In header order.
};

// Verifies every DKIM-Signature of a CRLF message (the first 5). An error
// means the message could not be parsed (counted as dkimVerifyErrors,
// with no result). `resolver` must outlive the call. With a
// parent trace, a "DKIM.Verify" child titled `trace_title` is opened;
// else events go to `trace` if set (a trace the caller opened).
net::awaitable<Result<VerifyResult>> VerifyMessage(
    dns::Resolver& resolver, std::string crlf_message, nettrace::Trace* parent,
    std::string trace_title, nettrace::Trace* trace = nullptr);

// Calls `fn` with consecutive pieces of something; returns fn's first
// error, or its own (a read error), or Ok at the end.
using ChunkReader =
    std::function<Status(const std::function<Status(std::string_view)>& fn)>;

// VerifyMessage for a message in internal (LF) form that is not whole in
// memory (a spooled body): `head` is its beginning, at least up to and
// including the empty line after the headers (or the whole message), and
// `rest` streams what follows. What is verified is ToCRLF(head + rest).
// The body is read once for every signature, and only if there is one;
// each signature's body hash is computed as it streams, so memory does
// not grow with the body. A read error is returned as an error (no
// result), like a message that does not parse. With `blocking` (not
// owned; must outlive the call), the body is read and hashed there,
// between two awaits, so that `rest`'s reads (a file on disk) never block
// the caller's thread; the hashes are the same objects either way, no
// copy of the body is made.
net::awaitable<Result<VerifyResult>> VerifyMessageStream(
    dns::Resolver& resolver, std::string head, ChunkReader rest,
    nettrace::Trace* parent, std::string trace_title,
    nettrace::Trace* trace = nullptr, net::thread_pool* blocking = nullptr);

// Signs a message in internal (LF) form that is not whole in memory with
// every signer, in order: `head` and `rest` as for VerifyMessageStream.
// It blocks while `rest` reads: from a network thread, run it on the
// blocking pool (RunBlocking).
// The body is read once (all our signatures use the relaxed body) and
// hashed as it streams. Returns each signer's DKIM-Signature value (as
// Sign), or the first error (parse, read or crypto).
Result<std::vector<std::string>> SignStream(
    const std::vector<std::shared_ptr<const Signer>>& signers,
    std::string_view head, const ChunkReader& rest, std::time_t now);

// The DKIM part of Authentication-Results, lines joined by
// CRLF: ";dkim=none", or one block per signature.
std::string AuthenticationResultsDKIM(const VerifyResult& r);

// The whole Authentication-Results header for the top of a message in
// internal (LF) form, or "" when neither SPF nor DKIM has a
// result. `spf` is "<result> (<error or <nil>>)" if SPF was checked.
std::string AuthenticationResultsHeaderLF(
    const std::string& hostname, const std::optional<std::string>& spf,
    const std::optional<VerifyResult>& dkim);

}  // namespace chasquid::dkim
