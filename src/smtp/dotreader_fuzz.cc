// Fuzzes the DATA reader: feeding in two arbitrary chunks must give the same
// result as feeding everything at once, and never store a CR.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smtp/dotreader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using chasquid::smtp::DotReader;
  if (size < 1) return 0;
  size_t split = data[0] % (size);
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  DotReader whole(64), parts(64);
  size_t n1 = whole.Feed(in);
  size_t n2 = parts.Feed(in.substr(0, split));
  if (parts.state() == DotReader::State::kMore) {
    n2 += parts.Feed(in.substr(n2));
  }
  if (n1 != n2 || whole.state() != parts.state() ||
      whole.data() != parts.data() ||
      whole.data().find('\r') != std::string::npos) {
    __builtin_trap();
  }
  return 0;
}
