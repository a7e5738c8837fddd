// Fuzzes what our resolver does with a DNS answer after c-ares' parsers:
// the MX, TXT, A/AAAA and PTR handling of dns/answers.h, given the raw
// answer bytes a hostile or broken DNS server could send.
#include <ares.h>
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dns/answers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace dns = chasquid::dns;
  std::string answer(reinterpret_cast<const char*>(data), size);

  std::vector<dns::MX> mxs;
  if (dns::ParseMXAnswer(answer, &mxs) == ARES_SUCCESS) {
    for (const auto& mx : mxs) {
      if (!mx.host.empty() && mx.host.back() == '.') __builtin_trap();
    }
  } else if (!mxs.empty()) {
    __builtin_trap();
  }

  std::vector<std::string> txts;
  if (dns::ParseTXTAnswer(answer, &txts) == ARES_SUCCESS) {
    // Joined strings cannot hold more bytes than the answer did.
    size_t total = 0;
    for (const auto& t : txts) total += t.size();
    if (total > answer.size()) __builtin_trap();
  }

  std::vector<std::string> ips;
  (void)dns::ParseAddrAnswer(answer, AF_INET, &ips);
  (void)dns::ParseAddrAnswer(answer, AF_INET6, &ips);
  if (ips.size() > 128) __builtin_trap();
  for (const auto& ip : ips) {
    unsigned char buf[16];
    if (inet_pton(AF_INET, ip.c_str(), buf) != 1 &&
        inet_pton(AF_INET6, ip.c_str(), buf) != 1) {
      __builtin_trap();
    }
  }

  std::vector<std::string> names;
  (void)dns::ParsePTRAnswer("192.0.2.1", answer, &names);
  (void)dns::ParsePTRAnswer("2001:db8::1", answer, &names);
  for (const auto& n : names) {
    if (n.empty() || n.back() == '.') __builtin_trap();
  }
  return 0;
}
