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
  // Each waiter sleeps on its own condition: a finished fsync wakes the
  // ones it served and the next batch's leader, not every waiter (the
  // others would only go back to sleep: a wake-up and a context switch
  // each, per fsync).
  while (running_ && !me.done) me.cv.wait(l);
  if (me.done) return me.status;
  // Lead a batch: everyone pending now arrived (and renamed) before this
  // fsync starts.
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
    if (w != &me) w->cv.notify_one();
  }
  running_ = false;
  // Whoever arrived during this fsync: the first leads the next batch.
  if (!pending_.empty()) pending_.front()->cv.notify_one();
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
