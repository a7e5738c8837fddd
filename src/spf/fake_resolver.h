// A zone-file-like dns::Resolver for the SPF tests, with the semantics of
// python3-spf's test driver (testspf.py): per-name records, "TIMEOUT"
// entries, one level of CNAME following, and names starting with "error."
// that time out when absent. Test-only; not thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "dns/dns.h"
#include "spf/spf.h"

namespace chasquid::spf::testing {

struct ZoneRecord {
  std::string type;  // "A", "AAAA", "MX", "TXT", "PTR", "CNAME", "TIMEOUT".
  std::string value;
  uint16_t pref = 0;  // MX.
};

class FakeResolver : public dns::Resolver {
 public:
  std::map<std::string, std::vector<ZoneRecord>> zone;
  int queries = 0;

  void Add(std::string name, std::string type, std::string value,
           uint16_t pref = 0);

  // Values of records of `type` at `name`, testspf.py style.
  Result<std::vector<ZoneRecord>> Lookup(std::string name,
                                         const std::string& type,
                                         int level = 0);

  net::awaitable<Result<std::vector<dns::MX>>> LookupMX(
      std::string name) override;
  net::awaitable<Result<std::vector<std::string>>> LookupIP(
      std::string name) override;
  net::awaitable<Result<std::vector<std::string>>> LookupTXT(
      std::string name) override;
  net::awaitable<Result<std::vector<std::string>>> LookupAddr(
      std::string ip) override;
};

// Runs CheckHostWithSender to completion on a private io_context.
CheckResult RunCheck(dns::Resolver& r, const std::string& ip,
                     const std::string& helo, const std::string& sender);

}  // namespace chasquid::spf::testing
