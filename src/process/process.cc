#include "process/process.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "base/strings.h"

extern char** environ;

namespace chasquid::process {

namespace {

using namespace net::experimental::awaitable_operators;
using net::posix::stream_descriptor;

void IgnoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] { signal(SIGPIPE, SIG_IGN); });
}

// Go's signal names (runtime's sigtable): lower-case strsignal.
std::string SignalName(int sig) {
  std::string s = strsignal(sig);
  if (!s.empty()) s[0] = static_cast<char>(tolower(s[0]));
  return s;
}

std::string ExitText(int wstatus) {
  if (WIFEXITED(wstatus)) {
    return "exit status " + std::to_string(WEXITSTATUS(wstatus));
  }
  if (WIFSIGNALED(wstatus)) {
    std::string s = "signal: " + SignalName(WTERMSIG(wstatus));
    if (WCOREDUMP(wstatus)) s += " (core dumped)";
    return s;
  }
  return "exit status unknown";
}

bool IsExecutable(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         (st.st_mode & 0111) != 0;
}

struct Fds {
  int in_r = -1, in_w = -1, out_r = -1, out_w = -1, err_r = -1, err_w = -1,
      null = -1;
  ~Fds() {
    for (int fd : {in_r, in_w, out_r, out_w, err_r, err_w, null}) {
      if (fd >= 0) close(fd);
    }
  }
  int Take(int& fd) {
    int r = fd;
    fd = -1;
    return r;
  }
};

struct ChildArgs {
  const char* path;
  char** argv;
  char** envp;
  int in_fd, out_fd, err_fd, err_pipe;
  pid_t parent;
  bool die_with_parent;
};

// The child side of VforkExec: only plain system calls, then exec.
[[noreturn]] __attribute__((noinline)) void ExecChild(const ChildArgs* a) {
  if (a->die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != a->parent) _exit(127);  // Died before the prctl.
  }
  setpgid(0, 0);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }
  if (dup2(a->in_fd, 0) < 0 || dup2(a->out_fd, 1) < 0 ||
      dup2(a->err_fd, 2) < 0) {
    int e = errno;
    (void)!write(a->err_pipe, &e, sizeof(e));
    _exit(127);
  }
  // Whatever else is open (listening sockets, connections, other
  // children's pipes) stays with us; only the error pipe survives, and
  // exec closes it.
  const unsigned ep = static_cast<unsigned>(a->err_pipe);
  if (ep > 3) syscall(SYS_close_range, 3u, ep - 1, 0u);
  syscall(SYS_close_range, ep + 1, ~0u, 0u);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(a->path, a->argv, a->envp);
  int e = errno;
  (void)!write(a->err_pipe, &e, sizeof(e));
  _exit(127);
}

// Nothing but the vfork lives in this frame, so nothing can be clobbered.
__attribute__((noinline)) pid_t VforkExec(const ChildArgs* a) {
  pid_t child = vfork();
  if (child == 0) ExecChild(a);
  return child;
}

// The child's whole stdin in an anonymous in-memory file, or -1 (then a
// pipe is used). A child reading a pipe cannot tell our death from the
// end of its input: if we are killed mid-write it sees EOF and may
// deliver a truncated message. PR_SET_PDEATHSIG kills it first nearly
// always, but not when the kill lands while the child is being started
// (bench/no_loss saw it twice in about 50 SIGKILLs timed at random: an
// empty delivery from an MDA whose prctl raced the exit of the spawning
// thread). With the input complete before the child exists, the worst
// case is a duplicate.
int StdinFile(const Options& o) {
  int fd = memfd_create("chasquid-stdin", MFD_CLOEXEC);
  if (fd < 0) return -1;
  std::string_view data;
  if (o.stdin_data) data = *o.stdin_data;
  off_t off = 0;
  while (off < static_cast<off_t>(data.size())) {
    ssize_t n = pwrite(fd, data.data() + off, data.size() - off, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return -1;
    }
    off += n;
  }
  return fd;  // Its offset is still 0: the child reads from the start.
}

