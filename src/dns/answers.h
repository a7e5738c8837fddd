// What our resolver makes of a raw DNS answer once c-ares has parsed the
// wire format: trailing dots dropped from MX and PTR names, the strings of
// one TXT record joined, addresses turned into text. Kept apart from the
// event-loop code so that a fuzzer can drive it with any answer bytes.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "dns/dns.h"

namespace chasquid::dns {

// Each parser returns the c-ares status (ARES_SUCCESS, ARES_ENODATA for an
// answer without records of the type, ARES_EBADRESP...) and appends what it
// found to `out` only on success.
// MX hosts with escaped bytes (a dot or a control byte inside a label)
// are dropped: no host has such a name.
int ParseMXAnswer(const std::string& answer, std::vector<MX>* out);
int ParseTXTAnswer(const std::string& answer, std::vector<std::string>* out);
// `family` is AF_INET (A records) or AF_INET6 (AAAA). At most 64 addresses
// are taken from one answer.
int ParseAddrAnswer(const std::string& answer, int family,
                    std::vector<std::string>* out);
// The PTR targets for `ip` (its text form) in answer order, without the
// trailing dot; empty names and names with escaped bytes are dropped.
int ParsePTRAnswer(const std::string& ip, const std::string& answer,
                   std::vector<std::string>* out);

}  // namespace chasquid::dns
