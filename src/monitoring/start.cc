#include "monitoring/start.h"

#include "monitoring/overview.h"
#include "monitoring/pprof.h"
#include "monitoring/tasks_page.h"
#include "monitoring/traces_page.h"

namespace chasquid::monitoring {

Result<std::unique_ptr<Server>> Start(net::io_context& io, Info info,
                                      const std::string& addr) {
  std::string hostname = info.config_hostname;
  auto s = std::make_unique<Server>(io, std::move(info));
  RegisterOverviewPage(*s, io, std::move(hostname));
  RegisterTracesPage(*s);
  RegisterTasksPage(*s);
  RegisterPprof(*s);
  if (Status st = s->Listen(addr); !st.ok()) return st;
  s->Start();
  return s;
}

}  // namespace chasquid::monitoring
