// RunBlocking for functions whose result is not default-constructible
// (Result<T>): co_spawn needs a default value for its completion
// signature, so the result travels wrapped in an optional.
#pragma once

#ifndef CHASQUID_INSIDE_SMTPSRV
#error "smtpsrv/blocking.h is private to smtpsrv/"
#endif

#include <optional>
#include <type_traits>
#include <utility>

#include "base/async.h"

namespace chasquid::smtpsrv {

template <typename Fn>
net::awaitable<std::invoke_result_t<Fn&>> RunBlockingResult(
    net::thread_pool& pool, Fn fn) {
  using T = std::invoke_result_t<Fn&>;
  // Named, not a temporary: see the GCC 12 caveat in base/async.h.
  auto wrapped = [fn = std::move(fn)]() mutable {
    return std::optional<T>(fn());
  };
  std::optional<T> r = co_await RunBlocking(pool, std::move(wrapped));
  co_return std::move(*r);
}

}  // namespace chasquid::smtpsrv
