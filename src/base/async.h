// Running blocking work (fsync, scrypt, child processes) off the network
// threads, and awaiting it from a coroutine.
//
// GCC 12 caveat (https://gcc.gnu.org/PR99576 and relatives): a temporary
// with a non-trivial destructor inside a co_await full-expression (e.g. a
// lambda capturing a std::string written in place as an argument) may be
// destroyed twice. Name the callable first:
//   auto work = [path] { return Stat(path); };
//   auto r = co_await RunBlocking(pool, std::move(work));
#pragma once

#include <type_traits>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace chasquid {

namespace net = boost::asio;

// Runs fn() on `pool` and resumes the caller on its own executor with the
// result. fn is moved into the pool; it must not capture references to the
// caller's stack that it uses after the caller could be destroyed.
//
// Implemented with plain handlers rather than a capturing lambda coroutine
// given to co_spawn: GCC 12 frees such a lambda's captures twice.
template <typename Fn>
net::awaitable<std::invoke_result_t<Fn&>> RunBlocking(net::thread_pool& pool,
                                                      Fn fn) {
  using R = std::invoke_result_t<Fn&>;
  auto ex = co_await net::this_coro::executor;
  auto initiate = [&pool, ex](auto handler, Fn f) {
    net::post(pool, [handler = std::move(handler), f = std::move(f),
                     ex]() mutable {
      R r = f();
      net::post(ex, [handler = std::move(handler), r = std::move(r)]() mutable {
        std::move(handler)(std::move(r));
      });
    });
  };
  co_return co_await net::async_initiate<decltype(net::use_awaitable), void(R)>(
      std::move(initiate), net::use_awaitable, std::move(fn));
}

}  // namespace chasquid
