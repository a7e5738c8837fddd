// The queue tools' local RPC methods, served by the daemon for
// chasquid-util's `queue` subcommands (see localrpc.h for the wire
// format). Arguments and results are url.Values:
//
//   QueueList                 -> JSON=<{"items": [...], "truncated": bool}>
//   QueueShow   ID=<id>       -> JSON=<one item, with its attempts>
//   QueueFlush  ID=<id> | All=true  -> Flushed=<count>
//   QueueRemove ID=<id>       -> (nothing)
//   QueueBounce ID=<id>       -> (nothing)
//
// An unknown ID fails with `no such item "<id>"`, which chasquid-util
// turns into its own exit status. The JSON layout is documented for
// scripts in chasquid-util(1) (`queue list --json`).
#pragma once

#include <cstddef>
#include <string>

namespace chasquid::localrpc {
class Server;
}

namespace chasquid::queue {

class DiskQueue;
struct Item;

// Registers the methods above on `server` (before it starts). `q` must
// outlive the server's handlers. Handlers are thread-safe.
void RegisterRpc(localrpc::Server* server, DiskQueue* q);

// The JSON of one item (rpc.cc), exposed for tests. `history`: include the
// attempt history and the message's header block (QueueShow).
std::string ItemJSON(const Item& item, bool history);

}  // namespace chasquid::queue
