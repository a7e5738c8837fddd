#include "base/exit.h"

#include <unistd.h>

// GCC defines __SANITIZE_ADDRESS__ under -fsanitize=address; clang has
// __has_feature instead.
#if defined(__SANITIZE_ADDRESS__)
#define CHASQUID_HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHASQUID_HAVE_LSAN 1
#endif
#endif

#ifdef CHASQUID_HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

namespace chasquid::base {

void QuickExit(int code) {
#ifdef CHASQUID_HAVE_LSAN
  // Exits with ASAN_OPTIONS' exitcode (23 by default) if it finds a leak;
  // otherwise returns and we leave with the code asked for.
  __lsan_do_leak_check();
#endif
  _exit(code);
}

}  // namespace chasquid::base
