// MTA-STS policies (RFC 8461, no reporting): the policy text's parser and
// validation, MX pattern matching, and the cache file's JSON form.
// Pure functions, thread-safe; kept
// apart from the fetching and the cache so they can be fuzzed alone.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace chasquid::sts {

struct Policy {
  std::string version;
  std::string mode;  // "enforce", "testing" or "none" once validated.
  std::vector<std::string> mxs;
  std::chrono::nanoseconds max_age{0};
};

// The policy body is read up to this size; the rest is ignored.
inline constexpr size_t kMaxPolicySize = 10 * 1024;

// Parses the policy text. Never fails: validity is Check's job.
Policy Parse(std::string_view text);

// Errors: "unknown policy version", "invalid max_age", "invalid mode",
// "invalid mx".
Status Check(const Policy& p);

// Whether `mx` matches one of the policy's patterns.
bool MXIsAllowed(const Policy& p, std::string_view mx);

// The cache file's compact JSON, Go encoding/json style; max_age in
// nanoseconds.
std::string ToJSON(const Policy& p);
Result<Policy> FromJSON(std::string_view json);

// Go's %+v of the policy struct, for smtp-check:
// {Version:STSv1 Mode:enforce MXs:[mx.example.com] MaxAge:24h0m0s}
std::string DebugString(const Policy& p);

// What looking a domain's policy up found (Cache::Get, Lookup). Ours: for
// TLS reporting (RFC 8460 §4.3.2.2), a domain that announces a policy (its
// `_mta-sts` TXT record) but whose policy could not be had is told why.
struct PolicyLookup {
  enum class Failure {
    kNone,     // A policy, or no `_mta-sts` record (no policy at all).
    kFetch,    // The HTTPS fetch failed: connection, status, redirect.
    kInvalid,  // The policy did not parse or validate, or is not text.
    kWebPki,   // The policy server's certificate did not validate.
  };
  std::optional<Policy> policy;  // The valid policy; nullopt: none.
  Failure failure = Failure::kNone;
  std::string error;  // For the failures.
};

}  // namespace chasquid::sts
