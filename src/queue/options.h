// The queue's options, built from the daemon's configuration.
#pragma once

#include "config/config.h"
#include "config/testing.h"
#include "queue/queue.h"

namespace chasquid::queue {

// The directory (<data_dir>/queue), limits and give-up time from
// chasquid.conf, the item size bound that follows from the message size
// limit, and the test knob for a fixed retry delay. The caller sets the
// local domains, the aliases and the couriers.
// Also calls LimitAllocatorCaches().
Options OptionsFrom(const Config& conf, const config::Testing& testing);

// Caps the memory tcmalloc keeps in its per-thread caches, all threads
// together, at kThreadCacheBytes (its default is 32 MiB). The daemon's
// peak RSS at 50 sessions of 10 KiB messages was 32.3 MiB with the
// default, 29.0 MiB with this cap, at the same CPU per message
// (bench/README.md). No-op, returning false, when tcmalloc is not linked
// (sanitizer builds, unit tests) or TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES
// is set in the environment (the administrator's value stands).
inline constexpr size_t kThreadCacheBytes = 2 << 20;
bool LimitAllocatorCaches();

}  // namespace chasquid::queue
