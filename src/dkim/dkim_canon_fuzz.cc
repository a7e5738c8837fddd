// Fuzzes message parsing and canonicalization of untrusted messages.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
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
  std::string simple = SimpleBody(m->body);
  // The streaming canonicalizer agrees with the whole-body one, however
  // the body is cut into pieces (here: 1, 2, 3, ... bytes, then the rest).
  for (Canon c : {Canon::kRelaxed, Canon::kSimple}) {
    std::string streamed;
    BodyCanonicalizer bc(c, [&](std::string_view p) { streamed += p; });
    std::string_view rest = m->body;
    for (size_t n = 1; !rest.empty(); ++n) {
      size_t take = std::min(n, rest.size());
      bc.Write(rest.substr(0, take));
      rest.remove_prefix(take);
    }
    bc.Finish();
    if (streamed != (c == Canon::kRelaxed ? r : simple)) __builtin_trap();
  }
  return 0;
}
