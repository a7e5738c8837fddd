// Running blocking work (fsync, scrypt, child processes) off the network
// threads, and awaiting it from a coroutine.
#pragma once

#include <type_traits>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace chasquid {

namespace net = boost::asio;

// Runs fn() on `pool` and resumes the caller on its own executor with the
// result. fn is moved into the pool; it must not capture references to the
// caller's stack that it uses after the caller could be destroyed. The
// result type must be default-constructible and movable.
//
// Deliberately not a coroutine: GCC 12 miscompiles a coroutine whose
// parameter is moved into a lambda capture (the capture takes the caller's
// object instead of the frame's copy, and both get destroyed: a double
// free). async_initiate carries fn without that problem.
template <typename Fn>
net::awaitable<std::invoke_result_t<Fn&>> RunBlocking(net::thread_pool& pool,
                                                      Fn fn) {
  using R = std::invoke_result_t<Fn&>;
  return net::async_initiate<const net::use_awaitable_t<>, void(R)>(
      [&pool](auto handler, Fn f) {
        net::post(pool, [handler = std::move(handler),
                         f = std::move(f)]() mutable {
          R r = f();
          auto ex = net::get_associated_executor(handler);
          net::post(ex, [handler = std::move(handler),
                         r = std::move(r)]() mutable {
            std::move(handler)(std::move(r));
          });
        });
      },
      net::use_awaitable, std::move(fn));
}

}  // namespace chasquid
