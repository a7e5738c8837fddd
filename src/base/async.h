// Running blocking work (fsync, scrypt, child processes) off the network
// threads, and awaiting it from a coroutine.
#pragma once

#include <type_traits>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace chasquid {

namespace net = boost::asio;

// Runs fn() on `pool` and resumes the caller on its own executor with the
// result. fn is moved into the pool; it must not capture references to the
// caller's stack that it uses after the caller could be destroyed.
template <typename Fn>
net::awaitable<std::invoke_result_t<Fn&>> RunBlocking(net::thread_pool& pool,
                                                      Fn fn) {
  co_return co_await net::co_spawn(
      pool,
      [fn = std::move(fn)]() mutable
      -> net::awaitable<std::invoke_result_t<Fn&>> { co_return fn(); },
      net::use_awaitable);
}

}  // namespace chasquid
