// Fuzzes the header-block parser used for loop detection.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/headers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto before = chasquid::smtp::CountReceivedHeaders(in);
  std::string msg(in);
  chasquid::smtp::PrependHeader(&msg, "Received", "from x\nby y");
  auto after = chasquid::smtp::CountReceivedHeaders(msg);
  // Adding a Received header on top of a parseable message adds one.
  if (before.ok() && (!after.ok() || *after != *before + 1)) __builtin_trap();
  return 0;
}
