#include "startup/listeners.h"

#include "base/log.h"
#include "startup/systemd.h"

namespace chasquid::startup {

Status CollectListeners(const Config& conf, ListenPlan* plan) {
  using smtpsrv::Mode;
  using smtpsrv::ModeName;
  const std::vector<std::string> smtp(conf.smtp_address().begin(),
                                      conf.smtp_address().end());
  const std::vector<std::string> submission(conf.submission_address().begin(),
                                            conf.submission_address().end());
  const std::vector<std::string> submission_tls(
      conf.submission_over_tls_address().begin(),
      conf.submission_over_tls_address().end());
  auto sd = SystemdListeners();
  if (!sd.ok()) {
    return Status::Error("Error getting systemd listeners: " +
                         sd.status().message());
  }
  struct Entry {
    const std::vector<std::string>* addrs;
    Mode mode;
    const char* sd_name;
  } entries[] = {
      {&smtp, Mode::kSmtp, "smtp"},
      {&submission, Mode::kSubmission, "submission"},
      {&submission_tls, Mode::kSubmissionTls, "submission_tls"},
  };
  for (const auto& e : entries) {
    size_t before = plan->items.size();
    for (const std::string& addr : *e.addrs) {
      if (addr.empty()) {
        CLOG_ERROR(std::string("Invalid empty listening address for ") +
                   ModeName(e.mode));
        return Status::Error(std::string("If you want to disable ") +
                             ModeName(e.mode) + ", remove it from the config");
      }
      if (addr == "systemd") {
        for (int fd : (*sd)[e.sd_name]) {
          plan->items.push_back({"", fd, e.mode});
        }
      } else {
        plan->items.push_back({addr, -1, e.mode});
      }
    }
    if (plan->items.size() == before) {
      CLOG_ERROR(std::string("Warning: No ") + ModeName(e.mode) +
                 " addresses/listeners");
      CLOG_ERROR("If using systemd, check that you named the sockets");
    }
  }
  if (plan->items.empty()) return Status::Error("No address to listen on");
  return Status::Ok();
}

Status BindListeners(smtpsrv::Server* srv, const ListenPlan& plan) {
  for (const auto& it : plan.items) {
    Status s = it.fd >= 0 ? srv->AddListenerFd(it.fd, it.mode)
                          : srv->Listen(it.addr, it.mode);
    if (!s.ok()) return s.Prefixed("Error listening: ");
  }
  return Status::Ok();
}

}  // namespace chasquid::startup
