// Process-level variables, the native counterparts of Go's expvar built-ins:
// `cmdline` (argv as a JSON array), `memstats` (Go's
// runtime.MemStats layout, filled from mallinfo2 and /proc where a native
// value exists, zero for GC-only fields), and `process` (RSS, virtual size,
// threads, open fds, CPU seconds: what a C++ operator actually wants).
#pragma once

namespace chasquid::metrics {

// Registers cmdline, memstats and process. Call once from main.
void RegisterProcessVars(int argc, char** argv);

struct ProcessStats {
  long rss_bytes = 0;
  long vsize_bytes = 0;
  long threads = 0;
  long open_fds = 0;
  double cpu_user_seconds = 0;
  double cpu_system_seconds = 0;
};
ProcessStats ReadProcessStats();

}  // namespace chasquid::metrics
