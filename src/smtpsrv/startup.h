// Start-up helpers for the daemon's wiring of the SMTP server:
// collecting the listeners of each mode from the config and systemd, with
// chasquid's messages. Main thread only.
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

}  // namespace chasquid::smtpsrv
