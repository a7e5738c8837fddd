// Fuzzes the SMTP client's reply parser (server replies are untrusted) and
// the DATA encoder.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "courier/wire.h"

using namespace chasquid::courier::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ReplyReader r;
  for (const auto& line : chasquid::Split(in, "\n")) {
    if (!r.Feed(line).ok() || r.done()) break;
  }
  if (r.done()) {
    // Permanent exactly for 5xx, whatever the text says.
    chasquid::Status s = ReplyStatus(r.code(), r.text());
    bool five = r.code() >= 500 && r.code() < 600;
    if (s.ok() || s.permanent() != five) __builtin_trap();
  }
  std::string enc = EncodeData(in);
  // The encoded body must end the DATA exactly once at its end.
  bool ends = enc.size() >= 3 && enc.compare(enc.size() - 3, 3, ".\r\n") == 0;
  bool only_at_end = enc == ".\r\n" || enc.find("\r\n.\r\n") == enc.size() - 5;
  if (!ends || !only_at_end) __builtin_trap();
  return 0;
}
