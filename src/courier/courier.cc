#include "courier/courier.h"

namespace chasquid::courier {

net::awaitable<Status> Courier::Forward(
    std::string from, std::string to, std::vector<std::string> servers,
    std::shared_ptr<const std::string> data) {
  co_return Status::Permanent("forwarding not supported by this courier");
}

}  // namespace chasquid::courier
