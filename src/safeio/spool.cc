#include "safeio/spool.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "base/strings.h"
#include "safeio/safeio.h"

namespace chasquid::safeio {

Result<std::unique_ptr<Spool>> Spool::Create(const std::string& dir,
                                             const std::string& prefix,
                                             size_t memory_limit) {
  std::unique_ptr<Spool> s(new Spool(dir, prefix, memory_limit));
  if (memory_limit == 0) {
    if (Status st = s->MakeFile(); !st.ok()) return st;
  }
  return s;
}

Status Spool::MakeFile() {
  // Once per thread: constructing a random_device runs CPUID, which traps
  // to the hypervisor on VMs (1.7% of the CPU of loading a big queue).
  thread_local std::random_device rd;
  for (int attempt = 0; attempt < 10000; attempt++) {
    std::string name = dir_ + "/" + prefix_ + std::to_string(rd());
    int fd = open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      fd_ = fd;
      path_ = std::move(name);
      return Status::Ok();
    }
    if (errno != EEXIST) return Status::Error(PathError("open", name, errno));
  }
  return Status::Error(
      PathError("createtemp", dir_ + "/" + prefix_ + "*", EEXIST));
}

Spool::~Spool() {
  if (fd_ >= 0) {
    close(fd_);
    unlink(path_.c_str());
  }
}

Status Spool::Append(std::string_view data) {
  if (!error_.ok()) return error_;
  if (fd_ < 0 && mem_.size() + data.size() <= memory_limit_) {
    mem_.append(data);
    size_ += data.size();
    return Status::Ok();
  }
  Status s;
  if (fd_ < 0) {
    s = MakeFile();
    if (s.ok()) s = WriteAll(fd_, mem_, path_);
    if (s.ok()) {
      mem_.clear();
      mem_.shrink_to_fit();
    }
  }
  if (s.ok()) s = WriteAll(fd_, data, path_);
  if (!s.ok()) {
    error_ = s;
    mem_.clear();
    mem_.shrink_to_fit();
    return s;
  }
  size_ += data.size();
  return Status::Ok();
}

Status Spool::ForEachChunk(const std::function<Status(std::string_view)>& fn,
                           size_t chunk) const {
  if (fd_ < 0) {
    for (size_t off = 0; off < mem_.size(); off += chunk) {
      if (Status s = fn(std::string_view(mem_).substr(off, chunk)); !s.ok()) {
        return s;
      }
    }
    return Status::Ok();
  }
  std::unique_ptr<char[]> buf(new char[chunk]);
  uint64_t off = 0;
  while (off < size_) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(chunk, size_ - off));
    ssize_t n = pread(fd_, buf.get(), want, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(PathError("read", path_, errno));
    if (n == 0) {
      return Status::Error("read " + path_ + ": file shorter than written");
    }
    off += static_cast<uint64_t>(n);
    if (Status s = fn(std::string_view(buf.get(), static_cast<size_t>(n)));
        !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

Status Spool::ReadAt(uint64_t off, size_t n, std::string* out) const {
  out->clear();
  if (off >= size_) return Status::Ok();
  n = static_cast<size_t>(std::min<uint64_t>(n, size_ - off));
  if (fd_ < 0) {
    out->assign(mem_, off, n);
    return Status::Ok();
  }
  out->resize(n);
  size_t got = 0;
  while (got < n) {
    ssize_t r =
        pread(fd_, out->data() + got, n - got, static_cast<off_t>(off + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::Error(PathError("read", path_, errno));
    if (r == 0) {
      return Status::Error("read " + path_ + ": file shorter than written");
    }
    got += static_cast<size_t>(r);
  }
  return Status::Ok();
}

Result<std::string> Spool::ReadAll() const {
  std::string out;
  out.reserve(size_);
  Status s = ForEachChunk([&out](std::string_view c) {
    out.append(c);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::string> Spool::HeaderBlock(size_t max) const {
  std::string out;
  // A sentinel error stops the walk once the empty line is in `out`.
  static const char kFound[] = "found";
  Status s = ForEachChunk(
      [&out, max](std::string_view c) {
        size_t from = out.empty() ? 0 : out.size() - 1;
        out.append(c);
        size_t end = out.find("\n\n", from);
        if (end != std::string::npos) {
          out.resize(end + 2);
          return Status::Error(kFound);
        }
        if (out.size() >= max) {
          out.resize(max);
          return Status::Error(kFound);
        }
        return Status::Ok();
      },
      16 * 1024);
  if (!s.ok() && s.message() != kFound) return s;
  if (out.size() > max) out.resize(max);
  return out;
}

Result<int> Spool::Materialize(std::string_view head, bool crlf) const {
  // Small contents stay in memory (as the body did); large ones are
  // copied on disk beside the spool.
  int fd = fd_ < 0 ? memfd_create("chasquid-spool", MFD_CLOEXEC)
                   : open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Error(PathError("open", dir_, errno));
  std::string name = dir_ + "/(unnamed)";
  // The previous byte written, for CRLF conversion across chunks.
  char prev = 0;
  std::string out;
  auto put = [&](std::string_view c) {
    if (!crlf) return WriteAll(fd, c, name);
    out.clear();
    size_t i = 0;
    while (i < c.size()) {
      const void* p = memchr(c.data() + i, '\n', c.size() - i);
      size_t nl = p ? static_cast<const char*>(p) - c.data() : c.size();
      out.append(c.data() + i, nl - i);
      if (nl == c.size()) break;
      char before = nl > 0 ? c[nl - 1] : prev;
      if (before != '\r') out += '\r';
      out += '\n';
      i = nl + 1;
    }
    if (!c.empty()) prev = c.back();
    return WriteAll(fd, out, name);
  };
  Status s = put(head);
  if (s.ok()) s = ForEachChunk(put);
  if (s.ok() && lseek(fd, 0, SEEK_SET) != 0) {
    s = Status::Error(PathError("seek", name, errno));
  }
  if (!s.ok()) {
    close(fd);
    return s;
  }
  return fd;
}

}  // namespace chasquid::safeio
