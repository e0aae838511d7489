// The Dispatcher delivers messages to webhooks for the subscriptions this shard
// owns (hash of the id modulo the shard count; other instances share the same
// subscriptions through consumer-group semantics).
//
// It is woken by Redis pub/sub: the live mirror of every publish says "channel X
// has new entries", the control channel says "subscription Y changed". It reads
// with non-blocking XREADGROUP (inside a script that also takes a lease on each
// entry), delivers up to max_in_flight at once, and sweeps every second for what a
// missed notification would hide. docs/delivery.md tells the whole path.
//
// Threading: one per shard, everything on that shard's executor.
//
// Lifecycle: every coroutine it starts (its loop, a worker per subscription, a
// delivery per message) and every Redis write it does not wait for (acks,
// stats) is a task of one TaskGroup. stop() stops reading and reports when the
// group is empty; cancel() makes what is left end as soon as the calls it waits
// for return (the owner closes the webhook client and the Redis connection for
// that). The owner bounds the wait: see main.cpp's shutdown.
#pragma once

#include "http/webhook_client.h"
#include "messaging/redis_keys.h"
#include "redis/connection.h"
#include "subscribe/subscription_store.h"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace ms::subscribe {

struct DispatcherOptions {
  std::string instance_id;  // consumer name in every group
  unsigned shard_index = 0;
  unsigned shard_count = 1;
  std::size_t max_message_bytes = 1048576;
  std::chrono::milliseconds sweep_interval{1000};
  std::chrono::milliseconds reload_interval{5000};
  std::chrono::milliseconds retry_poll_interval{200};
  std::chrono::milliseconds lease{60000};  // redelivery of a held message after a crash, on top of timeout_ms
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds instance_timeout{10000};  // no heartbeat this long: dead, its messages taken over
};

struct DispatcherCounters {
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> failed_attempts{0};
  std::atomic<std::uint64_t> dead_lettered{0};
  std::atomic<std::uint64_t> filtered{0};
  std::atomic<unsigned> shards_drained{0};  // the last shard to drain says the instance is gone
};

class Dispatcher {
 public:
  Dispatcher(boost::asio::any_io_executor ex, redis::Client& redis, redis::ConnectionOptions pubsub,
             messaging::RedisKeys keys, http::WebhookClient& webhooks, DispatcherOptions options,
             DispatcherCounters& counters);
  ~Dispatcher();

  void start();
  // Stops reading; in-flight deliveries finish and are acknowledged. `done` runs
  // on the executor once every task has ended (every ack answered by Redis). May
  // be called again, e.g. after cancel(), each `done` running once.
  void stop(std::function<void()> done = {});
  // stop(), and the deliveries still in flight are abandoned: their results are
  // dropped (their leases bring them back) and no ordered retry waits any more.
  void cancel();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ms::subscribe