// Starts the child. On success fills pid and the parent's pipe ends
// (fds.in_w stays -1 when stdin is an in-memory file).
std::string Spawn(const Options& o, const std::string& path, Fds& fds,
                  pid_t* pid) {
  int p[2];
  if (o.stdin_fd >= 0) {
    // Never the pipe fallback: it would give the child an empty input.
    fds.in_r = fcntl(o.stdin_fd, F_DUPFD_CLOEXEC, 3);
    if (fds.in_r < 0) return std::string("dup: ") + ErrnoText(errno);
  } else {
    fds.in_r = StdinFile(o);
  }
  if (fds.in_r < 0) {
    if (pipe2(p, O_CLOEXEC) != 0) {
      return std::string("pipe: ") + ErrnoText(errno);
    }
    fds.in_r = p[0], fds.in_w = p[1];
  }
  if (pipe2(p, O_CLOEXEC) != 0) return std::string("pipe: ") + ErrnoText(errno);
  fds.out_r = p[0], fds.out_w = p[1];
  if (o.stderr_apart) {
    if (pipe2(p, O_CLOEXEC) != 0) {
      return std::string("pipe: ") + ErrnoText(errno);
    }
    fds.err_r = p[0], fds.err_w = p[1];
  }
  if (!o.capture_stdout || !o.capture_stderr) {  // MDAs capture both.
    fds.null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fds.null < 0) return PathError("open", "/dev/null", errno);
  }

  std::vector<char*> argv;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // Built before vfork: the child may not allocate.
  std::vector<char*> envp;
  if (o.env) {
    for (const auto& e : *o.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  // The child reports an exec failure's errno here; close-on-exec, so a
  // successful exec reads as EOF.
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) != 0)
    return std::string("pipe: ") + ErrnoText(errno);
  const int in_fd = fds.in_r;
  const int out_fd = o.capture_stdout ? fds.out_w : fds.null;
  const int err_fd = o.stderr_apart     ? fds.err_w
                     : o.capture_stderr ? fds.out_w
                                        : fds.null;
  const pid_t parent = getpid();

  // No signal handler may run in the child before its dispositions are
  // reset: block everything across vfork(), restore after.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  // vfork: the child borrows our memory until it execs, so starting one
  // costs no page-table copy, no copy-on-write faults in our threads
  // afterwards and no malloc atfork locking (measured: fork() made each
  // MDA run cost ~8 ms of CPU at 10 sessions). The child only makes
  // plain system calls, writes nothing of ours but errno, and never
  // returns: it execs or _exits. Its signal handlers are its own copy.
  ChildArgs ca{path.c_str(), argv.data(), o.env ? envp.data() : environ,
               in_fd,        out_fd,      err_fd,
               ep[1],        parent,      o.die_with_parent};
  pid_t child = VforkExec(&ca);
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close(ep[1]);
  if (child < 0) {
    close(ep[0]);
    return "fork/exec " + path + ": " + ErrnoText(fork_errno);
  }
  int err = 0;
  ssize_t n;
  while ((n = read(ep[0], &err, sizeof(err))) < 0 && errno == EINTR) {
  }
  close(ep[0]);
  if (n != static_cast<ssize_t>(sizeof(err))) err = 0;
  if (err != 0) {
    int st;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
    }
  }
  *pid = child;
  if (err != 0) return "fork/exec " + path + ": " + ErrnoText(err);
  close(fds.Take(fds.in_r));
  close(fds.Take(fds.out_w));
  if (fds.err_w >= 0) close(fds.Take(fds.err_w));
  return "";
}

}  // namespace

Result<std::string> LookPath(const std::string& prog) {
  if (prog.find('/') != std::string::npos) return prog;
  const char* env = getenv("PATH");
  std::string path = env ? env : "";
  for (auto dir : Split(path, ":")) {
    if (dir.empty()) dir = ".";
    std::string full = dir + "/" + prog;
    if (IsExecutable(full)) return full;
  }
  return Status::Error("exec: " + GoQuote(prog) +
                       ": executable file not found in $PATH");
}

