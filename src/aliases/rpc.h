// The aliases' method of the local RPC that chasquid-util calls
// (`chasquid-util aliases-resolve`).
#pragma once

#include "aliases/aliases.h"
#include "localrpc/localrpc.h"

namespace chasquid::aliases {

// Registers "AliasResolve": argument "Address"; the result has one pair per
// recipient, keyed by its type as chasquid-util prints it ("(email)",
// "(pipe)", "(forward)"), in resolution order. Resolving may run the
// alias-resolve hook, so the RPC server must run handlers off the network
// threads. `r` must outlive `rpc`.
void RegisterRpc(localrpc::Server& rpc, Resolver& r);

}  // namespace chasquid::aliases
