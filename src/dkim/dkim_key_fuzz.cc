// Fuzzes the DKIM key record (DNS TXT) parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dkim/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  (void)chasquid::dkim::ParseKeyRecord(s);
  return 0;
}
