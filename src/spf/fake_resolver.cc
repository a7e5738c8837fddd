#include "spf/fake_resolver.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "base/strings.h"
#include "spf/record.h"

namespace chasquid::spf::testing {

void FakeResolver::Add(std::string name, std::string type, std::string value,
                       uint16_t pref) {
  zone[AsciiToLower(name)].push_back({std::move(type), std::move(value), pref});
}

Result<std::vector<ZoneRecord>> FakeResolver::Lookup(std::string name,
                                                     const std::string& type,
                                                     int level) {
  ++queries;
  while (!name.empty() && name.back() == '.') name.pop_back();
  name = AsciiToLower(name);
  for (const std::string& label : Split(name, ".")) {
    if (label.size() > 63) return Status::Transient("DNS label too long");
  }
  auto it = zone.find(name);
  if (it == zone.end()) {
    if (HasPrefix(name, "error.")) return Status::Transient("DNS timeout");
    return Status::NotFound("lookup " + name + ": no such host");
  }
  std::vector<ZoneRecord> out;
  bool timeout = true;
  for (const ZoneRecord& r : it->second) {
    if (r.type == "TIMEOUT") {
      if (timeout) return Status::Transient("DNS timeout");
      return out;
    }
    if (r.type == type) {
      timeout = false;
      out.push_back(r);
    }
    if (r.type == "CNAME" && level == 0) {
      auto more = Lookup(r.value, type, 1);
      if (!more.ok()) return more.status();
      out.insert(out.end(), more->begin(), more->end());
    }
  }
  return out;
}

net::awaitable<Result<std::vector<dns::MX>>> FakeResolver::LookupMX(
    std::string name) {
  auto rs = Lookup(name, "MX");
  if (!rs.ok()) co_return rs.status();
  std::vector<dns::MX> out;
  for (const ZoneRecord& r : *rs) out.push_back({r.value, r.pref});
  co_return out;
}

net::awaitable<Result<std::vector<std::string>>> FakeResolver::LookupIP(
    std::string name) {
  auto a = Lookup(name, "A");
  auto aaaa = Lookup(name, "AAAA");
  if (!a.ok() && !aaaa.ok()) co_return a.status();
  if (!a.ok() && a.status().transient()) co_return a.status();
  if (!aaaa.ok() && aaaa.status().transient()) co_return aaaa.status();
  std::vector<std::string> out;
  for (auto* rs : {&a, &aaaa}) {
    if (!rs->ok()) continue;
    for (const ZoneRecord& r : **rs) out.push_back(r.value);
  }
  co_return out;
}

net::awaitable<Result<std::vector<std::string>>> FakeResolver::LookupTXT(
    std::string name) {
  auto rs = Lookup(name, "TXT");
  if (!rs.ok()) co_return rs.status();
  std::vector<std::string> out;
  for (const ZoneRecord& r : *rs) out.push_back(r.value);
  co_return out;
}

net::awaitable<Result<std::vector<std::string>>> FakeResolver::LookupAddr(
    std::string ip) {
  auto parsed = IP::Parse(ip);
  if (!parsed) co_return Status::Permanent("invalid IP");
  std::string rev;
  if (parsed->v4) {
    for (int i = 3; i >= 0; --i) rev += std::to_string(parsed->b[i]) + ".";
    rev += "in-addr.arpa";
  } else {
    static const char* kHex = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      rev += kHex[parsed->b[i] & 15];
      rev += '.';
      rev += kHex[parsed->b[i] >> 4];
      rev += '.';
    }
    rev += "ip6.arpa";
  }
  auto rs = Lookup(rev, "PTR");
  if (!rs.ok()) co_return rs.status();
  std::vector<std::string> out;
  for (const ZoneRecord& r : *rs) out.push_back(r.value);
  co_return out;
}

CheckResult RunCheck(dns::Resolver& r, const std::string& ip,
                     const std::string& helo, const std::string& sender) {
  net::io_context io;
  CheckResult out;
  net::co_spawn(io, CheckHostWithSender(r, ip, helo, sender),
                [&out](std::exception_ptr e, CheckResult res) {
                  if (e) std::rethrow_exception(e);
                  out = std::move(res);
                });
  io.run();
  return out;
}

}  // namespace chasquid::spf::testing
