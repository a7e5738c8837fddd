// Choosing the mail servers of a domain.
#pragma once

#include <random>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/status.h"
#include "dns/dns.h"

namespace chasquid::courier {

namespace net = boost::asio;

// At most this many MXs are tried per delivery.
inline constexpr size_t kMaxMXs = 5;

// Sorts by preference, shuffling equal preferences (RFC 5321 §5.1), and
// keeps the first kMaxMXs. Pure apart from `rng`.
std::vector<std::string> OrderMXs(std::vector<dns::MX> mxs,
                                  std::mt19937_64& rng);

// The error for a domain whose only MX is the null MX (RFC 7505).
inline constexpr char kNullMXError[] =
    "Could not find mail server: domain does not accept mail (null MX, "
    "RFC 7505)";

// The hosts to try for `ascii_domain`: its MXs in order, or the domain
// itself when it has none (implicit MX). Errors are
// "Could not find mail server: <err>", transient for temporary DNS errors.
// A null MX ("0 .") as the only MX is the permanent kNullMXError (chasquid
// instead dials "." and retries until it expires; the spec asks for the
// RFC's behaviour); null MXs next to real ones are dropped.
net::awaitable<Result<std::vector<std::string>>> LookupMXs(
    dns::Resolver* resolver, std::string ascii_domain);

}  // namespace chasquid::courier
