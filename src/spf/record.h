// SPF record syntax (RFC 7208 §4.5, §4.6, §5, §6, §7): parsing a "v=spf1"
// record into terms, and macro expansion of domain-specs.
//
// This is the pure, DNS-free half of SPF, kept in its own small library
// (chasquid_spf_record) so the fuzzer can link it without Asio. The
// evaluation (check_host) is in spf.h.
//
// Parsing follows the RFC ABNF strictly: any syntax error anywhere makes the
// whole record a permerror (RFC 7208 §4.6), unknown modifiers are accepted
// and ignored (§6; chasquid's library returns permerror instead; no
// client depends on that, so we follow the RFC).
//
// All functions are pure and thread-safe.
#pragma once

#ifndef CHASQUID_INSIDE_SPF
#error "spf/record.h is private to spf/"
#endif

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace chasquid::spf {

// An IPv4 or IPv6 address; IPv4-mapped IPv6 addresses are stored as IPv4
// (RFC 7208 §5: they are evaluated as IPv4, as Go normalizes them).
struct IP {
  bool v4 = true;
  std::array<uint8_t, 16> b{};  // IPv4 uses the first 4 bytes.

  static std::optional<IP> Parse(std::string_view s);
  // True if the first `bits` bits of both addresses are equal and they are
  // of the same family.
  bool InPrefix(const IP& net, int bits) const;
  bool operator==(const IP& o) const = default;
};

enum class Qualifier : char {
  kPass = '+',
  kFail = '-',
  kSoftFail = '~',
  kNeutral = '?'
};

struct Term {
  enum class Kind {
    kAll,
    kInclude,
    kA,
    kMX,
    kPTR,
    kIP4,
    kIP6,
    kExists,
    kRedirect,  // Modifiers from here on.
    kExp,
    kUnknownModifier,
  };
  Kind kind = Kind::kAll;
  Qualifier qualifier = Qualifier::kPass;
  std::string name;         // Mechanism or modifier name, lower-case.
  std::string domain_spec;  // Unexpanded; empty = current domain.
  int cidr4 = 32, cidr6 = 128;
  IP ip;             // For ip4/ip6.
  std::string text;  // The term as written, for traces.
};

struct Record {
  std::vector<Term> mechanisms;  // In order.
  std::optional<Term> redirect;
  std::optional<Term> exp;
};

// True if `txt` is an SPF version 1 record: "v=spf1" (case-insensitive)
// followed by a space or the end (§4.5).
bool IsSPFRecord(std::string_view txt);

// Parses a full record (starting with "v=spf1"). Errors are permanent, with
// texts like "unknown field", "invalid mask", "invalid domain".
Result<Record> ParseRecord(std::string_view txt);

// Whether a macro-string is syntactically valid (§7.1); `exp` allows the
// macros only explanations may use (c, r, t). macro.cc.
bool ValidMacroString(std::string_view s, bool exp);

// Whether a domain-spec (a macro-string ending in a top label or a macro)
// is syntactically valid (§7.1). macro.cc.
bool ValidDomainSpec(std::string_view s);

// The values macros expand to (§7.3).
struct MacroContext {
  std::string sender;  // Full sender: local@domain.
  std::string domain;  // Current domain (%{d}).
  IP ip;
  std::string helo;                   // %{h}.
  std::string validated = "unknown";  // %{p}.
};

// Expands the macros of a domain-spec, and truncates the result to 253
// characters by removing labels from the left (§7.3). Error: "invalid
// macro".
Result<std::string> ExpandDomainSpec(std::string_view spec,
                                     const MacroContext& ctx);

// True if `d` can be used as a DNS query name (§4.3): non-empty labels of at
// most 63 characters, total <= 253 characters. A trailing dot is allowed.
//
// A single label ("srv-a") is a valid query name. RFC 7208 §4.3 lets a
// checker return "none" for it without a lookup, but chasquid looks such
// names up like any other, and hosts on a private network or a test bed
// often have exactly such names with SPF records of their own. So do we:
// a single label without a TXT record still ends as "none", through the
// ordinary "no DNS record found" path. Literal domain-specs in a record
// still need a toplabel; that is the record parser's rule, not this one.
bool ValidDomainName(std::string_view d);

}  // namespace chasquid::spf
