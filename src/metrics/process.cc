#include "metrics/process.h"

#include <dirent.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "metrics/metrics.h"

namespace chasquid::metrics {

ProcessStats ReadProcessStats() {
  ProcessStats s;
  long page = sysconf(_SC_PAGESIZE);
  {
    std::ifstream statm("/proc/self/statm");
    long size = 0, resident = 0;
    if (statm >> size >> resident) {
      s.vsize_bytes = size * page;
      s.rss_bytes = resident * page;
    }
  }
  {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("Threads:", 0) == 0) s.threads = std::stol(line.substr(8));
    }
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') s.open_fds++;
    }
    closedir(d);
    s.open_fds--;  // The directory stream itself.
  }
  rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    s.cpu_user_seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
    s.cpu_system_seconds = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  }
  return s;
}

namespace {

std::string JsonArgv(const std::vector<std::string>& args) {
  std::string out = "[";
  for (size_t i = 0; i < args.size(); i++) {
    if (i) out += ",";
    out += ExpvarQuote(args[i]);
  }
  return out + "]";
}

std::string MemStatsJson() {
  struct mallinfo2 mi = mallinfo2();
  ProcessStats ps = ReadProcessStats();
  unsigned long long in_use = mi.uordblks + mi.hblkhd;
  unsigned long long heap_sys = mi.arena + mi.hblkhd;
  unsigned long long idle = mi.fordblks;
  std::ostringstream o;
  auto kv = [&](const char* k, unsigned long long v, bool comma = true) {
    o << '"' << k << "\":" << v << (comma ? "," : "");
  };
  o << "{";
  kv("Alloc", in_use);
  kv("TotalAlloc", in_use);
  kv("Sys", ps.rss_bytes);
  kv("Lookups", 0);
  kv("Mallocs", 0);
  kv("Frees", 0);
  kv("HeapAlloc", in_use);
  kv("HeapSys", heap_sys);
  kv("HeapIdle", idle);
  kv("HeapInuse", in_use);
  kv("HeapReleased", mi.keepcost);
  kv("HeapObjects", 0);
  kv("StackInuse", 0);
  kv("StackSys", 0);
  kv("MSpanInuse", 0);
  kv("MSpanSys", 0);
  kv("MCacheInuse", 0);
  kv("MCacheSys", 0);
  kv("BuckHashSys", 0);
  kv("GCSys", 0);
  kv("OtherSys", 0);
  kv("NextGC", 0);
  kv("LastGC", 0);
  kv("PauseTotalNs", 0);
  std::string zeros;
  for (int i = 0; i < 256; i++) zeros += i ? ",0" : "0";
  o << "\"PauseNs\":[" << zeros << "],\"PauseEnd\":[" << zeros << "],";
  kv("NumGC", 0);
  kv("NumForcedGC", 0);
  o << "\"GCCPUFraction\":0,\"EnableGC\":false,\"DebugGC\":false,\"BySize\":[";
  for (int i = 0; i < 61; i++) {
    o << (i ? "," : "") << "{\"Size\":0,\"Mallocs\":0,\"Frees\":0}";
  }
  o << "]}";
  return o.str();
}

std::string ProcessJson() {
  ProcessStats s = ReadProcessStats();
  char buf[256];
  snprintf(buf, sizeof(buf),
           "{\"rss_bytes\": %ld, \"vsize_bytes\": %ld, \"threads\": %ld, "
           "\"open_fds\": %ld, \"cpu_user_seconds\": %.6f, "
           "\"cpu_system_seconds\": %.6f}",
           s.rss_bytes, s.vsize_bytes, s.threads, s.open_fds,
           s.cpu_user_seconds, s.cpu_system_seconds);
  return buf;
}

}  // namespace

void RegisterProcessVars(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  NewFunc("cmdline", [args] { return JsonArgv(args); });
  NewFunc("memstats", MemStatsJson);
  NewFunc("process", ProcessJson);
}

}  // namespace chasquid::metrics
