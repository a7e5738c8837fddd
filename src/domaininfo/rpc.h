// The domain info database's method of the local RPC that chasquid-util
// calls (`chasquid-util domaininfo-remove`).
#pragma once

#include "domaininfo/domaininfo.h"
#include "localrpc/localrpc.h"

namespace chasquid::domaininfo {

// Registers "DomaininfoClear": argument "Domain", used verbatim (not
// normalised, as chasquid does); forgets what is known of that domain.
// `db` must outlive `rpc`.
void RegisterRpc(localrpc::Server& rpc, DB& db);

}  // namespace chasquid::domaininfo
