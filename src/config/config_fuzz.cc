// Fuzzes the chasquid.conf loader: protobuf text as an administrator (or a
// broken editor) may leave it, through the same parse the daemon runs at
// start-up and on --config_overrides, then the merge over the defaults and
// the texts printed from the result.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace config = chasquid::config;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto c = config::ParseText(text, "fuzz.conf");
  if (!c.ok()) return 0;
  ::Config merged = config::Defaults();
  config::Merge(*c, &merged);
  // What print-config and the start-up log show must come out of any
  // config that parsed, and must parse again.
  std::string out = config::ToText(merged);
  (void)config::LogLines(merged);
  (void)config::GiveUpSendAfter(merged);
  auto again = config::ParseText(out, "printed.conf");
  if (!again.ok()) __builtin_trap();
  return 0;
}
