// The tasks pages, the native counterpart of Go's goroutine dump:
//
//   /debug/tasks                    HTML: every live nettrace::Task (a
//                                   connection, a queue item's send loop, a
//                                   delivery, a background refresher) with
//                                   its state and for how long, then the
//                                   process' threads.
//   /debug/pprof/goroutine?debug=N  the same as plain text (any N; Go's
//                                   index links debug=2).
//
// Threads are read from /proc/self/task: name, scheduler state, kernel wait
// channel and CPU time. There are no per-thread backtraces: taking one from
// another thread needs a signal handler that unwinds while that thread may
// hold the allocator's or the loader's locks, which can deadlock the very
// process being debugged. Tasks say what each unit of work is doing at the
// application level; for machine-level stacks use `gdb -p` or the CPU
// profile. Thread-safe.
#pragma once

#ifndef CHASQUID_INSIDE_MONITORING
#error "monitoring/tasks_page.h is private to monitoring/"
#endif

#include <string>

#include "monitoring/server.h"

namespace chasquid::monitoring {

struct ThreadInfo {
  int tid = 0;
  std::string name;   // /proc/self/task/<tid>/comm
  char state = '?';   // R, S, D, ...
  std::string wchan;  // Kernel function the thread waits in, or "".
  double user_seconds = 0, system_seconds = 0;
};
std::vector<ThreadInfo> ReadThreads();

std::string TasksText();
std::string TasksHtml();

// Serves /debug/tasks and adds it to the index ("execution" section).
// /debug/pprof/goroutine is served by the pprof pages (pprof.h).
void RegisterTasksPage(Server& s);

}  // namespace chasquid::monitoring
