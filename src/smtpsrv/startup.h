// Start-up helpers for the daemon's wiring of the SMTP server
// (spec/config-and-files §2 steps 16 and 19): collecting the listeners
// of each mode from the config and systemd, with chasquid's messages.
// Main thread only.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "smtpsrv/server.h"

namespace chasquid::smtpsrv {

struct ListenConfig {
  std::vector<std::string> smtp, submission, submission_tls;
};

struct ListenPlan {
  struct Item {
    std::string addr;  // Empty for systemd.
    int fd = -1;       // Inherited from systemd.
    Mode mode;
  };
  std::vector<Item> items;
};

// Step 16: resolves the configured entries (and the systemd sockets for
// "systemd" entries) into a plan. Logs the warnings; returns the fatal
// message on error: "Error getting systemd listeners: <err>",
// "If you want to disable <mode>, remove it from the config" (after
// logging "Invalid empty listening address for <mode>"),
// "No address to listen on".
Status CollectListeners(const ListenConfig& conf, ListenPlan* plan);

// Step 19: binds the plan. Error: "Error listening: <err>".
Status BindListeners(Server* srv, const ListenPlan& plan);

// TEMPORARY (until src/daemon lands from branch users): certificate
// discovery per spec/config-and-files §4.1, logging each candidate.
// Errors: `Error reading "certs/" directory: <err>`,
// `No entries found in "certs/"`, or a pair's load error.
Result<std::vector<std::string>> DiscoverCertDirs(const std::string& dir);
// TEMPORARY: the entries of domains/ that are not regular files (§4.2),
// lower-cased; errors as for certs.
Result<std::vector<std::string>> DiscoverDomains(const std::string& dir);

}  // namespace chasquid::smtpsrv
