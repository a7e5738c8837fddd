// Local delivery: the MDA courier runs
// mail_delivery_agent_bin with the configured arguments for each local
// recipient; the Pipe courier runs a pipe alias's command line. Both spawn
// through src/process (vfork+exec, no inherited descriptors, killed at
// the timeout) and await the exit without blocking a thread. Thread-safe.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/strings.h"
#include "courier/courier.h"

namespace chasquid::courier {

// A counting semaphore for coroutines. Acquire() must be awaited on a
// strand or a single-threaded executor (the wake-up is posted to it);
// Release() may be called from any thread.
class AsyncSemaphore {
 public:
  explicit AsyncSemaphore(size_t n) : free_(n) {}
  net::awaitable<void> Acquire();
  void Release();

 private:
  struct Waiter;
  std::mutex mu_;
  size_t free_;
  std::deque<std::shared_ptr<Waiter>> waiters_;
};

class MDA : public Courier {
 public:
  // `binary` is looked up in PATH if it has no '/'; relative paths are
  // relative to the daemon's cwd (the config dir).
  MDA(std::string binary, std::vector<std::string> args,
      std::chrono::nanoseconds timeout = std::chrono::seconds(30));

  // Exit 0: OK. Exit 75 (EX_TEMPFAIL) or timeout: transient. Anything
  // else: permanent, "MDA delivery failed: exit status 1 - \"output\"".
  net::awaitable<Status> Deliver(
      std::string from, std::string to,
      std::shared_ptr<const std::string> data) override;
  // Permanent "forwarding not supported by the MDA courier".
  net::awaitable<Status> Forward(
      std::string from, std::string to, std::vector<std::string> servers,
      std::shared_ptr<const std::string> data) override;
  // The MDA reads a CRLF copy made on disk beside the spool (unnamed,
  // gone when it exits), so the body is never in memory.
  net::awaitable<Status> DeliverSpooled(
      std::string from, std::string to, std::shared_ptr<const std::string> head,
      std::shared_ptr<const safeio::Spool> body) override;

 private:
  // Deliver and DeliverSpooled: `head` then `body` (may be null).
  net::awaitable<Status> RunMDA(std::string from, std::string to,
                                std::shared_ptr<const std::string> head,
                                std::shared_ptr<const safeio::Spool> body);
  const std::string binary_;
  const std::vector<std::string> args_;
  const std::chrono::nanoseconds timeout_;
  // At most this many MDAs run at once (max(8, 4 x cores)); the rest
  // wait their turn. Without a bound, a restart with a big queue forks
  // one MDA per item at once: the machine thrashes, nothing completes
  // for seconds, and a crash then loses all that work.
  std::unique_ptr<AsyncSemaphore> running_;
};

// Pipe aliases: `to` is the command line, split on whitespace (no quoting);
// stdin gets the message unchanged (LF line endings); output discarded.
// Every error is permanent ("exit status 1", "signal: killed", "empty
// pipe").
class Pipe : public Courier {
 public:
  explicit Pipe(std::chrono::nanoseconds timeout = std::chrono::seconds(30));
  net::awaitable<Status> Deliver(
      std::string from, std::string to,
      std::shared_ptr<const std::string> data) override;
  // The command reads a copy made on disk beside the spool.
  net::awaitable<Status> DeliverSpooled(
      std::string from, std::string to, std::shared_ptr<const std::string> head,
      std::shared_ptr<const safeio::Spool> body) override;

 private:
  // `data`, or the file `stdin_fd` when >= 0, as the command's input.
  net::awaitable<Status> RunPipe(std::string to,
                                 std::shared_ptr<const std::string> data,
                                 int stdin_fd);
  const std::chrono::nanoseconds timeout_;
};

// Helpers, exposed for tests.
// Removes whitespace, control characters and shell metacharacters.
std::string SanitizeForMDA(std::string_view s);
// Replaces %from%, %from_user%, %from_domain%, %to%, %to_user%, %to_domain%
// in one left-to-right pass.
std::string SubstituteArg(std::string_view arg, const std::string& from,
                          const std::string& to);
// Every LF not already preceded by CR gets one (base/strings.h).
using ::chasquid::ToCRLF;

}  // namespace chasquid::courier
