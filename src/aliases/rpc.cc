#include "aliases/rpc.h"

namespace chasquid::aliases {
namespace {

const char* WireType(RecipientType t) {
  switch (t) {
    case RecipientType::kPipe:
      return "(pipe)";
    case RecipientType::kForward:
      return "(forward)";
    case RecipientType::kEmail:
      break;
  }
  return "(email)";
}

}  // namespace

void RegisterRpc(localrpc::Server& rpc, Resolver& r) {
  rpc.Register("AliasResolve",
               [&r](const localrpc::Values& args) -> Result<localrpc::Values> {
                 auto rcpts = r.Resolve(localrpc::Get(args, "Address"));
                 if (!rcpts.ok()) return rcpts.status();
                 localrpc::Values out;
                 for (const auto& rcpt : *rcpts) {
                   out.emplace_back(WireType(rcpt.type), rcpt.addr);
                 }
                 return out;
               });
}

}  // namespace chasquid::aliases
