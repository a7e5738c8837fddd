// Fuzzes AUTH PLAIN decoding; round-trips base64.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smtp/auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)chasquid::smtp::DecodePlain(in);
  auto enc = chasquid::smtp::EncodeBase64(in);
  auto dec = chasquid::smtp::DecodeBase64(enc);
  if (!dec.ok() || *dec != in) __builtin_trap();
  return 0;
}
