// The mail log: one line per
// mail event, for operators and log parsers, separate from the ordinary
// log. Destinations: "<syslog>" (facility MAIL, severity INFO, tag
// "chasquid", no timestamp), "<stdout>", "<stderr>", or a file (appended,
// created 0644, its parent directory created 0775). Non-syslog lines are
// "YYYY-MM-DD HH:MM:SS.ffffff <message>" in local time.
//
// Line formats (chasquid's maillog package):
//   daemon listening on <addr>
//   <addr> auth succeeded for <user>   /   <addr> auth failed for <user>
//   <addr> auth refused for <user> - <reason>   (ours: AUTH throttling)
//   <addr> rejected[ from=<from>][ to=[<a> <b>]] - <reason>
//   <id> from=<from> queued ip=<addr> to=[<a> <b>]
//   <id> from=<from> to=<to> sent
//   <id> from=<from> to=<to> failed (temporary|permanent): <err>
//   <id> from=<from> completed loop, next in <Go duration>
//   <id> from=<from> all done
//
// The free functions write to the process-wide default logger, which
// discards everything until Init is called. All functions are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace chasquid::maillog {

// Where lines go; implementations are thread-safe.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status Write(const std::string& line) = 0;  // Without timestamp.
  virtual Status Reopen() { return Status::Ok(); }
};

class Logger {
 public:
  // `timestamps`: prefix each line with the local time.
  Logger(std::unique_ptr<Sink> sink, bool timestamps);

  // Opens the destination named by mail_log_path (see above). Relative
  // file paths are relative to the current directory (the config dir) and
  // are stored absolute, for Reopen. Error: e.g.
  // "open /sys/bad-dir/mail_log: no such file or directory".
  static Result<std::unique_ptr<Logger>> Open(const std::string& path);

  Status Reopen();  // SIGHUP: reopen the file (no-op otherwise).

  void Listening(const std::string& addr);
  void Auth(const std::string& addr, const std::string& user, bool successful);
  // An AUTH refused without checking the password (AUTH throttling).
  void AuthRefused(const std::string& addr, const std::string& user,
                   const std::string& reason);
  void Rejected(const std::string& addr, const std::string& from,
                const std::vector<std::string>& to, const std::string& err);
  void Queued(const std::string& addr, const std::string& from,
              const std::vector<std::string>& to, const std::string& id);
  // `err` empty = sent.
  void SendAttempt(const std::string& id, const std::string& from,
                   const std::string& to, const std::string& err,
                   bool permanent);
  // next <= 0: "all done".
  void QueueLoop(const std::string& id, const std::string& from,
                 std::chrono::nanoseconds next);

  // Writes one raw message line (a trailing newline is added if missing).
  void Printf(const std::string& msg);

 private:
  std::unique_ptr<Sink> sink_;
  bool timestamps_;
  std::atomic<bool> reported_error_{false};  // Report a write error once.
};

// The default logger. Init replaces it (call once at start-up, before
// other threads use it); Default() is never null.
Status Init(const std::string& path);
Logger& Default();
// Replaces the default logger (tests).
void SetDefault(std::unique_ptr<Logger> l);

inline void Listening(const std::string& addr) { Default().Listening(addr); }
inline void Auth(const std::string& addr, const std::string& user, bool ok) {
  Default().Auth(addr, user, ok);
}
inline void Rejected(const std::string& addr, const std::string& from,
                     const std::vector<std::string>& to,
                     const std::string& err) {
  Default().Rejected(addr, from, to, err);
}
inline void Queued(const std::string& addr, const std::string& from,
                   const std::vector<std::string>& to, const std::string& id) {
  Default().Queued(addr, from, to, id);
}
inline void SendAttempt(const std::string& id, const std::string& from,
                        const std::string& to, const std::string& err,
                        bool permanent) {
  Default().SendAttempt(id, from, to, err, permanent);
}
inline void QueueLoop(const std::string& id, const std::string& from,
                      std::chrono::nanoseconds next) {
  Default().QueueLoop(id, from, next);
}
inline Status Reopen() { return Default().Reopen(); }

}  // namespace chasquid::maillog
