// chasquid-util's subcommands.
//
// Each subcommand lives in a file of its own in this folder and registers
// itself at static-initialisation time:
//
//   namespace chasquid::util {
//   namespace {
//   int AliasesResolve(const Args& args) { ...; return 0; }
//   REGISTER_COMMAND("aliases-resolve", AliasesResolve);
//   }  // namespace
//   }  // namespace chasquid::util
//
// Every *.cc file here (except *_test.cc) is compiled into the binary, and
// every *.cmake file here is included after the target is defined, so a
// new file can add its own link dependencies, e.g. dkim.cmake containing
//   target_link_libraries(chasquid-util PRIVATE chasquid_dkim)
// without touching CMakeLists.txt or main.cc. The usage text (main.cc)
// already lists every command of the spec.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace chasquid::util {

// The command line, parsed as chasquid-util does (not Go flags): every
// argument starting with '-' is an option, split at the first '=' into
// name and value ("-v" -> "" value); the others are "$1", "$2", ...
// ("$1" is the subcommand).
class Args {
 public:
  Args(int argc, char** argv);
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The value, or "" when absent.
  std::string Get(const std::string& name) const;
  // The configuration directory: --configdir > -C > --config_dir >
  // /etc/chasquid. Not made absolute: chasquid-util does not chdir.
  const std::string& config_dir() const { return config_dir_; }
  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
  std::string config_dir_;
};

// A subcommand: returns the exit status (0 on success). Errors normally go
// through Fatal.
using CommandFn = int (*)(const Args& args);

// Registers `fn` as `name`; returns true (so it can initialise a static).
// Registering the same name twice aborts at start-up.
bool RegisterCommand(const char* name, CommandFn fn);

// Prints `msg` and a newline to stderr, then exits with status 1 (Go's
// Fatalf in chasquid-util).
[[noreturn]] void Fatal(std::string_view msg);

// The configured userdb path of a domain, as typed:
// "<config_dir>/domains/<domain>/users".
std::string UserDBPath(const Args& args, const std::string& domain);

}  // namespace chasquid::util

#define CHASQUID_UTIL_CONCAT2(a, b) a##b
#define CHASQUID_UTIL_CONCAT(a, b) CHASQUID_UTIL_CONCAT2(a, b)
#define REGISTER_COMMAND(name, fn)                         \
  [[maybe_unused]] static const bool CHASQUID_UTIL_CONCAT( \
      chasquid_util_registered_, __LINE__) =               \
      ::chasquid::util::RegisterCommand(name, fn)
