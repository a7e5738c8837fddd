// Fuzzes the queue item loader: the text-format file that chasquid and we
// write for each queued message, as a crash, a full disk or another
// program may leave it. Whatever loads must survive a write and a reload
// unchanged, since the daemon rewrites the file after every attempt.
#include <cstddef>
#include <cstdint>
#include <string>

#include "queue/item.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace q = chasquid::queue;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto item = q::Unmarshal(text);
  if (!item.ok()) return 0;
  std::string out = q::Marshal(**item, (*item)->rcpt);
  auto again = q::Unmarshal(out);
  if (!again.ok()) __builtin_trap();
  if (q::Marshal(**again, (*again)->rcpt) != out) __builtin_trap();
  return 0;
}
