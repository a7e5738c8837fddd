// /debug/pprof/: profiling, with gperftools in place
// of Go's runtime:
//
//   /debug/pprof/                   HTML index of what is available
//   /debug/pprof/cmdline            argv, NUL-joined (served by Server)
//   /debug/pprof/profile?seconds=N  CPU profile (gperftools' libprofiler),
//                                   N in 1..kMaxProfileSeconds, default 30;
//                                   the handler waits on a timer, never
//                                   blocking an io thread; one at a time
//   /debug/pprof/heap               tcmalloc's sampled heap profile
//                                   ("heap_v2/..." text); ?debug=1 gives
//                                   tcmalloc's statistics instead
//   /debug/pprof/goroutine?debug=N  tasks and threads (tasks_page.h)
//   anything else                   404 "Unknown profile"
//
// Both profiles are in the legacy gperftools formats that Debian's
// `google-pprof --text <binary> <file>` (package google-perftools) reads.
//
// gperftools is found at run time (dlsym), not linked here: the daemon links
// libtcmalloc_and_profiler, while unit tests and sanitizer builds, which
// must not replace malloc, link nothing and get 501 from these two pages.
#pragma once

#include "monitoring/server.h"

namespace chasquid::monitoring {

constexpr int kMaxProfileSeconds = 120;

// Turns on tcmalloc's heap sampling (every 512 KiB allocated, about one
// sample; negligible cost) unless TCMALLOC_SAMPLE_PARAMETER already says
// otherwise. Call early in main; a no-op without tcmalloc.
void EnableHeapSampling();

// Whether the process has gperftools' CPU profiler / tcmalloc.
bool HaveCpuProfiler();
bool HaveTcmalloc();

// Serves /debug/pprof/ and below (except cmdline, which Server serves).
void RegisterPprof(Server& s);

}  // namespace chasquid::monitoring
