// Fuzzes the aliases file parser (operator-written, but also the hook's
// output goes through ParseRHS).
#include <cstddef>
#include <cstdint>
#include <string>

#include "aliases/aliases.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  chasquid::aliases::Table t;
  chasquid::aliases::ParseAliases(text, "fuzz", "dom", "+-", "._", &t);
  (void)chasquid::aliases::ParseRHS(text, "dom");
  return 0;
}
