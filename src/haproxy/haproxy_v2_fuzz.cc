// Fuzzes the PROXY v2 header parser, as the connection drives it: the
// signature check, the size, then the parse of that many bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "haproxy/haproxy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace hp = chasquid::haproxy;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)hp::MaybeV2(in);
  auto n = hp::V2Size(in);
  if (n.ok() && *n <= in.size()) (void)hp::ParseV2(in.substr(0, *n));
  (void)hp::ParseV2(in);
  return 0;
}
