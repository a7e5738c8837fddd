// The queue's page on the monitoring server: /debug/queue, chasquid's
// text dump of the items (see DiskQueue::DumpText).
//
// Ours: a page shows at most kDebugQueuePageItems items, in ID order, so
// that a queue of 100,000 items neither blocks an io thread for seconds
// nor sends 50 MB; chasquid printed every item (for such a queue, the page
// took it hours). A queue that fits looks exactly as chasquid's page did
// (but for the order). Otherwise the page ends with a line
// "# <n> more items: /debug/queue?after=<last ID>&limit=<limit>".
// Parameters: `limit` (items per page; 0: the whole queue, as chasquid)
// and `after` (start after this ID).
#pragma once

#include <cstddef>

#include "monitoring/server.h"
#include "queue/queue.h"

namespace chasquid::queue {

inline constexpr size_t kDebugQueuePageItems = 1000;

// `q` must outlive `server`'s serving.
void RegisterDebugPage(monitoring::Server* server, DiskQueue* q);

}  // namespace chasquid::queue
