// Process-level variables, the native counterparts of Go's expvar built-ins:
// `cmdline` (argv as a JSON array), `memstats` (Go's
// runtime.MemStats layout, filled from mallinfo2 and /proc where a native
// value exists, zero for GC-only fields), and `process` (RSS, virtual size,
// threads, open fds, CPU seconds: what a C++ operator actually wants).
#pragma once

#include <string>
#include <vector>

namespace chasquid::metrics {

// Registers cmdline, memstats and process, and on /metrics only the
// process_* families that Prometheus exporters conventionally have
// (process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_start_time_seconds). Call once from main.
void RegisterProcessVars(std::vector<std::string> args);

// Registers chasquid_build_info{version,source_date} 1 on /metrics only,
// the info metric dashboards join other series with.
void RegisterBuildInfo(std::string version, std::string source_date);

struct ProcessStats {
  long rss_bytes = 0;
  long vsize_bytes = 0;
  long threads = 0;
  long open_fds = 0;
  double cpu_user_seconds = 0;
  double cpu_system_seconds = 0;
  long max_fds = 0;               // The soft RLIMIT_NOFILE.
  double start_time_seconds = 0;  // Since the Unix epoch.
};
ProcessStats ReadProcessStats();

}  // namespace chasquid::metrics
