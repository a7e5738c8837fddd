// MTA-STS (RFC 8461, without reporting): fetching a domain's policy
// (`_mta-sts` TXT discovery, then the policy over HTTPS with the
// certificate validated against the system roots) and the on-disk policy
// cache with its periodic refresh.
//
// The cache directory holds one file per domain, "pol:<domain>" (the domain
// as given, not escaped), with the policy's compact JSON (max_age in
// nanoseconds) and an mtime set to its expiry, as chasquid writes them.
//
// The cache is advisory, but it is also what keeps a domain's enforced
// policy across a fetch that an attacker blocks (RFC 8461 §10.1), so an
// entry is written to a temporary file, fsync'd and renamed into place
// (chasquid does not fsync): after a crash or a power cut the entry is
// the old one, the new one, or none, never a torn one. A file that is
// torn anyway (another writer, a disk error) is not JSON, or not a valid
// policy, and is read as no entry: the policy is fetched again.
//
// Counters: chasquid/sts/cache/*. Traces:
// STSCache.Fetch (domain), STSCache.Refresh (cache dir).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "base/status.h"
#include "dns/dns.h"
#include "sts/policy.h"

namespace chasquid::sts {

namespace net = boost::asio;

// Fetch, saying why it failed (kNone: the domain has no `_mta-sts`
// record, or its TXT lookup failed, so it announced nothing).
net::awaitable<PolicyLookup> Lookup(dns::Resolver* resolver,
                                    net::ssl::context& tls, std::string domain,
                                    std::chrono::steady_clock::duration timeout,
                                    std::string port);

// Fetches the policy of `domain` from the network without validating it
// (smtp-check shows it before checking). Errors: "MTA-STS TXT record
// missing", "redirects not allowed in MTA-STS", "HTTP response status code:
// <n>", "HTTP media type error: ...", "invalid HTTP media type", DNS and
// network errors. `resolver` and `tls` must outlive the call. `port` is
// "443" except in tests (no default: see scripts/check-coroutines.py).
net::awaitable<Result<Policy>> UncheckedFetch(
    dns::Resolver* resolver, net::ssl::context& tls, std::string domain,
    std::chrono::steady_clock::duration timeout, std::string port);

// UncheckedFetch and Check.
net::awaitable<Result<Policy>> Fetch(
    dns::Resolver* resolver, net::ssl::context& tls, std::string domain,
    std::chrono::steady_clock::duration timeout, std::string port);

// The policy cache. Thread-safe (its state is the directory); the
// resolver and TLS context must outlive it.
class Cache {
 public:
  // Creates `dir` (0770) if needed.
  static Result<std::unique_ptr<Cache>> Open(
      std::string dir, dns::Resolver* resolver,
      std::shared_ptr<net::ssl::context> tls);

  // The valid policy of `domain`, from the cache or the network; no
  // policy when there is none or it could not be fetched, with the
  // reason when the domain announced one (PolicyLookup).
  net::awaitable<PolicyLookup> Get(std::string domain,
                                   std::chrono::steady_clock::duration timeout);

  // One refresh pass over every cached domain (30 s timeout each).
  net::awaitable<void> RefreshOnce();

  // Spawns the refresh loop on `ex`: a pass now, then one every
  // `every` (10 minutes in the daemon), for the life of the process.
  void StartRefresh(net::any_io_executor ex,
                    std::chrono::steady_clock::duration every);

  // The daemon's pool for blocking work: entries are read and written
  // (and fsync'd) there, not on the network thread that asks. Without
  // one (tests, smtp-check), where Get runs. Call before Get and
  // StartRefresh; `pool` must outlive the cache.
  void SetBlocking(net::thread_pool* pool) { blocking_ = pool; }

  // For tests only: the HTTPS port of the policy servers.
  void SetPortForTesting(std::string port) { port_ = std::move(port); }
  // For tests only: stores `p` as a fetch of `domain` would.
  net::awaitable<Status> StoreForTesting(std::string domain, Policy p) {
    return Save(std::move(domain), std::move(p));
  }

 private:
  Cache(std::string dir, dns::Resolver* resolver,
        std::shared_ptr<net::ssl::context> tls)
      : dir_(std::move(dir)), resolver_(resolver), tls_(std::move(tls)) {}
  std::optional<Policy> Load(const std::string& domain);
  // Writes the entry (safeio: a temporary file fsync'd and renamed into
  // place, so a failed write, e.g. on a full disk, leaves the old entry
  // or none, never half of one). A failure is logged and counted in
  // ioErrors and returned for the caller's trace; the caller uses the
  // policy anyway.
  Status Store(const std::string& domain, const Policy& p);
  // Load and Store on blocking_ when there is one.
  net::awaitable<std::optional<Policy>> Read(std::string domain);
  net::awaitable<Status> Save(std::string domain, Policy p);
  std::string PathFor(const std::string& domain) const;

  const std::string dir_;
  dns::Resolver* const resolver_;
  const std::shared_ptr<net::ssl::context> tls_;
  std::string port_ = "443";
  net::thread_pool* blocking_ = nullptr;
};

}  // namespace chasquid::sts
