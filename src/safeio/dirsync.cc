#include "safeio/dirsync.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/strings.h"

namespace chasquid::safeio {

Status DirSyncer::Sync() {
  Waiter me;
  std::unique_lock<std::mutex> l(mu_);
  pending_.push_back(&me);
  while (!me.done) {
    if (running_) {
      cv_.wait(l);
      continue;
    }
    // Lead a batch: everyone pending now arrived (and renamed) before
    // this fsync starts.
    running_ = true;
    std::vector<Waiter*> batch;
    batch.swap(pending_);
    l.unlock();
    Status s = FsyncDir();
    if (on_sync_) on_sync_();
    l.lock();
    for (Waiter* w : batch) {
      w->status = s;
      w->done = true;
    }
    running_ = false;
    cv_.notify_all();
  }
  return me.status;
}

Status DirSyncer::FsyncDir() const {
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Error(PathError("open", dir_, errno));
  Status s;
  if (fsync(fd) != 0) s = Status::Error(PathError("sync", dir_, errno));
  close(fd);
  return s;
}

}  // namespace chasquid::safeio
