// EventPublisher: builds the envelope of a validated message and persists it
// in one atomic server-side script (idempotency check, XADD with approximate
// MAXLEN, channel metadata, PUBLISH of the live mirror). A batch is pipelined:
// every script call leaves in one write. Never reports "stored" for what Redis
// did not confirm.
//
// Threading: one per shard, used on that shard's executor only.
#pragma once

#include "messaging/publish_request.h"
#include "messaging/redis_keys.h"
#include "redis/connection.h"
#include "redis/script.h"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace prometheus {
class Counter;
}  // namespace prometheus

namespace ms::publish {

struct PublisherOptions {
  std::size_t compress_min_bytes = 1024;
  std::uint64_t idempotency_window_ms = 86400000;
  std::uint64_t retention_max_messages = 1000000;
  std::uint64_t retention_max_age_ms = 0;
  std::uint32_t max_inflight = 4096;  // per process, shared counter below
};

struct PublishOutcome {
  enum class Status { created, duplicate, unavailable, failed };
  Status status = Status::failed;
  std::string id;
  std::string channel;
  std::string position;
  std::int64_t published_at_ms = 0;
  std::string error;  // for unavailable / failed

  bool ok() const { return status == Status::created || status == Status::duplicate; }
};

class EventPublisher {
 public:
  EventPublisher(redis::Client& redis, messaging::RedisKeys keys, PublisherOptions options,
                 std::atomic<std::uint32_t>& inflight);

  // traceparent/tracestate: the caller's W3C trace context (an invalid one is
  // ignored: a new trace starts). One publish span per call; every message stores
  // its context, so deliveries continue the trace as its children.
  boost::asio::awaitable<PublishOutcome> publish(messaging::PublishInput msg, std::string traceparent = {},
                                                 std::string tracestate = {});
  boost::asio::awaitable<std::vector<PublishOutcome>> publish_batch(std::vector<messaging::PublishInput> msgs,
                                                                    std::string traceparent = {},
                                                                    std::string tracestate = {});

 private:
  struct Prepared {
    messaging::PublishInput msg;
    std::string id;
    std::int64_t published_at_ms;
    redis::ScriptCall call;
  };
  Prepared prepare(messaging::PublishInput msg, const std::string& traceparent);
  PublishOutcome finish(const Prepared& p, const Result<redis::Reply>& r);
  void count(const std::vector<PublishOutcome>& out, std::chrono::steady_clock::time_point started);

  redis::Client& redis_;
  messaging::RedisKeys keys_;
  PublisherOptions opts_;
  std::atomic<std::uint32_t>& inflight_;
  redis::Script script_;
  std::unordered_set<std::string> registered_;  // channels already ZADDed to the registry
  std::unordered_map<std::string, prometheus::Counter*> channel_series_;  // channel → its prometheus::Counter (this shard's cache)
};


}  // namespace ms::publish
