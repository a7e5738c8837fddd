// The daemon's command-line flags, shared by
// main and the components that read testing-only switches.
#pragma once

#include <gflags/gflags.h>

DECLARE_string(config_dir);
DECLARE_string(config_overrides);
DECLARE_int32(v);
DECLARE_string(logfile);
DECLARE_string(logtosyslog);
DECLARE_bool(logtime);
DECLARE_bool(alsologtostderr);
DECLARE_string(testing__outgoing_smtp_port);
DECLARE_int32(testing__max_received_headers);
DECLARE_string(testing__reload_every);
DECLARE_string(testing__dns_addr);
