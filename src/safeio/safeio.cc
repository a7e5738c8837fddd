#include "safeio/safeio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "base/strings.h"

namespace chasquid::safeio {

namespace {

// Go's os.CreateTemp(dir, pattern): name = pattern + random uint32 digits,
// O_RDWR|O_CREATE|O_EXCL, mode 0600, retried on collisions.
Result<std::pair<std::string, int>> CreateTemp(const std::string& dir,
                                               const std::string& prefix) {
  // Once per thread: constructing a random_device runs CPUID, which traps
  // to the hypervisor on VMs (1.7% of the CPU of loading a big queue).
  thread_local std::random_device rd;
  for (int attempt = 0; attempt < 10000; attempt++) {
    std::string name = dir + "/" + prefix + std::to_string(rd());
    int fd = open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return std::make_pair(name, fd);
    if (errno != EEXIST) return Status::Error(PathError("open", name, errno));
  }
  return Status::Error(
      PathError("createtemp", dir + "/" + prefix + "*", EEXIST));
}

// Steps 2-6 of WriteFile, on an open temporary file it owns.
Status FillAndRename(const std::string& path, std::string_view data,
                     mode_t mode, const std::vector<FileOp>& ops,
                     const std::string& tmp_name, int fd) {
  auto fail = [&, fd = fd, tmp_name = tmp_name](Status s) {
    if (fd >= 0) close(fd);
    unlink(tmp_name.c_str());
    return s;
  };

  if (fchmod(fd, mode) != 0) {
    return fail(Status::Error(PathError("chmod", tmp_name, errno)));
  }
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    if (fchown(fd, st.st_uid, st.st_gid) != 0) {
      return fail(Status::Error(PathError("chown", tmp_name, errno)));
    }
  }
  if (Status s = WriteAll(fd, data, tmp_name); !s.ok()) return fail(s);
  for (const FileOp& op : ops) {
    if (Status s = op(tmp_name, fd); !s.ok()) return fail(s);
  }
  int rc = close(fd);
  fd = -1;
  if (rc != 0) {
    int err = errno;
    unlink(tmp_name.c_str());
    return Status::Error(PathError("close", tmp_name, err));
  }
  if (rename(tmp_name.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp_name.c_str());
    return Status::Error("rename " + tmp_name + " " + path + ": " +
                         ErrnoText(err));
  }
  return Status::Ok();
}

Result<std::pair<std::string, int>> NewTemp(const std::string& path) {
  size_t slash = path.rfind('/');
  // One initialisation, no assignment of "/" after it: GCC 12 warns
  // (-Wrestrict, a false positive) on that assignment once inlined.
  std::string dir = slash == std::string::npos ? std::string(".")
                    : slash == 0               ? std::string("/")
                                               : path.substr(0, slash);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return CreateTemp(dir, "." + base);
}

}  // namespace

Status WriteAll(int fd, std::string_view data, const std::string& name) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Error(PathError("write", name, errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status WriteFile(const std::string& path, std::string_view data, mode_t mode,
                 const std::vector<FileOp>& ops) {
  auto tmp = NewTemp(path);
  if (!tmp.ok()) return tmp.status();
  return FillAndRename(path, data, mode, ops, tmp->first, tmp->second);
}

Status WriteFileReusing(const std::string& path, std::string_view data,
                        mode_t mode, const std::vector<FileOp>& ops,
                        const std::string& reuse) {
  // O_NOFOLLOW: only a regular file we left there ourselves is reused.
  int fd = reuse.empty()
               ? -1
               : open(reuse.c_str(), O_RDWR | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) return FillAndRename(path, data, mode, ops, reuse, fd);
  return WriteFile(path, data, mode, ops);
}

Status MkdirAll(const std::string& path, mode_t mode) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return Status::Error(PathError("mkdir", path, ENOTDIR));
  }
  // Parent first: skip trailing separators, then the last element.
  size_t i = path.size();
  while (i > 0 && path[i - 1] == '/') i--;
  size_t j = i;
  while (j > 0 && path[j - 1] != '/') j--;
  if (j > 1) {
    Status s = MkdirAll(path.substr(0, j - 1), mode);
    if (!s.ok()) return s;
  }
  if (mkdir(path.c_str(), mode) != 0) {
    int err = errno;
    // Lost a race, or "path/" with a trailing slash: fine if it is a dir.
    if (lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return Status::Ok();
    }
    return Status::Error(PathError("mkdir", path, err));
  }
  return Status::Ok();
}

Status FsyncFileOp(const std::string& tmp_path, int fd) {
  if (fsync(fd) != 0) {
    return Status::Error(PathError("sync", tmp_path, errno));
  }
  return Status::Ok();
}

}  // namespace chasquid::safeio
