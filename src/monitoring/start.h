// The daemon's monitoring server in one call.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "monitoring/server.h"

namespace chasquid::monitoring {

// A server with every page (overview, index, flags, config, vars, metrics,
// traces, tasks, profiling), listening on `addr` and accepting. Further pages
// (/debug/queue) may be added until the io_context runs. Error: the
// listen error, as Go's net.Listen prints it.
Result<std::unique_ptr<Server>> Start(net::io_context& io, Info info,
                                      const std::string& addr);

}  // namespace chasquid::monitoring
