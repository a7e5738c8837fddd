#include "smtpsrv/hook.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "base/strings.h"

namespace chasquid::smtpsrv {

namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    for (int f : fd) {
      if (f >= 0) close(f);
    }
  }
  void Close(int i) {
    if (fd[i] >= 0) close(fd[i]);
    fd[i] = -1;
  }
};

}  // namespace

HookRun RunHook(const std::string& path, const std::vector<std::string>& env,
                std::string_view input, std::chrono::nanoseconds timeout) {
  // Writing to a hook that exits without reading stdin must give EPIPE,
  // not kill the daemon.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { signal(SIGPIPE, SIG_IGN); });

  HookRun run;
  Pipe in, out, err;
  if (pipe2(in.fd, O_CLOEXEC) != 0 || pipe2(out.fd, O_CLOEXEC) != 0 ||
      pipe2(err.fd, O_CLOEXEC) != 0) {
    return run;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err.fd[1], 2);
  // Nothing else crosses: sockets opened by other threads without
  // O_CLOEXEC (or not yet marked) must not leak into the hook.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setsigmask(&attr, &none);
  // Its own process group, so a timeout kills whatever it started too.
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETPGROUP);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, path.c_str(), &fa, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return run;
  run.started = true;
  in.Close(0);
  out.Close(1);
  err.Close(1);
  fcntl(in.fd[1], F_SETFL, O_NONBLOCK);

  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t written = 0;
  if (input.empty()) in.Close(1);
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      run.timed_out = true;
      break;
    }
    pollfd fds[3];
    int n = 0;
    int idx_in = -1, idx_out = -1, idx_err = -1;
    if (in.fd[1] >= 0) idx_in = n, fds[n++] = {in.fd[1], POLLOUT, 0};
    if (out.fd[0] >= 0) idx_out = n, fds[n++] = {out.fd[0], POLLIN, 0};
    if (err.fd[0] >= 0) idx_err = n, fds[n++] = {err.fd[0], POLLIN, 0};
    int pr = poll(fds, n, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (pr < 0 && errno != EINTR) break;
    if (pr <= 0) continue;
    if (idx_in >= 0 && fds[idx_in].revents) {
      ssize_t w = write(in.fd[1], input.data() + written, input.size() - written);
      if (w > 0) written += w;
      if (w < 0 && errno != EAGAIN) written = input.size();
      if (written == input.size()) in.Close(1);
    }
    char buf[4096];
    auto drain = [&](int idx, Pipe& p, std::string& dst) {
      if (idx < 0 || !fds[idx].revents) return;
      ssize_t r = read(p.fd[0], buf, sizeof(buf));
      if (r > 0) {
        // Bounded: a hook that floods us gets cut, not buffered forever.
        if (dst.size() < (1 << 20)) dst.append(buf, r);
      } else if (r == 0 || errno != EAGAIN) {
        p.Close(0);
      }
    };
    drain(idx_out, out, run.out);
    drain(idx_err, err, run.err);
  }
  int status = 0;
  if (run.timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!run.timed_out && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  return run;
}

bool LooksLikeHeaders(std::string_view out) {
  if (out.empty()) return true;
  if (out == "\n" || out.find("\n\n") != std::string_view::npos) return false;
  if (out.back() != '\n') return false;
  auto lines = Split(out.substr(0, out.size() - 1), "\n");
  for (size_t i = 0; i < lines.size(); i++) {
    const std::string& l = lines[i];
    bool cont = !l.empty() && (l[0] == ' ' || l[0] == '\t');
    if (cont && i == 0) return false;
    if (!cont && l.find(':') == std::string::npos) return false;
  }
  return true;
}

std::string HookErrorText(std::string_view out) {
  auto parts = Split(out, "\n");
  if (parts.size() < 2) return "";
  return parts[parts.size() - 2];
}

std::string SanitizeEhloDomain(std::string_view s) {
  std::string r;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '[' ||
        c == ']' || c == ':') {
      r += c;
    }
  }
  return r;
}

}  // namespace chasquid::smtpsrv
