#include "maillog/maillog.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>

#include "base/log.h"
#include "base/strings.h"
#include "nettrace/trace.h"
#include "safeio/safeio.h"

namespace chasquid::maillog {

namespace {

Status WriteAllFd(int fd, const std::string& s, const std::string& name) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Error(PathError("write", name, errno));
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

class DiscardSink : public Sink {
 public:
  Status Write(const std::string&) override { return Status::Ok(); }
};

class FdSink : public Sink {
 public:
  FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  Status Write(const std::string& line) override {
    std::lock_guard<std::mutex> l(mu_);
    return WriteAllFd(fd_, line, name_);
  }

 private:
  std::mutex mu_;
  int fd_;
  std::string name_;
};

class FileSink : public Sink {
 public:
  explicit FileSink(std::string path) : path_(std::move(path)) {}
  // After the first open: reopen by absolute path (the cwd may change).
  void SetPath(std::string abs) {
    std::lock_guard<std::mutex> l(mu_);
    path_ = std::move(abs);
  }
  ~FileSink() override {
    if (fd_ >= 0) close(fd_);
  }
  Status Open() {
    std::lock_guard<std::mutex> l(mu_);
    int fd =
        open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::Error(PathError("open", path_, errno));
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
    return Status::Ok();
  }
  Status Write(const std::string& line) override {
    std::lock_guard<std::mutex> l(mu_);
    return WriteAllFd(fd_, line, path_);
  }
  Status Reopen() override { return Open(); }

 private:
  std::mutex mu_;
  std::string path_;
  int fd_ = -1;
};

// Go's log/syslog to the local daemon: "<pri>Mmm _d hh:mm:ss tag[pid]: msg"
// over a unix socket.
class SyslogSink : public Sink {
 public:
  ~SyslogSink() override {
    if (fd_ >= 0) close(fd_);
  }
  Status Connect() {
    for (const char* path : {"/dev/log", "/var/run/syslog", "/var/run/log"}) {
      for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
        int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        strncpy(addr.sun_path, path, sizeof(addr.sun_path) - 1);
        if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) ==
            0) {
          fd_ = fd;
          stream_ = type == SOCK_STREAM;
          return Status::Ok();
        }
        close(fd);
      }
    }
    return Status::Error("Unix syslog delivery error");
  }
  Status Write(const std::string& line) override {
    char ts[32];
    time_t now = time(nullptr);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm);
    // LOG_MAIL | LOG_INFO.
    std::string msg = "<22>" + std::string(ts) + " chasquid[" +
                      std::to_string(getpid()) + "]: " + line;
    std::lock_guard<std::mutex> l(mu_);
    ssize_t n = send(fd_, msg.data(), msg.size(), MSG_NOSIGNAL);
    if (n < 0) return Status::Error("write: " + ErrnoText(errno));
    (void)stream_;
    return Status::Ok();
  }

 private:
  std::mutex mu_;
  int fd_ = -1;
  bool stream_ = false;
};

std::string Timestamp() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  snprintf(buf + n, sizeof(buf) - n, ".%06ld ", static_cast<long>(tv.tv_usec));
  return buf;
}

// Go's %v of a []string: "[a b c]".
std::string List(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); i++) {
    if (i) out += ' ';
    out += v[i];
  }
  return out + "]";
}

// chasquid's global "Authentication" event log: every AUTH outcome, on the
// traces page. Never finishes.
nettrace::Trace& AuthLog() {
  static auto* t = new nettrace::Trace("Authentication", "Incoming SMTP");
  return *t;
}

std::atomic<Logger*> g_default{nullptr};

}  // namespace

Logger::Logger(std::unique_ptr<Sink> sink, bool timestamps)
    : sink_(std::move(sink)), timestamps_(timestamps) {}

