// The SMTP server's listeners at start-up: the addresses of each mode
// from the config, or the sockets systemd passed ("systemd" entries), with
// chasquid's messages. Main thread only.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "config/config.h"
#include "smtpsrv/server.h"

namespace chasquid::startup {

struct ListenPlan {
  struct Item {
    std::string addr;  // Empty for systemd.
    int fd = -1;       // Inherited from systemd.
    smtpsrv::Mode mode;
  };
  std::vector<Item> items;
};

// Resolves the configured entries (and the systemd sockets for
// "systemd" entries) into a plan. Logs the warnings; returns the fatal
// message on error: "Error getting systemd listeners: <err>",
// "If you want to disable <mode>, remove it from the config" (after
// logging "Invalid empty listening address for <mode>"),
// "No address to listen on".
Status CollectListeners(const Config& conf, ListenPlan* plan);

// Binds the plan, once everything the server needs is ready. Error: "Error
// listening: <err>".
Status BindListeners(smtpsrv::Server* srv, const ListenPlan& plan);

}  // namespace chasquid::startup
