// Fuzzes the MTA-STS policy parser and the cache's JSON reader: both read
// untrusted bytes (an HTTPS body; a file in the data dir).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sts/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  chasquid::sts::Policy p = chasquid::sts::Parse(in);
  if (chasquid::sts::Check(p).ok()) {
    chasquid::sts::MXIsAllowed(p, "mx.example.com");
    auto back = chasquid::sts::FromJSON(chasquid::sts::ToJSON(p));
    if (!back.ok() || back->mxs != p.mxs || back->mode != p.mode) {
      __builtin_trap();  // The cache must round-trip every valid policy.
    }
  }
  auto j = chasquid::sts::FromJSON(in);
  if (j.ok()) chasquid::sts::DebugString(*j);
  return 0;
}
