#include "courier/courier.h"

namespace chasquid::courier {

net::awaitable<Status> Courier::Forward(
    std::string from, std::string to, std::vector<std::string> servers,
    std::shared_ptr<const std::string> data) {
  co_return Status::Permanent("forwarding not supported by this courier");
}

namespace {

// `head` and then `body`, whole in memory.
Result<std::shared_ptr<const std::string>> Whole(
    const std::shared_ptr<const std::string>& head,
    const std::shared_ptr<const safeio::Spool>& body) {
  std::string all = head ? *head : "";
  if (body) {
    auto rest = body->ReadAll();
    if (!rest.ok()) return Status::Transient(rest.status().message());
    all += *rest;
  }
  return std::make_shared<const std::string>(std::move(all));
}

}  // namespace

net::awaitable<Status> Courier::DeliverSpooled(
    std::string from, std::string to, std::shared_ptr<const std::string> head,
    std::shared_ptr<const safeio::Spool> body) {
  auto data = Whole(head, body);
  if (!data.ok()) co_return data.status();
  auto d = Deliver(std::move(from), std::move(to), std::move(*data));
  co_return co_await std::move(d);
}

net::awaitable<Status> Courier::ForwardSpooled(
    std::string from, std::string to, std::vector<std::string> servers,
    std::shared_ptr<const std::string> head,
    std::shared_ptr<const safeio::Spool> body) {
  auto data = Whole(head, body);
  if (!data.ok()) co_return data.status();
  auto f = Forward(std::move(from), std::move(to), std::move(servers),
                   std::move(*data));
  co_return co_await std::move(f);
}

net::awaitable<Status> Courier::DeliverRequireTls(
    std::string from, std::string to, std::shared_ptr<const std::string> data) {
  auto d = Deliver(std::move(from), std::move(to), std::move(data));
  co_return co_await std::move(d);
}

net::awaitable<Status> Courier::DeliverRequireTlsSpooled(
    std::string from, std::string to, std::shared_ptr<const std::string> head,
    std::shared_ptr<const safeio::Spool> body) {
  auto d = DeliverSpooled(std::move(from), std::move(to), std::move(head),
                          std::move(body));
  co_return co_await std::move(d);
}

}  // namespace chasquid::courier
