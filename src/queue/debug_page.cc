#include "queue/debug_page.h"

#include <charconv>

namespace chasquid::queue {

void RegisterDebugPage(monitoring::Server* server, DiskQueue* q) {
  server->Handle("/debug/queue", [q](const monitoring::Request& req) {
    size_t limit = kDebugQueuePageItems;
    std::string ls = req.Param("limit");
    if (!ls.empty()) {
      auto [end, ec] = std::from_chars(ls.data(), ls.data() + ls.size(), limit);
      if (ec != std::errc() || end != ls.data() + ls.size()) {
        return monitoring::Response::Error(
            "limit: not a number of items (0 for all)", 400);
      }
    }
    return monitoring::Response::Text(q->DumpText(req.Param("after"), limit));
  });
}

}  // namespace chasquid::queue