Result<std::unique_ptr<Logger>> Logger::Open(const std::string& path) {
  if (path == "<syslog>") {
    auto s = std::make_unique<SyslogSink>();
    if (Status st = s->Connect(); !st.ok()) return st;
    return std::make_unique<Logger>(std::move(s), false);
  }
  if (path == "<stdout>") {
    return std::make_unique<Logger>(
        std::make_unique<FdSink>(STDOUT_FILENO, "/dev/stdout"), true);
  }
  if (path == "<stderr>") {
    return std::make_unique<Logger>(
        std::make_unique<FdSink>(STDERR_FILENO, "/dev/stderr"), true);
  }
  std::string abs = path;
  if (abs.empty() || abs[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd))) abs = std::string(cwd) + "/" + path;
  }
  size_t slash = abs.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    (void)safeio::MkdirAll(abs.substr(0, slash), 0775);  // Errors ignored.
  }
  // Errors name the path as configured.
  auto s = std::make_unique<FileSink>(path);
  if (Status st = s->Open(); !st.ok()) return st;
  s->SetPath(abs);
  return std::make_unique<Logger>(std::move(s), true);
}

Status Logger::Reopen() { return sink_->Reopen(); }

void Logger::Printf(const std::string& msg) {
  std::string line = timestamps_ ? Timestamp() + msg : msg;
  if (line.empty() || line.back() != '\n') line += '\n';
  Status s = sink_->Write(line);
  if (!s.ok() && !reported_error_.exchange(true)) {
    CLOG_ERROR("failed to write to maillog: " + s.message());
    CLOG_ERROR("(will not report this again)");
  }
}

void Logger::Listening(const std::string& addr) {
  Printf("daemon listening on " + addr);
}

void Logger::Auth(const std::string& addr, const std::string& user,
                  bool successful) {
  std::string msg =
      addr + " auth " + (successful ? "succeeded" : "failed") + " for " + user;
  Printf(msg);
  AuthLog().Debugf(msg);
}

void Logger::AuthRefused(const std::string& addr, const std::string& user,
                         const std::string& reason) {
  std::string msg = addr + " auth refused for " + user + " - " + reason;
  Printf(msg);
  AuthLog().Debugf(msg);
}

void Logger::Rejected(const std::string& addr, const std::string& from,
                      const std::vector<std::string>& to,
                      const std::string& err) {
  std::string msg = addr + " rejected";
  if (!from.empty()) msg += " from=" + from;
  if (!to.empty()) msg += " to=" + List(to);
  Printf(msg + " - " + err);
}

void Logger::Queued(const std::string& addr, const std::string& from,
                    const std::vector<std::string>& to, const std::string& id) {
  Printf(id + " from=" + from + " queued ip=" + addr + " to=" + List(to));
}

void Logger::SendAttempt(const std::string& id, const std::string& from,
                         const std::string& to, const std::string& err,
                         bool permanent) {
  if (err.empty()) {
    Printf(id + " from=" + from + " to=" + to + " sent");
  } else {
    Printf(id + " from=" + from + " to=" + to + " failed " +
           (permanent ? "(permanent)" : "(temporary)") + ": " + err);
  }
}

void Logger::QueueLoop(const std::string& id, const std::string& from,
                       std::chrono::nanoseconds next) {
  if (next > std::chrono::nanoseconds::zero()) {
    Printf(id + " from=" + from + " completed loop, next in " +
           FormatGoDuration(next));
  } else {
    Printf(id + " from=" + from + " all done");
  }
}

Status Init(const std::string& path) {
  auto l = Logger::Open(path);
  if (!l.ok()) return l.status();
  SetDefault(std::move(*l));
  return Status::Ok();
}

Logger& Default() {
  Logger* l = g_default.load();
  if (l == nullptr) {
    static Logger* discard = new Logger(std::make_unique<DiscardSink>(), false);
    return *discard;
  }
  return *l;
}

void SetDefault(std::unique_ptr<Logger> l) {
  // The previous logger is leaked on purpose: other threads may still hold
  // a reference obtained from Default(). Replacing happens once, at start.
  g_default.store(l.release());
}

}  // namespace chasquid::maillog
