#include "courier/courier.h"

namespace chasquid::courier {

net::awaitable<Status> Courier::Forward(
    std::string from, std::string to, std::vector<std::string> servers,
    std::shared_ptr<const std::string> data) {
  co_return Status::Permanent("forwarding not supported by this courier");
}

net::awaitable<Status> Courier::DeliverSpooled(
    std::string from, std::string to, std::shared_ptr<const std::string> head,
    std::shared_ptr<const safeio::Spool> body) {
  std::string all = head ? *head : "";
  if (body) {
    auto rest = body->ReadAll();
    if (!rest.ok()) co_return Status::Transient(rest.status().message());
    all += *rest;
  }
  auto data = std::make_shared<const std::string>(std::move(all));
  co_return co_await Deliver(std::move(from), std::move(to), std::move(data));
}

net::awaitable<Status> Courier::DeliverRequireTls(
    std::string from, std::string to, std::shared_ptr<const std::string> data) {
  auto d = Deliver(std::move(from), std::move(to), std::move(data));
  co_return co_await std::move(d);
}

}  // namespace chasquid::courier
