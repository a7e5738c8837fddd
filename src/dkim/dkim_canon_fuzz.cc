// Fuzzes message parsing and canonicalization of untrusted messages.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dkim/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chasquid::dkim;
  std::string crlf =
      ToCRLF(std::string_view(reinterpret_cast<const char*>(data), size));
  auto m = ParseMessage(crlf);
  if (!m.ok()) return 0;
  for (const Header& h : m->headers) {
    (void)RelaxedHeader(h.name, h.value);
    (void)SimpleHeader(h);
  }
  std::string r = RelaxedBody(m->body);
  // Relaxed canonicalization is idempotent.
  if (RelaxedBody(r) != r) __builtin_trap();
  (void)SimpleBody(m->body);
  return 0;
}
