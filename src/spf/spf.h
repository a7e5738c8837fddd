// Sender Policy Framework (RFC 7208): check_host() over the dns::Resolver
// interface, as chasquid does at MAIL FROM.
//
// Results and error texts follow chasquid's library (blitiri.com.ar/go/spf)
// where they show up in headers and replies ("matched all", "no DNS record
// found", ...), and RFC 7208 where the two disagree and no test depends on
// the difference (see the comments in spf.cc for each one). The record
// syntax lives in record.h.
//
// Thread-safety: CheckHost may be called concurrently; each call keeps its
// own state. The resolver must outlive the returned awaitable.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/status.h"
#include "dns/dns.h"

namespace chasquid::nettrace {
class Trace;
}

namespace chasquid::spf {

namespace net = boost::asio;

// RFC 7208 §2.6. Named Verdict because Result<T> is taken.
enum class Verdict {
  kNone,
  kNeutral,
  kPass,
  kFail,
  kSoftFail,
  kTempError,
  kPermError
};

// "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror":
// the texts used in headers and metric keys.
std::string_view ToString(Verdict v);

struct CheckResult {
  Verdict verdict = Verdict::kNone;
  // Why; empty renders as "<nil>" (e.g. the default neutral result).
  std::string error;
  // "<nil>" when error is empty, else error: what headers show.
  std::string ErrorText() const { return error.empty() ? "<nil>" : error; }
};

struct Options {
  int max_lookups = 10;  // RFC 7208 §4.6.4.
  int max_void_lookups = 2;
  // If set, a child trace "SPF" titled with the IP is opened under it.
  nettrace::Trace* parent = nullptr;
  // Else, if set, events go to this trace (the caller opened it).
  nettrace::Trace* trace = nullptr;
};

// check_host(ip, domain of sender, sender) with `helo` as %{h}, and as the
// domain when the sender has no '@'. An empty sender is evaluated as
// "postmaster@<helo>" (RFC 7208 §2.4); a sender with an empty local part as
// "postmaster@<domain>" (§4.3).
net::awaitable<CheckResult> CheckHostWithSender(dns::Resolver& resolver,
                                                std::string ip,
                                                std::string helo,
                                                std::string sender,
                                                Options options = {});

}  // namespace chasquid::spf
