// Group commit of directory fsyncs. A renamed file is only durable once
// its directory is fsync'd: until then a power cut can undo the rename
// (the queue would find only the dot-named temporary file, which loading
// ignores, and lose a message it answered 250 for; chasquid has this
// hole: it never syncs the queue directory). One fsync of the directory makes
// every rename done before it durable, so concurrent callers share one:
// whoever arrives while none runs starts it for everyone waiting, and
// those who arrive during it are served together by the next.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"

namespace chasquid::safeio {

class DirSyncer {
 public:
  // `on_sync`, if set, is called after each directory fsync (by the thread
  // that did it, without locks held), e.g. to count them.
  explicit DirSyncer(std::string dir, std::function<void()> on_sync = {})
      : dir_(std::move(dir)), on_sync_(std::move(on_sync)) {}

  // Blocks until the directory has been fsync'd after this call began,
  // so every rename the caller finished before calling is durable.
  // Thread-safe; meant for blocking-pool threads. Error: Go style,
  // "sync <dir>: <errno text>" (also "open <dir>: ...").
  Status Sync();

 private:
  struct Waiter {
    bool done = false;
    Status status;
    std::condition_variable cv;  // With mu_: done, or time to lead.
  };
  Status FsyncDir() const;

  const std::string dir_;
  const std::function<void()> on_sync_;
  std::mutex mu_;
  bool running_ = false;          // Guarded by mu_.
  std::vector<Waiter*> pending_;  // Guarded by mu_: the next batch.
};

}  // namespace chasquid::safeio
