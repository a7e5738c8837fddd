// The post-data hook: running hooks/post-data with the
// message on stdin and a fixed environment, capturing its output, under a
// hard timeout; and judging whether its output looks like headers.
//
// RunHook blocks for as long as the hook runs (up to the timeout): call it
// through RunBlocking, never on a network thread. Thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace chasquid::smtpsrv {

struct HookRun {
  bool started = false;   // False: could not be executed at all.
  bool timed_out = false;
  int exit_code = -1;     // -1 when killed by a signal or not started.
  std::string out, err;   // stdout, stderr.
};

// Runs `path` with no arguments, exactly `env` as its environment, the
// current directory as its working directory, and `input` on stdin. Only
// fds 0-2 reach the child (no listening socket or queue file leaks into
// it). After `timeout` the hook and its process group are killed.
HookRun RunHook(const std::string& path, const std::vector<std::string>& env,
                std::string_view input, std::chrono::nanoseconds timeout);

// chasquid's rules for a successful hook's stdout: empty is
// fine; otherwise it must end in "\n", contain no blank line, and each
// line be a "name:value" header or a continuation of the previous one.
bool LooksLikeHeaders(std::string_view out);

// The reply text of a failed hook: the last complete stdout line.
std::string HookErrorText(std::string_view out);

// Keeps only [a-zA-Z0-9.\-\[\]:] (EHLO_DOMAIN).
std::string SanitizeEhloDomain(std::string_view s);

}  // namespace chasquid::smtpsrv
