// A count of the tasks a component has running — coroutines, and requests whose
// answer it still waits for — so that its stop() can wait for them to end.
//
//   TaskGroup tasks(ex);
//   asio::co_spawn(ex, work(), [t = tasks.enter()](std::exception_ptr) {});   // ends with the coroutine
//   redis.exec_async(cmd, [t = tasks.enter()](auto) {});                       // ends with the reply
//   tasks.on_empty([] { ... every task has ended ... });
//
// A task holds a Token for as long as it runs; copies of a token are the same
// task. Cancelling the tasks is the owner's business (flags, timers, closing
// its clients): the group only tells it when the last one has gone.
//
// Threading: tokens are taken and released on the executor given at
// construction (single-threaded). Tokens may outlive the group.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace ms {

class TaskGroup {
  struct State;

 public:
  class Token {
   public:
    Token() = default;  // holds no task
   private:
    friend class TaskGroup;
    struct Ticket;
    explicit Token(std::shared_ptr<Ticket> t) : ticket_(std::move(t)) {}
    std::shared_ptr<Ticket> ticket_;
  };

  explicit TaskGroup(boost::asio::any_io_executor ex);
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // A new task, running until the token and all its copies are gone.
  Token enter();
  std::size_t size() const;
  // `fn` runs once, posted to the executor, as soon as no task is running (at
  // once if none is now). Waiters not run yet are dropped with the group.
  void on_empty(std::function<void()> fn);

 private:
  std::shared_ptr<State> state_;
};

}  // namespace ms
