// SubscriptionStore: subscriptions in Redis, shared by every instance.
//   ms:subs            hash  id → subscription JSON
//   ms:sub:<id>:stats  hash  counters written by every instance's deliveries
//   ms:$control        pub/sub "changed <id>" / "deleted <id>" so all instances apply changes at once
// Consumer groups (one per subscription on each matching channel's log) are
// created here when a subscription is made, and by the dispatcher for channels
// that appear later.
//
// Threading: one per shard, on that shard's executor.
#pragma once

#include "base/result.h"
#include "messaging/redis_keys.h"
#include "redis/connection.h"
#include "redis/script.h"
#include "subscribe/subscription.h"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ms::subscribe {

struct SubscriptionStats {
  std::int64_t delivered = 0;
  std::int64_t attempts = 0;
  std::int64_t failed_attempts = 0;
  std::int64_t filtered = 0;
  std::int64_t in_flight = 0;
  std::int64_t retrying = 0;
  std::int64_t backlog = 0;
  std::int64_t dead_lettered = 0;
  // Undelivered messages that retention is about to trim (backlog beyond 90 % of
  // --retention-max-messages on a channel), plus any already trimmed unread.
  std::int64_t at_risk = 0;
  std::optional<std::int64_t> oldest_unacked_age_ms;
  std::optional<std::int64_t> last_delivery_at_ms;
  std::optional<std::int64_t> last_error_at_ms;
  std::int64_t last_error_status = 0;
  std::string last_error_message;
};

// An error talking to Redis, as text; empty = fine.
template <class T>
struct StoreResult {
  std::optional<T> value;
  std::string error;
};

class SubscriptionStore {
 public:
  SubscriptionStore(redis::Client& redis, messaging::RedisKeys keys, std::uint64_t retention_max_messages = 1000000);

  boost::asio::awaitable<StoreResult<std::vector<Subscription>>> load_all();
  boost::asio::awaitable<StoreResult<std::optional<Subscription>>> get(std::string id);
  // Writes the subscription and tells every instance.
  boost::asio::awaitable<std::string> put(Subscription sub);
  // A subscription with the exact JSON it is stored as, for replace().
  struct Stored {
    Subscription sub;
    std::string raw;
  };
  boost::asio::awaitable<StoreResult<std::optional<Stored>>> get_stored(std::string id);
  // Writes `sub` only if the stored JSON is still `read_as` (compare-and-set, so a
  // change made meanwhile by another request or instance is never overwritten):
  // true when written, false when it changed or was deleted since.
  boost::asio::awaitable<StoreResult<bool>> replace(const Subscription& sub, std::string read_as);
  // Removes the subscription and all its state (groups, retries, attempts, stats, DLQ).
  boost::asio::awaitable<std::string> remove(Subscription sub);
  // Redis server time in ms: the clock of stream ids.
  boost::asio::awaitable<StoreResult<std::int64_t>> redis_time_ms();

  // Channels in the registry that the subscription matches (itself for an exact one).
  boost::asio::awaitable<StoreResult<std::vector<std::string>>> matching_channels(const Subscription& sub);
  // XGROUP CREATE ... MKSTREAM at the subscription's start; an existing group is fine.
  boost::asio::awaitable<std::string> ensure_group(const Subscription& sub, std::string channel);
  boost::asio::awaitable<StoreResult<SubscriptionStats>> stats(const Subscription& sub);

  // The id a new group on a channel starts after (XGROUP CREATE's id).
  static std::string group_start_id(const Subscription& sub);

  const messaging::RedisKeys& keys() const { return keys_; }

 private:
  redis::Client& redis_;
  messaging::RedisKeys keys_;
  redis::Script create_group_script_;
  redis::Script replace_script_;
  std::uint64_t retention_max_messages_;
};

// Every subscription of a list that matches a channel.
std::vector<std::string> subscriptions_matching(const std::vector<Subscription>& subs, std::string_view channel);

}  // namespace ms::subscribe
