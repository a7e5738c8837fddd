// chasquid-util subcommands that talk to the running daemon over the local
// RPC: aliases-resolve and
// domaininfo-remove.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "command.h"
#include "config/config.h"
#include "localrpc/localrpc.h"

namespace chasquid::util {
namespace {

// <data_dir>/localrpc-v1, with data_dir relative to our cwd (chasquid-util
// does not chdir, as chasquid's does not).
std::string SocketPath(const Args& args) {
  auto conf = config::Load(args.config_dir() + "/chasquid.conf", "");
  if (!conf.ok()) Fatal("Error loading config: " + conf.status().message());
  return conf->data_dir() + "/localrpc-v1";
}

int AliasesResolve(const Args& args) {
  std::string sock = SocketPath(args);
  auto r = localrpc::Call(sock, "AliasResolve", {{"Address", args.Get("$2")}});
  if (!r.ok()) Fatal("Error resolving: " + r.status().message());
  // Types sorted, addresses in the server's order within each type.
  std::map<std::string, std::vector<std::string>> by_type;
  for (const auto& [type, addr] : *r) by_type[type].push_back(addr);
  for (const auto& [type, addrs] : by_type) {
    for (const auto& a : addrs) printf("%s  %s\n", type.c_str(), a.c_str());
  }
  return 0;
}

int DomaininfoRemove(const Args& args) {
  std::string sock = SocketPath(args);
  auto r =
      localrpc::Call(sock, "DomaininfoClear", {{"Domain", args.Get("$2")}});
  if (!r.ok())
    Fatal("Error removing domaininfo entry: " + r.status().message());
  return 0;
}

REGISTER_COMMAND("aliases-resolve", AliasesResolve);
REGISTER_COMMAND("domaininfo-remove", DomaininfoRemove);

}  // namespace
}  // namespace chasquid::util
