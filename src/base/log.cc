#include "base/log.h"

#include <fcntl.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

namespace chasquid::log {

namespace {

std::mutex mu;
Options options;
int fd = 2;  // Destination when not syslog.

std::string Timestamp() {
  timeval tv;
  gettimeofday(&tv, nullptr);
  tm t;
  localtime_r(&tv.tv_sec, &t);
  char buf[64];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &t);
  snprintf(buf + n, sizeof(buf) - n, ".%06ld ", static_cast<long>(tv.tv_usec));
  return buf;
}

const char* LevelChar(Level l) {
  switch (l) {
    case Level::kFatal:
      return "\xE2\x98\xA0";  // ☠
    case Level::kError:
      return "E";
    case Level::kInfo:
      return "_";
    case Level::kDebug:
      return ".";
  }
  return "?";
}

void WriteAll(int to, const std::string& s) {
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    ssize_t n = ::write(to, p, left);
    if (n <= 0) return;
    p += n;
    left -= n;
  }
}

}  // namespace

void Init(const Options& opts) {
  std::lock_guard<std::mutex> l(mu);
  options = opts;
  if (!options.syslog_tag.empty()) {
    openlog(options.syslog_tag.c_str(), LOG_PID, LOG_DAEMON);
  } else if (!options.logfile.empty()) {
    int f = ::open(options.logfile.c_str(),
                   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (f < 0) {
      fprintf(stderr, "Error opening log file %s: %s\n",
              options.logfile.c_str(), strerror(errno));
      exit(1);
    }
    fd = f;
    options.logtime = true;
  }
}

void Reopen() {
  std::lock_guard<std::mutex> l(mu);
  if (options.syslog_tag.empty() && !options.logfile.empty()) {
    int f = ::open(options.logfile.c_str(),
                   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (f >= 0) {
      ::close(fd);
      fd = f;
    }
  }
}

bool Enabled(Level level) {
  return static_cast<int>(level) <= options.verbosity;
}

void Write(Level level, const char* file, int line, std::string_view msg) {
  if (!Enabled(level)) return;
  const char* base = strrchr(file, '/');
  base = base ? base + 1 : file;
  char caller[64];
  snprintf(caller, sizeof(caller), "%s:%d", base, line);
  char padded[80];
  snprintf(padded, sizeof(padded), "%-18s", caller);
  std::string body = std::string(LevelChar(level)) + " " + padded + " ";
  body.append(msg);
  if (body.empty() || body.back() != '\n') body += '\n';

  std::lock_guard<std::mutex> l(mu);
  if (!options.syslog_tag.empty()) {
    std::string s = options.logtime ? Timestamp() + body : body;
    syslog(LOG_INFO | LOG_DAEMON, "%s", s.c_str());
    if (options.also_to_stderr) WriteAll(2, Timestamp() + body);
    return;
  }
  std::string s = options.logtime ? Timestamp() + body : body;
  WriteAll(fd, s);
  if (fd != 2 && options.also_to_stderr) WriteAll(2, s);
}

void Fatal(const char* file, int line, std::string_view msg) {
  options.verbosity = std::max(options.verbosity, -2);
  Write(Level::kFatal, file, line, msg);
  _exit(1);
}

}  // namespace chasquid::log
