// A message body on disk while it is received and while it is queued, so
// that memory does not grow with message size.
//
// The SMTP server appends the body to a Spool as DATA streams in (after
// dot-unstuffing); the checks and the post-data hook read it back; the
// queue copies it into the item file and keeps it for delivery, which
// hands it to child processes as a file. The file lives in the queue
// directory under a dot-name (the queue's loaders, ours and chasquid's,
// read only "m:*"); it is unlinked when the Spool is destroyed, and any
// left by a crash are removed at start-up (they hold either a message
// never answered 250 or a copy of an item's data, never the only copy of
// accepted mail).
//
// Appending is for one writer; once it is done, every read is a pread(2)
// of its own, so any number of threads may read at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace chasquid::safeio {

class Spool {
 public:
  // Creates "<dir>/<prefix><random digits>" (0600, O_EXCL). With
  // `memory_limit`, contents stay in memory until they grow past it, and
  // the file is only made then (small messages never touch the disk
  // here); an error making it is then Append's.
  static Result<std::unique_ptr<Spool>> Create(const std::string& dir,
                                               const std::string& prefix,
                                               size_t memory_limit = 0);
  ~Spool();  // Closes and unlinks the file.
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends `data`. After the first error every later Append returns it
  // too, without writing: a reader of DATA goes on reading to the end.
  Status Append(std::string_view data);
  // The first append error, or Ok.
  const Status& error() const { return error_; }

  uint64_t size() const { return size_; }
  // The file's path; empty while the contents are in memory.
  const std::string& path() const { return path_; }
  bool in_memory() const { return fd_ < 0; }
  // The contents while in_memory().
  const std::string& memory() const { return mem_; }

  // Calls `fn` with the contents in order, `chunk` bytes at a time (the
  // last may be shorter; none when empty). Stops at fn's first error.
  Status ForEachChunk(const std::function<Status(std::string_view)>& fn,
                      size_t chunk = 64 * 1024) const;
  // Up to `n` bytes from `off` into *out (replacing it); fewer only at
  // the end. For readers that wait between pieces (a socket).
  Status ReadAt(uint64_t off, size_t n, std::string* out) const;
  // The whole contents, in memory: only for the paths that still need it.
  Result<std::string> ReadAll() const;
  // The header block: the contents up to and including the first empty
  // line ("\n\n"), or all of it if there is none. At most `max` bytes.
  Result<std::string> HeaderBlock(size_t max) const;
  // A complete, unnamed copy (O_TMPFILE in the same directory, or an
  // in-memory file while in_memory()): `head`,
  // then the contents, with every LF not after a CR made CRLF when
  // `crlf`. Returns the descriptor (offset 0; the caller closes it), or
  // the error.
  Result<int> Materialize(std::string_view head, bool crlf) const;

 private:
  Spool(std::string dir, std::string prefix, size_t memory_limit)
      : dir_(std::move(dir)),
        prefix_(std::move(prefix)),
        memory_limit_(memory_limit) {}
  Status MakeFile();
  std::string dir_, prefix_;
  size_t memory_limit_;
  std::string mem_;
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  Status error_;
};

}  // namespace chasquid::safeio
