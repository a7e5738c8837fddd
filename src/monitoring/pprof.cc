#include "monitoring/pprof.h"

#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gperftools/malloc_extension.h>  // Class layout only; see pprof.h.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"
#include "base/strings.h"
#include "monitoring/pages.h"
#include "monitoring/tasks_page.h"
#include "nettrace/trace.h"

namespace chasquid::monitoring {

namespace {

using ProfilerStartFn = int (*)(const char*);
using ProfilerStopFn = void (*)();
using InstanceFn = MallocExtension* (*)();

template <typename T>
T Sym(const char* name) {
  return reinterpret_cast<T>(dlsym(RTLD_DEFAULT, name));
}

MallocExtension* Tcmalloc() {
  // MallocExtension::instance(); present only when tcmalloc is linked.
  static auto fn = Sym<InstanceFn>("_ZN15MallocExtension8instanceEv");
  return fn ? fn() : nullptr;
}

std::atomic<bool> profiling{false};

Response Binary(std::string body, const std::string& filename) {
  Response r{200, "application/octet-stream", std::move(body), {}};
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"" + filename + "\"");
  return r;
}

std::string IndexHtml() {
  std::string o = PageHeader("/debug/pprof/");
  o += "<h1>/debug/pprof/</h1>\n<p>Profiles of the running daemon, in "
       "gperftools' formats: read them with <code>google-pprof --text "
       "&lt;chasquid binary&gt; &lt;file&gt;</code> (Debian package "
       "google-perftools).</p>\n<ul>\n";
  o += "<li><a href=\"cmdline\">cmdline</a>: the command line, "
       "NUL-separated</li>\n";
  o += "<li><a href=\"goroutine?debug=2\">goroutine</a>: live tasks and "
       "threads (also as a <a href=\"/debug/tasks\">page</a>)</li>\n";
  if (HaveTcmalloc()) {
    o += "<li><a href=\"heap\">heap</a>: sampled live allocations "
         "(tcmalloc); <a href=\"heap?debug=1\">allocator statistics</a></li>\n";
  } else {
    o += "<li class=\"muted\">heap: not available (not linked with "
         "tcmalloc)</li>\n";
  }
  if (HaveCpuProfiler()) {
    o += "<li><a href=\"profile?seconds=5\">profile</a>: CPU profile; "
         "<code>?seconds=N</code>, 1 to " +
         std::to_string(kMaxProfileSeconds) + ", default 30</li>\n";
  } else {
    o += "<li class=\"muted\">profile: not available (not linked with "
         "libprofiler)</li>\n";
  }
  o += "</ul>\n";
  return o + PageFooter();
}

Response Heap(const Request& r) {
  MallocExtension* ext = Tcmalloc();
  if (!ext) {
    return Response::Error(
        "heap profile not available: not linked with "
        "tcmalloc",
        501);
  }
  std::string out;
  if (r.Param("debug") == "1") {
    std::string buf(64 * 1024, '\0');
    ext->GetStats(buf.data(), static_cast<int>(buf.size()));
    buf.resize(strlen(buf.c_str()));
    return Response::Text(buf);
  }
  ext->GetHeapSample(&out);
  return Binary(std::move(out), "heap");
}

net::awaitable<Response> CpuProfile(Request r) {
  auto start = Sym<ProfilerStartFn>("ProfilerStart");
  auto stop = Sym<ProfilerStopFn>("ProfilerStop");
  if (!start || !stop) {
    co_return Response::Error(
        "CPU profile not available: not linked with libprofiler", 501);
  }
  // As Go: a missing or unparsable value means the default.
  long secs = 30;
  std::string s = r.Param("seconds");
  if (!s.empty() && s.size() < 10) {
    char* end = nullptr;
    long v = strtol(s.c_str(), &end, 10);
    if (*end == '\0' && v > 0) secs = v;
  }
  if (secs > kMaxProfileSeconds || s.size() >= 10) {
    co_return Response::Error("profile duration exceeds the limit of " +
                                  std::to_string(kMaxProfileSeconds) + "s",
                              400);
  }
  bool expected = false;
  if (!profiling.compare_exchange_strong(expected, true)) {
    co_return Response::Error(
        "Could not enable CPU profiling: cpu profiling already in use", 500);
  }
  struct Reset {
    ~Reset() { profiling = false; }
  } reset;

  char path[] = "/tmp/chasquid-cpu-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    co_return Response::Error(
        "Could not create profile file: " + ErrnoText(errno), 500);
  }
  close(fd);
  if (!start(path)) {
    unlink(path);
    co_return Response::Error("Could not enable CPU profiling", 500);
  }
  nettrace::Task task("pprof", "CPU profile");
  task.SetState("profiling for " + std::to_string(secs) + "s");
  CLOG_INFO("pprof: CPU profile for " + std::to_string(secs) + "s started");

  // Wait on a timer: the io thread keeps serving while the profiler's
  // SIGPROF samples every thread.
  net::steady_timer timer(co_await net::this_coro::executor);
  timer.expires_after(std::chrono::seconds(secs));
  co_await timer.async_wait(net::as_tuple(net::use_awaitable));
  stop();

  std::ifstream f(path, std::ios::binary);
  std::stringstream data;
  data << f.rdbuf();
  unlink(path);
  co_return Binary(data.str(), "profile");
}

net::awaitable<Response> Pprof(Request r) {
  std::string name = r.path.substr(std::string("/debug/pprof/").size());
  if (name.empty()) co_return Response::Html(IndexHtml());
  if (name == "profile") co_return co_await CpuProfile(std::move(r));
  if (name == "heap") co_return Heap(r);
  if (name == "goroutine") co_return Response::Text(TasksText());
  co_return Response::Error("Unknown profile", 404);
}

}  // namespace

void EnableHeapSampling() {
  if (getenv("TCMALLOC_SAMPLE_PARAMETER")) return;
  // tcmalloc reads this flag at every sampling decision, so setting it at
  // run time works (threads start sampling within their next few MiB).
  auto* flag = static_cast<int64_t*>(
      dlsym(RTLD_DEFAULT,
            "_ZN61FLAG__namespace_do_not_use_directly_use_DECLARE_int64_"
            "instead31FLAGS_tcmalloc_sample_parameterE"));
  if (flag && *flag == 0) *flag = 512 * 1024;
}

bool HaveCpuProfiler() { return Sym<ProfilerStartFn>("ProfilerStart"); }
bool HaveTcmalloc() { return Tcmalloc() != nullptr; }

void RegisterPprof(Server& s) { s.HandlePrefix("/debug/pprof/", Pprof); }

}  // namespace chasquid::monitoring
