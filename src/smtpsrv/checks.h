// The seam where the policy checks built outside smtpsrv plug into the
// receiving pipeline: SPF and the incoming security level at MAIL
// and RCPT, DKIM verification or signing after DATA.
//
// The Conn owns the replies, the headers and most counters; a Checks
// implementation answers questions, and counts only what only it can tell
// apart: the DKIM verification counters (chasquid/smtpIn/dkimVerify*) and
// the pass/fail results of the security level check (domaininfo::DB counts
// those, as its contract says). Every call gets the connection's trace, to
// log its work into (as events or a child trace). Without one (nullptr), SPF
// does not run (no Received-SPF header), the security level check counts as
// "skip", and DKIM is neither verified nor signed.
//
// Implementations are shared by every connection: thread-safe. Their
// coroutines run on the connection's strand; blocking work must go to a
// thread pool.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/awaitable.hpp>

#include "base/status.h"

namespace chasquid::nettrace {
class Trace;
}

namespace chasquid::smtpsrv {

namespace net = boost::asio;

struct SpfOutcome {
  // One of none, neutral, pass, fail, softfail, temperror, permerror.
  std::string result;
  // The library's error text ("matched all"), or "<nil>" if none.
  std::string explanation;
};

class Checks {
 public:
  virtual ~Checks() = default;

  // SPF for `ip` (peer IP, HAProxy source if enabled) and the MAIL FROM
  // address as typed (before IDNA conversion; its domain is also the
  // "helo", as chasquid does). Called only for non-null senders on
  // unauthenticated connections. nullopt = not evaluated.
  virtual net::awaitable<std::optional<SpfOutcome>> Spf(
      std::string ip, std::string sender, nettrace::Trace* tr) = 0;

  // The incoming security level check for a sender domain (as typed)
  // whose SPF result was "pass"; `on_tls` is the connection's level.
  // False = reject. Counts securityLevelChecks pass/fail itself.
  virtual net::awaitable<bool> IncomingSecLevelOk(std::string domain,
                                                  bool on_tls,
                                                  nettrace::Trace* tr) = 0;

  // Authenticated messages: signs `*data` (internal LF form) for the MAIL
  // FROM domain with every key it has, prepending the signatures. Error =
  // 451 4.3.0. Returns the number of signatures added.
  // Whether DkimSign would sign for this domain: the body is read for its
  // hash only then. The default says yes, as a fake should.
  virtual bool HasDkimKeys(const std::string& from_domain) const {
    return true;
  }
  virtual net::awaitable<Result<int>> DkimSign(std::string from_domain,
                                               std::string* data,
                                               nettrace::Trace* tr) = 0;

  // Unauthenticated messages: verifies and returns the DKIM part of the
  // Authentication-Results value, lines ending in CRLF (e.g.
  // ";dkim=pass  header.b=...\r\n"), or nullopt when verification could
  // not run. Counts the dkimVerify* counters.
  virtual net::awaitable<std::optional<std::string>> DkimVerify(
      std::shared_ptr<const std::string> data, nettrace::Trace* tr) = 0;

  // Calls `fn` with consecutive pieces of a message; returns fn's first
  // error, or a read error, or Ok at the end.
  using ChunkReader =
      std::function<Status(const std::function<Status(std::string_view)>&)>;

  // DkimSign for a message that is not whole in memory (`head` and
  // `rest` as for DkimVerifyStream): returns the headers to prepend
  // (internal LF form; empty when there is no key). The real checks hash
  // the body as it streams; this default reads it all and calls DkimSign.
  virtual net::awaitable<Result<std::string>> DkimSignStream(
      std::string from_domain, std::string head, ChunkReader rest,
      nettrace::Trace* tr) {
    std::string whole = std::move(head);
    Status read = rest([&whole](std::string_view p) {
      whole.append(p);
      return Status::Ok();
    });
    if (!read.ok()) co_return read;
    size_t size = whole.size();
    auto signing = DkimSign(std::move(from_domain), &whole, tr);
    auto n = co_await std::move(signing);
    if (!n.ok()) co_return n.status();
    co_return whole.substr(0, whole.size() - size);
  }

  // DkimVerify for a message that is not whole in memory (a spooled
  // body): `head` is its beginning in internal (LF) form, at least its
  // header block, and `rest` streams what follows. `rest_on_disk`: `rest`
  // reads a file (the real checks then read and hash on the blocking
  // pool); false when it is in memory, which is cheaper to hash where it
  // is than to hand to the pool and back. (Signing always uses the pool:
  // an RSA signature costs about a millisecond.) The real checks hash the body
  // as it streams; this default, enough for fakes, reads it all and calls
  // DkimVerify.
  virtual net::awaitable<std::optional<std::string>> DkimVerifyStream(
      std::string head, ChunkReader rest, bool rest_on_disk,
      nettrace::Trace* tr) {
    (void)rest_on_disk;
    std::string whole = std::move(head);
    Status read = rest([&whole](std::string_view p) {
      whole.append(p);
      return Status::Ok();
    });
    if (!read.ok()) co_return std::nullopt;
    auto data = std::make_shared<const std::string>(std::move(whole));
    auto verifying = DkimVerify(std::move(data), tr);
    co_return co_await std::move(verifying);
  }
};

}  // namespace chasquid::smtpsrv
