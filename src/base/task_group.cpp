#include "base/task_group.h"

#include <boost/asio/post.hpp>

namespace ms {

struct TaskGroup::State {
  boost::asio::any_io_executor ex;
  std::size_t running = 0;
  std::vector<std::function<void()>> waiters;

  void run_waiters_if_empty() {
    if (running != 0 || waiters.empty()) return;
    auto ready = std::move(waiters);
    waiters.clear();
    for (auto& fn : ready) boost::asio::post(ex, std::move(fn));
  }
};

// Released when the last copy of its token goes. A weak link: the group may go first.
struct TaskGroup::Token::Ticket {
  std::weak_ptr<TaskGroup::State> group;
  ~Ticket() {
    if (auto s = group.lock()) {
      --s->running;
      s->run_waiters_if_empty();
    }
  }
};

TaskGroup::TaskGroup(boost::asio::any_io_executor ex) : state_(std::make_shared<State>()) { state_->ex = std::move(ex); }

TaskGroup::Token TaskGroup::enter() {
  ++state_->running;
  auto t = std::make_shared<Token::Ticket>();
  t->group = state_;
  return Token(std::move(t));
}

std::size_t TaskGroup::size() const { return state_->running; }

void TaskGroup::on_empty(std::function<void()> fn) {
  state_->waiters.push_back(std::move(fn));
  state_->run_waiters_if_empty();
}

}  // namespace ms
