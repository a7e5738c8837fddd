// Safe file writing, as chasquid's safeio:
// write to a temporary file in the same directory, then rename it over the
// target, so readers see either the old or the new content, never a mix.
//
// Used for user databases (0660), domaininfo entries (0660), queue items
// (0600, fsync'd) and the STS cache (0640, mtime set to the expiry).
// Thread-safe (no shared state); concurrent writers of the same path each
// rename their own complete file, last one wins.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace chasquid::safeio {

// An extra step run on the temporary file (by path and open descriptor)
// after the data is written and before the rename, e.g. FsyncFileOp or
// setting the times. Its error aborts the write.
using FileOp = std::function<Status(const std::string& tmp_path, int fd)>;

// Writes all of `data` to the open descriptor `fd`, through short writes
// and EINTR. Error: Go-style "write <name>: <errno text>".
Status WriteAll(int fd, std::string_view data, const std::string& name);

// Writes `data` to `path` with permissions `mode`:
//  1. create ".<base><random digits>" in the same directory (0600, O_EXCL);
//  2. chmod it to `mode`;
//  3. if `path` exists, chown the temp file to its uid/gid (an error, as
//     in chasquid, if we may not: "chown <tmp>: operation not permitted");
//  4. write the data; 5. run `ops` in order; close;
//  6. rename over `path`.
// Any failure removes the temp file. Errors are Go-style path errors, e.g.
// "open /x/.users123: permission denied".
Status WriteFile(const std::string& path, std::string_view data, mode_t mode,
                 const std::vector<FileOp>& ops = {});

// As WriteFile, but the temporary file is `reuse` when it can be opened
// (an existing file in the same directory, truncated and rewritten)
// instead of a new one; otherwise a new temporary file as above. The
// queue recycles the files of delivered items this way: creating and
// deleting an inode per message is what ext4 spends most on at high
// rates (without a journal it also skips every recently deleted inode
// when allocating one). `reuse` is gone afterwards either way.
Status WriteFileReusing(const std::string& path, std::string_view data,
                        mode_t mode, const std::vector<FileOp>& ops,
                        const std::string& reuse);

// fsync(2) the file: the queue's extra step, so a 250 reply is only sent
// once the message is on disk.
Status FsyncFileOp(const std::string& tmp_path, int fd);

// Go's os.MkdirAll: creates `path` and its missing parents with `mode`
// (before umask). Existing directories are fine; an existing non-directory
// is "mkdir <path>: not a directory"; other errors are Go path errors.
Status MkdirAll(const std::string& path, mode_t mode);

}  // namespace chasquid::safeio
