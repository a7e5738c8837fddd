// The SMTP server's options, built from the daemon's configuration.
#pragma once

#include "config/config.h"
#include "config/testing.h"
#include "smtpsrv/server.h"

namespace chasquid::smtpsrv {

// The receiving side's settings from chasquid.conf (hostname, message size
// limit, HAProxy, address normalisation, and our abuse limits: AUTH
// throttling, sender authorization, per-client and per-user limits) and
// the test knobs (timeouts, loop detection, the connection bound). Hooks
// are read from "hooks/", relative to the config directory the daemon
// runs in.
Options OptionsFrom(const Config& conf, const config::Testing& testing);

}  // namespace chasquid::smtpsrv
