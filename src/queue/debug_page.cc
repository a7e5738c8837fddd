#include "queue/debug_page.h"

namespace chasquid::queue {

void RegisterDebugPage(monitoring::Server* server, DiskQueue* q) {
  server->Handle("/debug/queue", [q](const monitoring::Request&) {
    return monitoring::Response::Text(q->DumpText());
  });
}

}  // namespace chasquid::queue
