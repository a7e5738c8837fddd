// Fuzzes the DKIM-Signature tag-list parser and header validation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dkim/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  (void)chasquid::dkim::ParseTags(s);
  (void)chasquid::dkim::ParseSignature(s);
  (void)chasquid::dkim::RemoveBValue(s);
  auto d = chasquid::dkim::Base64Decode(s);
  if (d.ok()) (void)chasquid::dkim::Base64Encode(*d);
  return 0;
}
