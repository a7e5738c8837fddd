#include "queue/options.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>

namespace chasquid::queue {

bool LimitAllocatorCaches() {
  // An administrator's own setting wins (tcmalloc reads it at start-up).
  if (getenv("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES") != nullptr) return false;
  // gperftools' C entry point, found at run time: tcmalloc is linked into
  // the daemon only outside sanitizer builds (CMakeLists.txt).
  using SetFn = int (*)(const char*, size_t);
  auto set = reinterpret_cast<SetFn>(
      dlsym(RTLD_DEFAULT, "MallocExtension_SetNumericProperty"));
  if (set == nullptr) return false;
  return set("tcmalloc.max_total_thread_cache_bytes", kThreadCacheBytes) != 0;
}

Options OptionsFrom(const Config& conf, const config::Testing& testing) {
  // Start-up is where the daemon reads its options; the allocator setting
  // rides along (see options.h).
  (void)LimitAllocatorCaches();
  Options o;
  o.dir = conf.data_dir() + "/queue";
  o.max_items = conf.max_queue_items();
  o.give_up_after = config::GiveUpSendAfter(conf);
  // The largest item a message of max_data_size_mb can make: the text
  // format escapes a byte in at most 4, plus headers and the envelope. The
  // floor keeps items queued under a larger limit loadable when an admin
  // lowers it.
  o.max_item_size =
      4 * std::max<uint64_t>(conf.max_data_size_mb(), 64) * 1048576 + 1048576;
  if (testing.queue_retry_delay) {
    auto delay = *testing.queue_retry_delay;
    o.next_delay = [delay](std::chrono::system_clock::time_point) {
      return delay;
    };
  }
  return o;
}

}  // namespace chasquid::queue
