// Fuzzes the SPF record parser and macro expansion with untrusted TXT data.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spf/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto rec = chasquid::spf::ParseRecord(s);
  chasquid::spf::MacroContext ctx;
  ctx.sender = "local-part@example.com";
  ctx.domain = "example.com";
  ctx.helo = "helo.example.com";
  if (rec.ok()) {
    for (const auto& t : rec->mechanisms) {
      (void)chasquid::spf::ExpandDomainSpec(t.domain_spec, ctx);
    }
  }
  (void)chasquid::spf::ExpandDomainSpec(s, ctx);
  (void)chasquid::spf::IP::Parse(s);
  return 0;
}
