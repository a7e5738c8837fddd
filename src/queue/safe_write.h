// Atomic file replacement (spec/config-and-files §10), the queue's copy:
// temp file "." + name + random digits in the same directory, chmod,
// chown to the old file's owner, write, optional fsync, rename over.
//
// TODO: switch to src/safeio once it is on main (branch users); this is the
// minimal version the queue needs meanwhile.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/status.h"

namespace chasquid::queue {

// Writes `data` to `path` atomically. With `sync`, the data is fsync'd
// before the rename, so after a crash the file holds either the old or the
// new contents. Error texts are Go-style ("open <path>: <errno text>").
// Blocking; thread-safe.
Status SafeWrite(const std::string& path, std::string_view data, mode_t mode,
                 bool sync);

}  // namespace chasquid::queue
