#include "metrics/process.h"

#include <dirent.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "metrics/metrics.h"

namespace chasquid::metrics {

namespace {

// The process's start: field 22 of /proc/self/stat (clock ticks after
// boot) plus the boot time from /proc/stat. It never changes, so it is
// read once.
double StartTimeSeconds() {
  static const double start = [] {
    std::ifstream stat("/proc/self/stat");
    std::string all((std::istreambuf_iterator<char>(stat)),
                    std::istreambuf_iterator<char>());
    // The command name (field 2) may hold spaces; count after its ')'.
    size_t close = all.rfind(')');
    if (close == std::string::npos) return 0.0;
    std::istringstream rest(all.substr(close + 2));
    std::string field;
    unsigned long long ticks = 0;
    for (int i = 3; i <= 22 && rest >> field; i++) {
      if (i == 22) ticks = std::stoull(field);
    }
    std::ifstream sys("/proc/stat");
    std::string line;
    unsigned long long btime = 0;
    while (std::getline(sys, line)) {
      if (line.rfind("btime ", 0) == 0) btime = std::stoull(line.substr(6));
    }
    return double(btime) + double(ticks) / double(sysconf(_SC_CLK_TCK));
  }();
  return start;
}

}  // namespace

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
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    s.max_fds = rl.rlim_cur == RLIM_INFINITY ? -1 : long(rl.rlim_cur);
  }
  s.start_time_seconds = StartTimeSeconds();
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

std::string Family(const char* name, const char* type, const char* help,
                   const std::string& sample_name, const std::string& value) {
  return std::string("# TYPE ") + name + " " + type + "\n# HELP " + name + " " +
         help + "\n" + sample_name + " " + value + "\n";
}

std::string ProcessFamilies() {
  ProcessStats s = ReadProcessStats();
  char cpu[64], start[64];
  snprintf(cpu, sizeof(cpu), "%.6f", s.cpu_user_seconds + s.cpu_system_seconds);
  snprintf(start, sizeof(start), "%.2f", s.start_time_seconds);
  std::string out;
  out += Family("process_cpu_seconds", "counter",
                "Total user and system CPU time spent in seconds.",
                "process_cpu_seconds_total", cpu);
  out += Family("process_max_fds", "gauge",
                "Maximum number of open file descriptors.", "process_max_fds",
                std::to_string(s.max_fds));
  out += Family("process_open_fds", "gauge", "Number of open file descriptors.",
                "process_open_fds", std::to_string(s.open_fds));
  out += Family("process_resident_memory_bytes", "gauge",
                "Resident memory size in bytes.",
                "process_resident_memory_bytes", std::to_string(s.rss_bytes));
  out += Family("process_start_time_seconds", "gauge",
                "Start time of the process since unix epoch in seconds.",
                "process_start_time_seconds", start);
  out += Family("process_virtual_memory_bytes", "gauge",
                "Virtual memory size in bytes.", "process_virtual_memory_bytes",
                std::to_string(s.vsize_bytes));
  return out;
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

void RegisterProcessVars(std::vector<std::string> args) {
  NewFunc("cmdline", [args] { return JsonArgv(args); });
  NewFunc("memstats", MemStatsJson);
  NewFunc("process", ProcessJson);
  AddOpenMetricsFamilies(ProcessFamilies);
}

void RegisterBuildInfo(std::string version, std::string source_date) {
  std::string family =
      // A gauge of 1, the way Prometheus' own *_build_info are: promtool
      // and the classic text parsers know no "info" type.
      "# TYPE chasquid_build_info gauge\n"
      "# HELP chasquid_build_info The running build: version and source "
      "date.\n"
      "chasquid_build_info{version=" +
      QuoteLabelValue(version) +
      ",source_date=" + QuoteLabelValue(source_date) + "} 1\n";
  AddOpenMetricsFamilies([family] { return family; });
}

}  // namespace chasquid::metrics
