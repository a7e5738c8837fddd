// Fuzzes address normalisation: Addr, DomainToAscii and the drop/suffix
// rules must never crash, hang or return invalid UTF-8 for valid input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/strings.h"
#include "normalize/normalize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  auto a = chasquid::normalize::Addr(in);
  if (a.ok() && chasquid::IsValidUtf8(in) && !chasquid::IsValidUtf8(*a)) {
    __builtin_trap();
  }
  auto [user, domain] = chasquid::normalize::Split(in);
  auto ascii = chasquid::normalize::DomainToAscii(domain);
  if (ascii.ok()) (void)chasquid::normalize::Domain(*ascii);
  (void)chasquid::normalize::DomainToUnicode(in);
  (void)chasquid::normalize::RemoveDropCharacters(in, "+-", "._");
  (void)chasquid::normalize::RemoveDropsAndSuffix(in, "+", ".");
  return 0;
}
