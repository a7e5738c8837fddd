// The ordinary log:
//   [<YYYY-MM-DD HH:MM:SS.ffffff> ]<L> <file:line padded to 18> <message>
// with <L> one of ☠ (fatal), E (error), _ (info), . (debug).
//
// Thread-safe: lines are written whole under a mutex.
#pragma once

#include <string>
#include <string_view>

namespace chasquid::log {

enum class Level { kFatal = -2, kError = -1, kInfo = 0, kDebug = 1 };

struct Options {
  int verbosity = 0;            // -v
  std::string logfile;          // --logfile (absolute path)
  std::string syslog_tag;       // --logtosyslog
  bool logtime = false;         // --logtime
  bool also_to_stderr = false;  // --alsologtostderr
};

// Sets up the destination. Call once at start-up, before other threads.
void Init(const Options& opts);
// Reopens the log file (SIGHUP). Safe to call from any thread.
void Reopen();

bool Enabled(Level level);
void Write(Level level, const char* file, int line, std::string_view msg);
[[noreturn]] void Fatal(const char* file, int line, std::string_view msg);

}  // namespace chasquid::log

#define CLOG_INFO(msg)                                                      \
  ::chasquid::log::Write(::chasquid::log::Level::kInfo, __FILE__, __LINE__, \
                         (msg))
#define CLOG_ERROR(msg)                                                      \
  ::chasquid::log::Write(::chasquid::log::Level::kError, __FILE__, __LINE__, \
                         (msg))
#define CLOG_DEBUG(msg)                                                \
  do {                                                                 \
    if (::chasquid::log::Enabled(::chasquid::log::Level::kDebug))      \
      ::chasquid::log::Write(::chasquid::log::Level::kDebug, __FILE__, \
                             __LINE__, (msg));                         \
  } while (0)
#define CLOG_FATAL(msg) ::chasquid::log::Fatal(__FILE__, __LINE__, (msg))
