// Fuzzes MAIL/RCPT parameter handling: prefix, first token, address parse.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smtp/address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto rest = chasquid::smtp::StripVerbPrefix(in, "from:");
  auto tok = chasquid::smtp::FirstToken(rest ? *rest : in);
  auto a = chasquid::smtp::ParseAddress(tok ? *tok : in);
  if (a.ok() && a->find('@') == std::string::npos) __builtin_trap();
  return 0;
}
