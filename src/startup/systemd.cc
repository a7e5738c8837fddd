#include "startup/systemd.h"

#include <fcntl.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdlib>

#include "base/strings.h"

namespace chasquid::startup {

namespace {

bool Atoi(const std::string& s, long* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  *v = strtol(s.c_str(), &end, 10);
  return *end == '\0';
}

std::string Getenv(const char* n) {
  const char* v = getenv(n);
  return v ? v : "";
}

}  // namespace

Result<std::map<std::string, std::vector<int>>> SystemdListeners() {
  std::map<std::string, std::vector<int>> out;
  std::string pid_str = Getenv("LISTEN_PID");
  std::string nfds_str = Getenv("LISTEN_FDS");
  std::string names_str = Getenv("LISTEN_FDNAMES");
  if (pid_str.empty() || nfds_str.empty()) return out;

  // libsystemd quietly returns 0 on these; chasquid reports them, so check
  // first, with its texts.
  long pid = 0, nfds = 0;
  if (!Atoi(pid_str, &pid)) {
    return Status::Error("error converting $LISTEN_PID=" + GoQuote(pid_str) +
                         ": strconv.Atoi: parsing " + GoQuote(pid_str) +
                         ": invalid syntax");
  }
  if (pid != getpid()) return Status::Error("$LISTEN_PID != our PID");
  if (!Atoi(nfds_str, &nfds)) {
    return Status::Error("error reading $LISTEN_FDS=" + GoQuote(nfds_str) +
                         ": strconv.Atoi: parsing " + GoQuote(nfds_str) +
                         ": invalid syntax");
  }
  auto names = Split(names_str, ":");
  if (nfds > 0 &&
      (names_str.empty() || names.size() != static_cast<size_t>(nfds))) {
    return Status::Error(
        "Incorrect LISTEN_FDNAMES, have you set FileDescriptorName?");
  }

  char** sd_names = nullptr;
  // unset_environment=1: children must not think the fds are theirs.
  int n = sd_listen_fds_with_names(1, &sd_names);
  if (n < 0) {
    return Status::Error("sd_listen_fds_with_names: " + ErrnoText(-n));
  }
  for (int i = 0; i < n; i++) {
    int fd = SD_LISTEN_FDS_START + i;
    // Children (hooks, the MDA) must not inherit them.
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    std::string name = sd_names && sd_names[i] ? sd_names[i] : names[i];
    out[name].push_back(fd);
    if (sd_names) free(sd_names[i]);
  }
  free(sd_names);
  // sd_listen_fds_with_names leaves LISTEN_FDNAMES on some versions.
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  return out;
}

}  // namespace chasquid::startup
