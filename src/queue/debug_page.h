// The queue's page on the monitoring server: /debug/queue, chasquid's
// text dump of every item (see DiskQueue::DumpText).
#pragma once

#include "monitoring/server.h"
#include "queue/queue.h"

namespace chasquid::queue {

// `q` must outlive `server`'s serving.
void RegisterDebugPage(monitoring::Server* server, DiskQueue* q);

}  // namespace chasquid::queue
