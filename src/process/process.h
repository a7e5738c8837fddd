// Running child processes (MDA, pipe aliases, the post-data and
// alias-resolve hooks) the way chasquid's Go exec does, with Go's error
// texts. It is the daemon's only way of starting a child, so every child
// gets the same treatment.
//
// Children are started with vfork+exec (only plain system calls in
// between: no page tables copied, no copy-on-write faults, no malloc
// atfork locks), in their own process group, with every file
// descriptor above 2 closed (listening sockets and connections are never
// inherited, whatever their close-on-exec flag), default signal
// dispositions and an empty signal mask, and the daemon's environment
// unchanged (or exactly the one given). On timeout the whole process group is
// killed (SIGKILL), so no child outlives its deadline.
//
// Run is asynchronous: the exit is awaited through a pidfd on the caller's
// executor, so no thread blocks on waitpid. RunSync runs the same code on a
// private io_context, for callers that are already off the network
// threads. Both are thread-safe. The first use sets SIGPIPE to ignored
// process-wide (writes to a child that exited must fail, not kill us).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/status.h"

namespace chasquid::process {

namespace net = boost::asio;

struct Options {
  std::vector<std::string> argv;  // argv[0]: program, PATH lookup if no '/'.
  // The child's stdin (null: empty). Handed over whole, as an in-memory
  // file (memfd) written before the child starts, so that a child can
  // never mistake our death for the end of its input; a pipe only if
  // memfd_create fails.
  std::shared_ptr<const std::string> stdin_data;
  // Instead of stdin_data: a complete file, read from its current offset
  // (large messages, kept on disk). Not owned: the child gets a duplicate,
  // the caller closes its own once Run has started.
  int stdin_fd = -1;
  std::chrono::nanoseconds timeout = std::chrono::seconds(30);
  bool capture_stdout = true;  // Else /dev/null.
  bool capture_stderr = true;  // Into the same buffer as stdout...
  bool stderr_apart = false;   // ...or, with this, into error_output.
  // The child's whole environment; unset: the daemon's own.
  std::optional<std::vector<std::string>> env;
  size_t max_output = 1 << 20;  // Bytes kept; the rest is read and dropped.
  // The child gets SIGKILL if the daemon dies (PR_SET_PDEATHSIG). Without
  // it, an MDA outliving a crashed or SIGKILLed daemon reads a truncated
  // message (its stdin hits EOF) and may deliver it, and completes
  // deliveries the restarted daemon then repeats from the queue. (Strictly
  // it fires when the spawning thread exits; callers spawn from threads
  // that outlive the child: executor threads or RunSync's caller.)
  bool die_with_parent = true;
};

struct Outcome {
  // Empty on success (exit 0). Otherwise Go's text: "exit status 3",
  // "signal: killed", `exec: "x": executable file not found in $PATH`,
  // "fork/exec /p: permission denied".
  std::string error;
  bool started = false;
  bool timed_out = false;
  int exit_code = -1;        // When exited normally.
  std::string output;        // stdout (+ stderr), as captured.
  std::string error_output;  // stderr, with stderr_apart.
  bool ok() const { return error.empty(); }
};

net::awaitable<Outcome> Run(Options opts);
Outcome RunSync(Options opts);

// Go's exec.LookPath error text, or the resolved path.
Result<std::string> LookPath(const std::string& prog);

}  // namespace chasquid::process
