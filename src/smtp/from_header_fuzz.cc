// Fuzzes the From: header address parser (sender authorization).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smtp/from_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto addrs = chasquid::smtp::HeaderFromAddresses(in);
  if (addrs.ok()) {
    // Every address it returns has an '@', and angle brackets only
    // inside a quoted local part.
    for (const auto& a : *addrs) {
      bool quoted = a.find('"') != a.npos;
      if (a.find('@') == a.npos ||
          (!quoted && (a.find('<') != a.npos || a.find('>') != a.npos))) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
