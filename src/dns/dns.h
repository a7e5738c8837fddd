// Asynchronous DNS (c-ares) inside the event loop: MX, A/AAAA and TXT, with
// timeouts, and the --testing__dns_addr override that sends every query to a
// test server.
//
// The implementation is c-ares (cares.cc). SPF, DKIM and the courier use
// the Resolver interface, so their tests can inject answers. Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "base/status.h"

namespace chasquid::dns {

namespace net = boost::asio;

struct MX {
  std::string host;  // Without the trailing dot.
  uint16_t preference = 0;
};

// One TLSA record (RFC 6698 §2.1): certificate usage, selector, matching
// type and the association data (raw bytes, not hex).
struct TLSA {
  uint8_t usage = 0;
  uint8_t selector = 0;
  uint8_t matching_type = 0;
  std::string data;
};

// The TLSA records of one name, and how far they can be believed. Only a
// validating resolver that the daemon trusts (TrustsAD) can make an answer
// kSecure: it set the AD bit (RFC 6840 §5.7) in its reply.
struct TLSAAnswer {
  enum class Kind {
    kSecure,    // Authenticated; `records` may be empty (a proven denial).
    kInsecure,  // Unsigned zone, or a resolver whose AD bit is not trusted.
    kBogus,     // The resolver found the data but could not validate it.
    kError,     // The lookup failed in a signed zone (or the resolver did).
  };
  Kind kind = Kind::kInsecure;
  std::vector<TLSA> records;
  std::string error;  // For kBogus and kError: what happened.
};

// Errors: Status::NotFound("no such host") when the name does not exist
// (NXDOMAIN; permanent, with not_found() set) vs Status::Transient
// (timeout, SERVFAIL). An existing name
// without records of the type returns an empty vector, not an error.
class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual net::awaitable<Result<std::vector<MX>>> LookupMX(
      std::string name) = 0;
  // A and AAAA, as text ("1.2.3.4", "::1").
  virtual net::awaitable<Result<std::vector<std::string>>> LookupIP(
      std::string name) = 0;
  // Each TXT record with its strings concatenated.
  virtual net::awaitable<Result<std::vector<std::string>>> LookupTXT(
      std::string name) = 0;

  // For SPF's "ptr" mechanism and %{p} macro: the names, without the
  // trailing dot, that the PTR records of `ip` ("1.2.3.4" or IPv6 text)
  // point to, as Go's net.LookupAddr. A text that
  // is not an IP address is a permanent error. Errors as above. The
  // default, for resolvers that predate it, answers "no such host"
  // (not found), which SPF treats as "no PTR names". Defined inline so
  // that Resolver keeps no key function: code that only includes this
  // header (SPF, DKIM, their fakes) need not link the c-ares library.
  virtual net::awaitable<Result<std::vector<std::string>>> LookupAddr(
      std::string /*ip*/) {
    co_return Status::NotFound("no such host");
  }

  // For DANE (RFC 7672): the TLSA records of "_<port>._tcp.<host>"
  // asked with the AD bit set, after the host's A records: when those are
  // not authenticated, no TLSA query is sent and the answer is kInsecure
  // (§2.2.2). When the resolver fails (SERVFAIL), the TLSA query is
  // repeated with CD (checking disabled): an answer then means the data
  // is there but does not validate (kBogus). A failure that persists is
  // kError when the host's address records were authenticated (a signed
  // zone: DANE may apply, so the caller defers), and kInsecure otherwise.
  // Without TrustsAD() every answer is kInsecure, and nothing is asked.
  // The default, for resolvers that predate it: kInsecure.
  virtual net::awaitable<TLSAAnswer> LookupTLSA(std::string /*host*/,
                                                std::string /*port*/) {
    co_return TLSAAnswer{};
  }
  // For DANE (RFC 7672 §2.2.1): whether the MX RRset of `domain` is
  // known to be unauthenticated: a trusted resolver (TrustsAD) answered
  // with MX records and without the AD bit. Then the TLSA records of the
  // MX hosts are not used (an attacker could have chosen the hosts). A
  // domain without MX records, whose address lookup stands in for it
  // (LookupTLSA checks that), a failed query, or an untrusted resolver:
  // false. The default, for resolvers that predate it: false.
  virtual net::awaitable<bool> MXInsecure(std::string /*domain*/) {
    co_return false;
  }
  // Whether the AD bit of this resolver's answers may be believed: every
  // server it asks is on loopback (as Postfix requires for DANE), so no
  // network path lies between the validator and us.
  virtual bool TrustsAD() const { return false; }
};

// Parses a DNS reply (RFC 1035 §4.1): its RCODE, its AD bit and the TLSA
// records of its answer section. Errors: a malformed message. Exposed for
// the unit tests and the fuzzer.
struct ParsedTLSAReply {
  int rcode = 0;
  bool ad = false;
  int answers = 0;  // Records of any type in the answer section.
  std::vector<TLSA> records;
};
Result<ParsedTLSAReply> ParseTLSAReply(const std::string& msg);

// Whether `server` ("127.0.0.1:53", "[::1]:53", "::1") is on loopback.
bool IsLoopbackServer(const std::string& ip);

// Creates the c-ares resolver. Queries run asynchronously inside the event
// loop of `ex` (c-ares' sockets are watched with Asio; no thread per query),
// serialized on an internal strand. `server` ("host:port") sends every query
// to that server (the --testing__dns_addr override; main passes it only when
// the flag was given explicitly); empty means the system's resolv.conf and,
// for LookupIP, /etc/hosts first. Each query times out after a few seconds
// (2 s, then one retry with 4 s). Errors from the constructor (c-ares could
// not be initialised, a bad server address) are reported by the returned
// Result. The Resolver must outlive the coroutines awaiting it and be
// destroyed when no query is in flight (normally: after the loop stopped).
Result<std::unique_ptr<Resolver>> NewCaresResolver(net::any_io_executor ex,
                                                   std::string server = "");

}  // namespace chasquid::dns
