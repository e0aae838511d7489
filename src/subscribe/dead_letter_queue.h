// DeadLetterQueue: a subscription's dead letters (ms:sub:<id>:dlq): list, replay
// (back into the subscription's pending list with a fresh attempt count), purge.
//
// Threading: one per shard, on that shard's executor.
#pragma once

#include "messaging/redis_keys.h"
#include "redis/connection.h"
#include "redis/script.h"
#include "subscribe/subscription.h"
#include "subscribe/subscription_store.h"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

namespace ms::subscribe {

struct DeadLetter {
  std::string dlq_id;     // entry id in the DLQ stream
  std::string message;    // the full envelope JSON
  std::string message_id;
  std::string channel;
  std::string entry_id;   // position in the channel's log
  std::int64_t attempts = 0;
  int last_status = 0;
  std::string last_error;
  std::int64_t dead_lettered_at_ms = 0;
};

struct DeadLetterPage {
  std::vector<DeadLetter> items;
  std::optional<std::string> next;
};

class DeadLetterQueue {
 public:
  DeadLetterQueue(redis::Client& redis, messaging::RedisKeys keys, std::string instance_id);

  boost::asio::awaitable<StoreResult<DeadLetterPage>> list(std::string sub_id, std::string after, std::size_t limit);
  // ids: message ids or DLQ entry ids; empty = all. Returns how many were replayed.
  boost::asio::awaitable<StoreResult<std::int64_t>> replay(Subscription sub, std::vector<std::string> ids);
  boost::asio::awaitable<StoreResult<std::int64_t>> purge(std::string sub_id);

 private:
  redis::Client& redis_;
  messaging::RedisKeys keys_;
  std::string instance_id_;
  redis::Script replay_script_;
};

}  // namespace ms::subscribe
