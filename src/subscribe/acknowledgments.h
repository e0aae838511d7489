// Explicit acknowledgments (ack_mode "explicit"): after a 2xx the message waits
// for POST .../ack; a nack or an expired deadline is a failed attempt.
// ms:sub:<id>:awaiting maps message id → "<channel> <entry id>".
//
// Threading: one per shard, on that shard's executor.
#pragma once

#include "messaging/redis_keys.h"
#include "redis/connection.h"
#include "redis/script.h"
#include "subscribe/subscription.h"
#include "subscribe/subscription_store.h"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace ms::subscribe {

struct AckResult {
  std::int64_t done = 0;              // acked / nacked
  std::vector<std::string> unknown;   // ids not awaiting an ack
};

class Acknowledgments {
 public:
  Acknowledgments(redis::Client& redis, messaging::RedisKeys keys);

  boost::asio::awaitable<StoreResult<AckResult>> ack(Subscription sub, std::vector<std::string> message_ids);
  boost::asio::awaitable<StoreResult<AckResult>> nack(Subscription sub, std::vector<std::string> message_ids,
                                                      std::uint64_t delay_ms);

 private:
  boost::asio::awaitable<StoreResult<AckResult>> settle(Subscription sub, std::vector<std::string> ids, bool positive,
                                                        std::uint64_t delay_ms);
  redis::Client& redis_;
  messaging::RedisKeys keys_;
  redis::Script ack_script_;
  redis::Script nack_script_;
};

}  // namespace ms::subscribe
