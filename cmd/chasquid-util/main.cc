// chasquid-util: the administration tool. This
// file parses the command line and dispatches to the subcommands
// registered with REGISTER_COMMAND (see command.h).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include "base/strings.h"
#include "command.h"

namespace chasquid::util {

namespace {

const char kUsage[] = R"(
Usage:
  chasquid-util [options] user-add <user@domain> [--password=<password>] [--receive_only]
    Add a user to the userdb.
  chasquid-util [options] user-remove <user@domain>
    Remove a user from the userdb.
  chasquid-util [options] authenticate <user@domain> [--password=<password>]
    Authenticate a user.
  chasquid-util [options] check-userdb <domain>
    Check if the userdb for the given domain is accessible.
  chasquid-util [options] aliases-resolve <address>
    Resolve an address. Talks to the running chasquid.
  chasquid-util [options] domaininfo-remove <domain>
    Remove domaininfo for the given domain. Talks to the running chasquid.
  chasquid-util [options] print-config
    Print the current chasquid configuration.

  chasquid-util [options] queue list [--json]
    List the queued items. Talks to the running chasquid.
  chasquid-util [options] queue show <id> [--json]
    Show a queued item with its delivery attempts.
  chasquid-util [options] queue flush <id>|--all
    Retry the item (or every item) now.
  chasquid-util [options] queue remove <id> [--yes]
    Drop the item without a DSN (asks first unless --yes).
  chasquid-util [options] queue bounce <id>
    Give up on the item now and send a DSN to its sender.

  chasquid-util [options] dkim-keygen <domain> [<selector> <private-key.pem>] [--algo=rsa3072|rsa4096|ed25519]
    Generate a new DKIM key pair for the domain.
  chasquid-util [options] dkim-dns <domain> [<selector> <private-key.pem>]
    Print the DNS TXT record to use for the domain, selector and
    private key.

Options:
  -C=<path>, --config_dir=<path>  Configuration directory
  -v                              Verbose mode
)";

std::map<std::string, CommandFn>& Registry() {
  static auto* r = new std::map<std::string, CommandFn>();
  return *r;
}

}  // namespace

Args::Args(int argc, char** argv) {
  int pos = 1;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (!a.empty() && a[0] == '-') {
      size_t eq = a.find('=');
      if (eq == std::string::npos) {
        values_[a] = "";
      } else {
        values_[a.substr(0, eq)] = a.substr(eq + 1);
      }
    } else {
      // Appended, not "$" + ...: GCC 12 warns (-Wrestrict, a false
      // positive) on operator+(const char*, string&&) once inlined.
      std::string key = "$";
      key += std::to_string(pos++);
      values_[key] = a;
    }
  }
  config_dir_ = Get("--config_dir");
  if (config_dir_.empty()) config_dir_ = "/etc/chasquid";
  if (Has("-C")) config_dir_ = Get("-C");
  if (Has("--configdir")) {
    fprintf(stderr,
            "Option --configdir is deprecated, use --config_dir instead\n");
    config_dir_ = Get("--configdir");
  }
}

std::string Args::Get(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? "" : it->second;
}

bool RegisterCommand(const char* name, CommandFn fn) {
  if (!Registry().emplace(name, fn).second) {
    fprintf(stderr, "chasquid-util: command %s registered twice\n", name);
    abort();
  }
  return true;
}

void Fatal(std::string_view msg) {
  fflush(stdout);
  std::cerr << msg << "\n";
  std::cerr.flush();
  exit(1);
}

std::string UserDBPath(const Args& args, const std::string& domain) {
  return args.config_dir() + "/domains/" + domain + "/users";
}

int Main(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Has("--help")) {
    fputs(kUsage, stdout);
    return 0;
  }
  std::string cmd = args.Get("$1");
  auto it = Registry().find(cmd);
  if (it == Registry().end() || cmd.empty()) {
    printf("Unknown argument %s\n", GoQuote(cmd).c_str());
    Fatal(kUsage);
  }
  int rc = it->second(args);
  fflush(stdout);
  return rc;
}

}  // namespace chasquid::util

int main(int argc, char** argv) { return chasquid::util::Main(argc, argv); }
