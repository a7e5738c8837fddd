// systemd socket activation (sd_listen_fds(3)): listening
// sockets inherited from systemd, grouped by FileDescriptorName.
// Call once at start-up, before other threads start: it unsets
// LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES.
#pragma once

#ifndef CHASQUID_INSIDE_STARTUP
#error "startup/systemd.h is private to startup/"
#endif

#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace chasquid::startup {

// name -> fds (close-on-exec set). Empty when not socket-activated.
// Errors, as chasquid's: "$LISTEN_PID != our PID",
// "Incorrect LISTEN_FDNAMES, have you set FileDescriptorName?",
// "error converting $LISTEN_PID=...", "error reading $LISTEN_FDS=...".
Result<std::map<std::string, std::vector<int>>> SystemdListeners();

}  // namespace chasquid::startup
