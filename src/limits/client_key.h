// The key that groups a client's connections for the abuse limits: the
// IPv4 address itself, or the /64 prefix of an IPv6 address (one
// subscriber or one server usually owns a whole /64, so counting single
// IPv6 addresses would let a client rotate through 2^64 of them).
// Thread-safe (pure functions).
#pragma once

#include <string>

namespace chasquid::limits {

// "192.0.2.7" -> "192.0.2.7"; "2001:db8:1:2:3::4" -> "2001:db8:1:2::/64";
// an IPv4-mapped IPv6 address counts as its IPv4 address. Anything that
// does not parse as an address is returned unchanged (it still groups
// identical strings, and a bogus peer cannot make it grow).
std::string ClientKey(const std::string& ip);

}  // namespace chasquid::limits
