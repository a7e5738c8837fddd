#include "domaininfo/rpc.h"

namespace chasquid::domaininfo {

void RegisterRpc(localrpc::Server& rpc, DB& db) {
  rpc.Register("DomaininfoClear",
               [&db](const localrpc::Values& args) -> Result<localrpc::Values> {
                 Status s = db.Clear(localrpc::Get(args, "Domain"));
                 if (!s.ok()) return s;
                 return localrpc::Values{};
               });
}

}  // namespace chasquid::domaininfo