net::awaitable<Outcome> Run(Options o) {
  IgnoreSigpipeOnce();
  Outcome out;
  if (o.argv.empty() || o.argv[0].empty()) {
    out.error = "exec: no command";
    co_return out;
  }
  auto path = LookPath(o.argv[0]);
  if (!path.ok()) {
    out.error = path.status().message();
    co_return out;
  }
  Fds fds;
  pid_t pid = -1;
  out.error = Spawn(o, *path, fds, &pid);
  if (!out.error.empty()) co_return out;
  out.started = true;

  auto ex = co_await net::this_coro::executor;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    // Cannot happen on Linux >= 5.3; do not leave the child behind.
    kill(-pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    out.error = std::string("pidfd_open: ") + ErrnoText(errno);
    co_return out;
  }
  const bool stdin_pipe = fds.in_w >= 0;
  stream_descriptor in(ex);
  if (stdin_pipe) in.assign(fds.Take(fds.in_w));
  stream_descriptor rd(ex, fds.Take(fds.out_r));
  // Without stderr_apart this one never opens and its reader ends at once.
  stream_descriptor erd(ex);
  if (fds.err_r >= 0) erd.assign(fds.Take(fds.err_r));
  stream_descriptor pfd(ex, pidfd);
  net::steady_timer timer(ex);
  timer.expires_after(o.timeout);

  auto writer = [&]() -> net::awaitable<void> {
    if (!stdin_pipe) co_return;  // Already complete, in a memfd.
    if (o.stdin_data && !o.stdin_data->empty()) {
      co_await net::async_write(in, net::buffer(*o.stdin_data),
                                net::as_tuple(net::use_awaitable));
    }
    boost::system::error_code ec;
    in.close(ec);
  };
  // Reads `from` to EOF into `to`, keeping at most max_output bytes.
  auto reader = [&](stream_descriptor& from,
                    std::string& to) -> net::awaitable<void> {
    if (!from.is_open()) co_return;
    char buf[16384];
    for (;;) {
      auto [ec, n] = co_await from.async_read_some(
          net::buffer(buf), net::as_tuple(net::use_awaitable));
      if (n > 0 && to.size() < o.max_output) {
        to.append(buf, std::min(n, o.max_output - to.size()));
      }
      if (ec) break;
    }
  };
  auto exited = [&]() -> net::awaitable<void> {
    co_await pfd.async_wait(stream_descriptor::wait_read,
                            net::as_tuple(net::use_awaitable));
  };
  auto deadline = [&]() -> net::awaitable<void> {
    co_await timer.async_wait(net::as_tuple(net::use_awaitable));
  };

  // Every awaitable is named before the co_await: GCC 12 may destroy
  // temporaries of a co_await full-expression twice (base/async.h), and
  // these own coroutine frames. The operators are lazy, so nothing starts
  // before the co_await.
  auto w = writer();
  auto rdr = reader(rd, out.output);
  auto erdr = reader(erd, out.error_output);
  auto ex_w = exited();
  auto dl = deadline();
  auto all =
      std::move(w) && std::move(rdr) && std::move(erdr) && std::move(ex_w);
  auto race = std::move(all) || std::move(dl);
  auto r = co_await std::move(race);
  if (r.index() == 1) {
    out.timed_out = true;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    // Dies promptly now; wait on the pidfd rather than block a thread.
    co_await pfd.async_wait(stream_descriptor::wait_read,
                            net::as_tuple(net::use_awaitable));
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st)) out.exit_code = WEXITSTATUS(st);
  if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) out.error = ExitText(st);
  co_return out;
}

Outcome RunSync(Options o) {
  net::io_context io;
  Outcome result;
  net::co_spawn(io, Run(std::move(o)), [&](std::exception_ptr e, Outcome r) {
    if (e) {
      result.error = "exception running process";
    } else {
      result = std::move(r);
    }
  });
  io.run();
  return result;
}

}  // namespace chasquid::process
