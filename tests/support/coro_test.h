// Helpers for tests that drive the service's Redis client coroutines on an
// io_context owned by the test thread (redis_client_test, redis_subscriber_test,
// redis_cluster_client_test): a deadline on every coroutine, so a hang fails the
// test instead of stalling the suite.
//
//   run_coro(ioc, [&]() -> asio::awaitable<void> {
//     CO_ASSERT_TRUE(co_await wait_until([&] { return conn.connected(); }, 3s));
//     auto r = co_await conn.exec(cmd("GET", "k"));
//     EXPECT_EQ(describe(r), "\"v\"");
//   });
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <utility>

#include "base/result.h"
#include "redis/reply.h"

namespace ms::test {

// ASSERT_* cannot be used in a coroutine (it expands to `return`).
#define CO_ASSERT_TRUE(cond)                               \
  do {                                                     \
    if (!(cond)) {                                         \
      ADD_FAILURE() << "CO_ASSERT_TRUE(" #cond ") failed"; \
      co_return;                                           \
    }                                                      \
  } while (0)

// Builds a Command without a braced list (g++ 12 rejects {...} inside co_await).
template <class... A>
redis::Command cmd(A&&... args) {
  redis::Command c;
  c.reserve(sizeof...(args));
  (c.emplace_back(std::forward<A>(args)), ...);
  return c;
}

inline boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  co_await t.async_wait(boost::asio::use_awaitable);
}

// Polls pred every 5 ms; false if it is still false after `timeout`.
inline boost::asio::awaitable<bool> wait_until(std::function<bool()> pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) co_return false;
    co_await sleep_for(std::chrono::milliseconds(5));
  }
  co_return true;
}

// A reply or error as text, for assertions: "(nil)", "(error) ...", "(integer) 1", "\"v\"".
inline std::string describe(const Result<redis::Reply>& r) {
  if (!r) return "error: " + r.error().message();
  switch (r->type) {
    case redis::Reply::Type::nil: return "(nil)";
    case redis::Reply::Type::error: return "(error) " + r->str;
    case redis::Reply::Type::integer: return "(integer) " + std::to_string(r->integer);
    case redis::Reply::Type::array: return "(array of " + std::to_string(r->elements.size()) + ")";
    default: return "\"" + r->str + "\"";
  }
}

// Runs body on ioc until it finishes; fails the test if it takes longer than limit.
inline void run_coro(boost::asio::io_context& ioc, std::function<boost::asio::awaitable<void>()> body,
                     std::chrono::milliseconds limit) {
  bool done = false;
  std::exception_ptr error;
  boost::asio::co_spawn(ioc, std::move(body), [&](std::exception_ptr e) {
    done = true;
    error = e;
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) ioc.run_one_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(done) << "test coroutine did not finish within " << limit.count() << " ms";
  if (error) std::rethrow_exception(error);
}

}  // namespace ms::test
