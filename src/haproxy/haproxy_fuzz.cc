// Fuzzes the PROXY v1 line parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "haproxy/haproxy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)chasquid::haproxy::Parse(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
