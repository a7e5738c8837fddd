// Ending the daemon on request (SIGTERM, SIGINT, /exit on the monitoring
// server).
//
// The daemon does not unwind on a stop request: accepted mail is already on
// disk and fsync'd, so it leaves at once with _exit, as chasquid does. That
// skips the leak check that AddressSanitizer runs from atexit, so in
// sanitized builds QuickExit runs that check itself first: a leak found at a
// clean stop is reported (to ASAN_OPTIONS' log_path, or stderr) and makes
// the process exit with LeakSanitizer's exit code instead of `code`.
#pragma once

namespace chasquid::base {

// Runs the leak check in ASan builds, then _exit(code). Never returns.
// Thread-safe; callable from any thread (LeakSanitizer stops the others
// while it scans).
[[noreturn]] void QuickExit(int code);

}  // namespace chasquid::base
