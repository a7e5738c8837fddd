#include "monitoring/tasks_page.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "base/strings.h"
#include "monitoring/pages.h"
#include "nettrace/trace.h"

namespace chasquid::monitoring {

namespace {

using Clock = std::chrono::system_clock;

std::string ReadSmall(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s, '\0');
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

const char* StateName(char s) {
  switch (s) {
    case 'R':
      return "running";
    case 'S':
      return "sleeping";
    case 'D':
      return "disk sleep";
    case 'T':
      return "stopped";
    case 't':
      return "tracing stop";
    case 'Z':
      return "zombie";
    case 'X':
      return "dead";
    default:
      return "unknown";
  }
}

// Go's rounding for ages: whole seconds above a minute, milliseconds below.
std::string Age(Clock::duration d) {
  if (d < std::chrono::seconds(0)) d = Clock::duration(0);
  if (d >= std::chrono::minutes(1)) {
    return FormatGoDuration(std::chrono::round<std::chrono::seconds>(d));
  }
  return FormatGoDuration(std::chrono::round<std::chrono::milliseconds>(d));
}

std::vector<nettrace::Task::Info> SortedTasks() {
  auto tasks = nettrace::Task::Snapshot();
  std::sort(tasks.begin(), tasks.end(), [](const auto& a, const auto& b) {
    return std::tie(a.kind, a.started, a.id) <
           std::tie(b.kind, b.started, b.id);
  });
  return tasks;
}

}  // namespace

std::vector<ThreadInfo> ReadThreads() {
  std::vector<ThreadInfo> out;
  DIR* d = opendir("/proc/self/task");
  if (!d) return out;
  long tick = sysconf(_SC_CLK_TCK);
  if (tick <= 0) tick = 100;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    ThreadInfo t;
    t.tid = atoi(e->d_name);
    std::string base = std::string("/proc/self/task/") + e->d_name;
    t.name = ReadSmall(base + "/comm");
    std::string wchan = ReadSmall(base + "/wchan");
    t.wchan = wchan == "0" ? "" : wchan;
    // stat: "tid (comm) S ..." where comm may hold spaces and parentheses;
    // the fields we want follow the last ')'.
    std::string stat = ReadSmall(base + "/stat");
    size_t rp = stat.rfind(')');
    if (rp != std::string::npos && rp + 2 < stat.size()) {
      std::istringstream in(stat.substr(rp + 2));
      std::vector<std::string> f;
      std::string tok;
      while (in >> tok && f.size() < 14) f.push_back(tok);
      if (!f.empty()) t.state = f[0][0];
      // Fields 14 and 15 of stat (utime, stime) are f[11], f[12] here.
      if (f.size() >= 13) {
        t.user_seconds = atof(f[11].c_str()) / tick;
        t.system_seconds = atof(f[12].c_str()) / tick;
      }
    }
    out.push_back(std::move(t));
  }
  closedir(d);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.tid < b.tid; });
  return out;
}

std::string TasksText() {
  auto now = Clock::now();
  auto tasks = SortedTasks();
  std::string o = "tasks: " + std::to_string(tasks.size()) + "\n\n";
  for (const auto& t : tasks) {
    o += "task " + std::to_string(t.id) + " [" + t.kind + "] " +
         GoQuote(t.name) + ", age " + Age(now - t.started) + ":\n";
    o += "\tstate " + GoQuote(t.state) + " for " + Age(now - t.state_since) +
         "\n\n";
  }
  auto threads = ReadThreads();
  o += "threads: " + std::to_string(threads.size()) + "\n\n";
  for (const auto& t : threads) {
    char cpu[96];
    snprintf(cpu, sizeof(cpu), "cpu %.2fs user, %.2fs system", t.user_seconds,
             t.system_seconds);
    o += "thread " + std::to_string(t.tid) + " " + GoQuote(t.name) + " [" +
         StateName(t.state) + (t.wchan.empty() ? "" : ", in " + t.wchan) +
         "]: " + cpu + "\n";
  }
  return o;
}

std::string TasksHtml() {
  auto now = Clock::now();
  auto tasks = SortedTasks();
  std::map<std::string, int> per_kind;
  for (const auto& t : tasks) per_kind[t.kind]++;
  std::string o = PageHeader("chasquid tasks");
  o += "<h1>Tasks</h1>\n<p>" + std::to_string(tasks.size()) + " live";
  for (const auto& [kind, n] : per_kind) {
    o += " &middot; " + HtmlEscape(kind) + ": " + std::to_string(n);
  }
  o += " &middot; <a href=\"/debug/pprof/goroutine?debug=2\">as text</a></p>\n";
  o += "<div class=\"scroll\"><table>\n<tr><th>Kind</th><th>Name</th>"
       "<th>State</th><th class=\"num\">For</th><th class=\"num\">Age</th>"
       "</tr>\n";
  for (const auto& t : tasks) {
    o += "<tr><td>" + HtmlEscape(t.kind) + "</td><td>" + HtmlEscape(t.name) +
         "</td><td>" + HtmlEscape(t.state) + "</td><td class=\"num\">" +
         Age(now - t.state_since) + "</td><td class=\"num\">" +
         Age(now - t.started) + "</td></tr>\n";
  }
  if (tasks.empty()) o += "<tr><td colspan=\"5\"><i>none</i></td></tr>\n";
  o += "</table></div>\n";

  auto threads = ReadThreads();
  o += "<h2>Threads</h2>\n<p>" + std::to_string(threads.size()) +
       " threads, from /proc/self/task. No backtraces: see the CPU "
       "<a href=\"/debug/pprof/\">profile</a>.</p>\n";
  o += "<div class=\"scroll\"><table>\n<tr><th class=\"num\">TID</th>"
       "<th>Name</th><th>State</th><th>Waiting in</th>"
       "<th class=\"num\">User CPU (s)</th><th class=\"num\">System CPU (s)"
       "</th></tr>\n";
  for (const auto& t : threads) {
    char u[32], s[32];
    snprintf(u, sizeof(u), "%.2f", t.user_seconds);
    snprintf(s, sizeof(s), "%.2f", t.system_seconds);
    o += "<tr><td class=\"num\">" + std::to_string(t.tid) + "</td><td>" +
         HtmlEscape(t.name) + "</td><td>" + StateName(t.state) + "</td><td>" +
         HtmlEscape(t.wchan) + "</td><td class=\"num\">" + u +
         "</td><td class=\"num\">" + s + "</td></tr>\n";
  }
  o += "</table></div>\n";
  return o + PageFooter();
}

void RegisterTasksPage(Server& s) {
  s.Handle("/debug/tasks",
           [](const Request&) { return Response::Html(TasksHtml()); });
  s.AddIndexLink("execution", "tasks", "/debug/tasks");
}

}  // namespace chasquid::monitoring
