#include "startup/flags.h"

#include <unistd.h>

#include <climits>
#include <cstdio>

#include <gflags/gflags.h>

#include "base/goflag.h"
#include "base/log.h"
#include "base/strings.h"
#include "base/version.h"

DEFINE_string(config_dir, "/etc/chasquid", "configuration directory");
DEFINE_string(config_overrides, "",
              "override configuration values (in text protobuf format)");
DEFINE_int32(v, 0, "verbosity level (1 = debug)");
DEFINE_string(logfile, "", "file to log to (enables logtime)");
DEFINE_string(logtosyslog, "", "log to syslog, with the given tag");
DEFINE_bool(logtime, false, "include the time when writing the log to stderr");
DEFINE_bool(alsologtostderr, false,
            "also log to stderr, in addition to the file");
DEFINE_string(testing__outgoing_smtp_port, "25",
              "port to use for outgoing SMTP connections, ONLY FOR TESTING");
DEFINE_int32(testing__max_received_headers, 50,
             "max Received headers, for loop detection; ONLY FOR TESTING");
DEFINE_string(testing__reload_every, "30s",
              "how often to reload, ONLY FOR TESTING");
DEFINE_string(testing__dns_addr, "127.0.0.1:9053",
              "DNS server address to use for every lookup, ONLY FOR TESTING "
              "(used only when given explicitly)");
// Undocumented, for tests of the receiving side only (timeouts and the
// connection bound); the defaults are chasquid's.
DEFINE_string(testing__command_timeout, "1m",
              "SMTP per-command timeout, ONLY FOR TESTING");
DEFINE_string(testing__connection_timeout, "20m",
              "SMTP per-connection timeout, ONLY FOR TESTING");
DEFINE_string(testing__hook_timeout, "1m",
              "post-data hook timeout, ONLY FOR TESTING");
DEFINE_int32(testing__max_connections, 20000,
             "max concurrent SMTP connections, ONLY FOR TESTING");
// Undocumented, for the delivery tests: a fixed delay between queue rounds
// instead of the 1-20 minute schedule (empty: the schedule), and the
// outgoing SMTP session deadline (chasquid's 10 minutes).
DEFINE_string(testing__queue_retry_delay, "",
              "fixed delay between delivery attempts, ONLY FOR TESTING");
DEFINE_string(testing__outgoing_session_timeout, "10m",
              "outgoing SMTP session timeout, ONLY FOR TESTING");
// Ours, hidden from --help's list: the TLS report period (empty: daily).
DEFINE_string(testing__tlsrpt_period, "",
              "TLS report period, ONLY FOR TESTING");
DECLARE_bool(version);  // gflags' own.

namespace chasquid::startup {
namespace {

std::chrono::nanoseconds Duration(const std::string& flag,
                                  const std::string& v) {
  auto d = ParseGoDuration(v);
  if (!d.ok()) CLOG_FATAL("Invalid --" + flag + ": " + d.status().message());
  return *d;
}

// The daemon's flags as Go's flag package would list them: ours, and
// gflags' --version (chasquid has -version too), not gflags' other
// built-ins, which chasquid does not have.
std::vector<goflag::Flag> KnownFlags() {
  std::vector<gflags::CommandLineFlagInfo> all;
  gflags::GetAllFlags(&all);
  std::vector<goflag::Flag> out;
  for (const auto& f : all) {
    bool builtin = f.filename.find("gflags") != std::string::npos;
    if (builtin && f.name != "version") continue;
    goflag::Kind kind = goflag::Kind::kString;
    if (f.type == "bool") kind = goflag::Kind::kBool;
    if (f.type == "int32" || f.type == "int64") kind = goflag::Kind::kInt;
    out.push_back({f.name, kind, f.description, f.default_value,
                   /*hidden=*/f.name == "testing__tlsrpt_period"});
  }
  return out;
}

config::Testing TestingFromFlags() {
  config::Testing t;
  t.outgoing_smtp_port = FLAGS_testing__outgoing_smtp_port;
  t.max_received_headers = FLAGS_testing__max_received_headers;
  auto reload = ParseGoDuration(FLAGS_testing__reload_every);
  if (!reload.ok()) {
    CLOG_FATAL("invalid value for --testing__reload_every: " +
               reload.status().message());
  }
  t.reload_every = *reload;
  // The test override applies only when the flag was given explicitly.
  if (!gflags::GetCommandLineFlagInfoOrDie("testing__dns_addr").is_default) {
    t.dns_addr = FLAGS_testing__dns_addr;
  }
  t.command_timeout =
      Duration("testing__command_timeout", FLAGS_testing__command_timeout);
  t.connection_timeout = Duration("testing__connection_timeout",
                                  FLAGS_testing__connection_timeout);
  t.hook_timeout =
      Duration("testing__hook_timeout", FLAGS_testing__hook_timeout);
  t.max_connections = FLAGS_testing__max_connections;
  if (!FLAGS_testing__queue_retry_delay.empty()) {
    t.queue_retry_delay = Duration("testing__queue_retry_delay",
                                   FLAGS_testing__queue_retry_delay);
  }
  t.outgoing_session_timeout =
      Duration("testing__outgoing_session_timeout",
               FLAGS_testing__outgoing_session_timeout);
  if (!FLAGS_testing__tlsrpt_period.empty()) {
    t.tlsrpt_period =
        Duration("testing__tlsrpt_period", FLAGS_testing__tlsrpt_period);
  }
  return t;
}

void InitLogging() {
  log::Options o;
  o.verbosity = FLAGS_v;
  if (!FLAGS_logfile.empty()) {
    // Relative to the starting directory: the daemon chdirs later.
    if (FLAGS_logfile[0] != '/') {
      char cwd[PATH_MAX];
      if (getcwd(cwd, sizeof(cwd))) {
        FLAGS_logfile = std::string(cwd) + "/" + FLAGS_logfile;
      }
    }
    FLAGS_logtime = true;  // Not via SetCommandLineOption: stays "default".
  }
  o.logfile = FLAGS_logfile;
  o.syslog_tag = FLAGS_logtosyslog;
  o.logtime = FLAGS_logtime;
  o.also_to_stderr = FLAGS_alsologtostderr;
  log::Init(o);
}

}  // namespace

Flags ParseFlags(int argc, char** argv) {
  // A bad command line gets Go's texts and exit status 2, as chasquid's
  // does; gflags then parses the same, already valid, flags.
  const std::vector<goflag::Flag> known = KnownFlags();
  if (goflag::Outcome o = goflag::Check(argc, argv, known);
      o.what != goflag::Outcome::kOk) {
    goflag::Fail(o, argv[0], known);
  }
  gflags::SetUsageMessage("chasquid [flags]");
  gflags::ParseCommandLineNonHelpFlags(&argc, &argv, true);
  if (FLAGS_version) {
    printf("chasquid %s (source date: %s)\n", version::Version().c_str(),
           version::SourceDateStr().c_str());
    exit(0);
  }
  gflags::HandleCommandLineHelpFlags();
  InitLogging();
  return {FLAGS_config_dir, FLAGS_config_overrides, TestingFromFlags()};
}

}  // namespace chasquid::startup
