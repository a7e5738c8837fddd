// The daemon's command line. chasquid's flags, with Go's flag-package
// answers to a bad command line (exit status 2 and the usage), plus the
// --testing__* knobs of the test suites, which `-h` lists like any other
// flag but a production daemon never sets.
#pragma once

#include <string>
#include <vector>

#include "config/testing.h"

namespace chasquid::startup {

struct Flags {
  std::string config_dir;        // --config_dir, default /etc/chasquid.
  std::string config_overrides;  // --config_overrides (text protobuf).
  config::Testing testing;
};

// Parses argv and sets up the process log (--v, --logfile, --logtosyslog,
// --logtime, --alsologtostderr). On a bad command line prints Go's texts
// and exits 2; on --version prints the version and exits 0; on -h/--help
// prints the usage and exits 0. A bad --testing__* duration is fatal.
// Start-up only, before any chdir: a relative --logfile is taken from the
// starting directory.
Flags ParseFlags(int argc, char** argv);

}  // namespace chasquid::startup
