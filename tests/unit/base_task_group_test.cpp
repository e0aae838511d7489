#include "base/task_group.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>

namespace ms {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(TaskGroup, EmptyGroupRunsTheWaiterPostedNotInline) {
  asio::io_context ioc;
  TaskGroup group(ioc.get_executor());
  int ran = 0;
  group.on_empty([&] { ++ran; });
  EXPECT_EQ(ran, 0);
  ioc.run();
  EXPECT_EQ(ran, 1);
}

TEST(TaskGroup, WaiterRunsOnceTheLastCopyOfTheLastTokenIsGone) {
  asio::io_context ioc;
  TaskGroup group(ioc.get_executor());
  std::optional<TaskGroup::Token> a = group.enter();
  std::optional<TaskGroup::Token> b = group.enter();
  std::optional<TaskGroup::Token> a_copy = *a;  // the same task
  EXPECT_EQ(group.size(), 2u);
  int ran = 0;
  group.on_empty([&] { ++ran; });
  group.on_empty([&] { ++ran; });
  a.reset();
  ioc.poll();
  EXPECT_EQ(group.size(), 2u);
  b.reset();
  ioc.restart();
  ioc.poll();
  EXPECT_EQ(group.size(), 1u);
  EXPECT_EQ(ran, 0);
  a_copy.reset();
  EXPECT_EQ(group.size(), 0u);
  ioc.restart();
  ioc.poll();
  EXPECT_EQ(ran, 2);
  // Each waiter runs once: new tasks do not run them again.
  { auto t = group.enter(); }
  ioc.restart();
  ioc.poll();
  EXPECT_EQ(ran, 2);
}

TEST(TaskGroup, WaitsForCoroutinesThatHoldATokenInTheirCompletion) {
  asio::io_context ioc;
  TaskGroup group(ioc.get_executor());
  auto sleep = [&](std::chrono::milliseconds d) -> asio::awaitable<void> {
    asio::steady_timer t(ioc, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  };
  int finished = 0;
  for (auto d : {20ms, 60ms}) {
    asio::co_spawn(ioc, sleep(d), [&finished, t = group.enter()](std::exception_ptr) { ++finished; });
  }
  bool empty = false;
  int finished_when_empty = -1;
  group.on_empty([&] {
    empty = true;
    finished_when_empty = finished;
  });
  ioc.run_for(2s);
  EXPECT_TRUE(empty);
  EXPECT_EQ(finished_when_empty, 2);
}

TEST(TaskGroup, TokensMayOutliveTheGroup) {
  asio::io_context ioc;
  std::optional<TaskGroup::Token> t;
  int ran = 0;
  {
    TaskGroup group(ioc.get_executor());
    t = group.enter();
    group.on_empty([&] { ++ran; });
  }
  t.reset();  // no group any more: nothing to tell, nothing to touch
  ioc.run();
  EXPECT_EQ(ran, 0);
}

}  // namespace
}  // namespace ms
