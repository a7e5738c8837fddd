#include "queue/safe_write.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "base/strings.h"

namespace chasquid::queue {

namespace {

std::string TempName(const std::string& path) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return dir + "." + base + std::to_string(rng() % 1000000000000ULL);
}

}  // namespace

Status SafeWrite(const std::string& path, std::string_view data, mode_t mode,
                 bool sync) {
  std::string tmp;
  int fd = -1;
  for (int tries = 0; tries < 100; tries++) {
    tmp = TempName(path);
    fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0 || errno != EEXIST) break;
  }
  if (fd < 0) return Status::Error(PathError("open", tmp, errno));
  auto fail = [&](std::string_view op) {
    Status s = Status::Error(PathError(op, tmp, errno));
    if (fd >= 0) close(fd);
    unlink(tmp.c_str());
    return s;
  };
  if (fchmod(fd, mode) != 0) return fail("chmod");
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    if (fchown(fd, st.st_uid, st.st_gid) != 0) return fail("chown");
  }
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    p += n;
    left -= n;
  }
  if (sync && fdatasync(fd) != 0) return fail("sync");
  if (close(fd) != 0) {
    fd = -1;
    return fail("close");
  }
  fd = -1;
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Status::Error("rename " + tmp + " " + path + ": " +
                             ErrnoText(errno));
    unlink(tmp.c_str());
    return s;
  }
  return Status::Ok();
}

}  // namespace chasquid::queue
