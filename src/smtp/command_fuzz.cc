// Fuzzes the command-line splitter and the unknown-verb label.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smtp/command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto c = chasquid::smtp::ParseCommand(in);
  (void)chasquid::smtp::UnknownCommandLabel(c.verb);
  return 0;
}
