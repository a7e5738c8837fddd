// Fuzzes dns::ParseTLSAReply (cares.cc), our own reader of the raw replies
// to the DNSSEC queries of DANE (RFC 7672): the header's RCODE and AD bit,
// the TLSA records and the answer count that MXInsecure relies on, given
// what a hostile or broken DNS server could send.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dns/dns.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace dns = chasquid::dns;
  std::string msg(reinterpret_cast<const char*>(data), size);
  auto r = dns::ParseTLSAReply(msg);
  if (!r.ok()) return 0;
  // A parsed reply had a whole header.
  if (size < 12) __builtin_trap();
  if (r->rcode < 0 || r->rcode > 15) __builtin_trap();
  // Every record counted came from the message: at least 11 bytes each
  // (a compressed name, type, class, TTL, length), and a TLSA record's
  // data is inside it.
  if (r->answers < 0 || static_cast<size_t>(r->answers) * 11 > size) {
    __builtin_trap();
  }
  if (r->records.size() > static_cast<size_t>(r->answers)) __builtin_trap();
  size_t total = 0;
  for (const auto& t : r->records) total += t.data.size() + 3;
  if (total > size) __builtin_trap();
  return 0;
}
