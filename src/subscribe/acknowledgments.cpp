#include "subscribe/acknowledgments.h"

#include "base/clock.h"
#include "subscribe/delivery_scripts.h"

namespace ms::subscribe {

Acknowledgments::Acknowledgments(redis::Client& redis, messaging::RedisKeys keys)
    : redis_(redis), keys_(std::move(keys)), ack_script_(kAckScript), nack_script_(kNackScript) {}

boost::asio::awaitable<StoreResult<AckResult>> Acknowledgments::ack(Subscription sub, std::vector<std::string> ids) {
  return settle(std::move(sub), std::move(ids), true, 0);
}

boost::asio::awaitable<StoreResult<AckResult>> Acknowledgments::nack(Subscription sub, std::vector<std::string> ids,
                                                                     std::uint64_t delay_ms) {
  return settle(std::move(sub), std::move(ids), false, delay_ms);
}

boost::asio::awaitable<StoreResult<AckResult>> Acknowledgments::settle(Subscription sub, std::vector<std::string> ids,
                                                                       bool positive, std::uint64_t delay_ms) {
  AckResult out;
  if (ids.empty()) co_return StoreResult<AckResult>{out, {}};
  redis::Command get{"HMGET", keys_.awaiting(sub.id)};
  get.insert(get.end(), ids.begin(), ids.end());
  auto where = co_await redis_.exec(std::move(get));
  if (!where) co_return StoreResult<AckResult>{std::nullopt, where.error().message()};
  if (where->is_error()) co_return StoreResult<AckResult>{std::nullopt, where->str};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto* loc = i < where->elements.size() ? &where->elements[i] : nullptr;
    auto space = loc && !loc->is_nil() ? loc->str.rfind(' ') : std::string::npos;
    if (space == std::string::npos) {
      out.unknown.push_back(ids[i]);
      continue;
    }
    std::string channel = loc->str.substr(0, space);
    std::string entry = loc->str.substr(space + 1);
    Result<redis::Reply> r = make_error_code(boost::system::errc::invalid_argument);
    if (positive) {
      std::vector<std::string> keys{keys_.log(channel), keys_.retry(channel, sub.id), keys_.attempts(channel, sub.id)};
      std::vector<std::string> args{sub.id, entry};
      r = co_await redis::run_script(redis_, ack_script_, std::move(keys), std::move(args));
    } else {
      std::vector<std::string> keys{keys_.retry(channel, sub.id), keys_.attempts(channel, sub.id)};
      std::vector<std::string> args{entry, std::to_string(unix_ms_now() + static_cast<std::int64_t>(delay_ms))};
      r = co_await redis::run_script(redis_, nack_script_, std::move(keys), std::move(args));
    }
    if (!r) co_return StoreResult<AckResult>{std::nullopt, r.error().message()};
    if (r->is_error()) co_return StoreResult<AckResult>{std::nullopt, r->str};
    redis::Command del{"HDEL", keys_.awaiting(sub.id), ids[i]};
    co_await redis_.exec(std::move(del));
    if (r->integer > 0) {
      ++out.done;
      std::vector<redis::Command> stats;
      if (positive) {
        stats.push_back({"HINCRBY", keys_.sub_stats(sub.id), "delivered", "1"});
      } else {
        stats.push_back({"HINCRBY", keys_.sub_stats(sub.id), "failed_attempts", "1"});
      }
      co_await redis_.exec_many(std::move(stats));
    } else {
      out.unknown.push_back(ids[i]);
    }
  }
  co_return StoreResult<AckResult>{std::move(out), {}};
}

}  // namespace ms::subscribe
