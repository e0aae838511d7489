// What the handlers of one shard work with. Each shard (one io_context, one
// thread) owns one of these; nothing in it is shared across threads except
// the Config (read-only) and the Stats (atomics).
#pragma once

#include "config/config.h"
#include "http/router.h"
#include "redis/connection.h"

#include <atomic>
#include <vector>

namespace ms::publish {
class EventPublisher;
class ChannelReader;
}  // namespace ms::publish

namespace ms::subscribe {
class SubscriptionStore;
class DeadLetterQueue;
class Acknowledgments;
}  // namespace ms::subscribe
namespace ms::http {
class SsrfGuard;
struct ServerCounters;
}  // namespace ms::http

namespace ms::api {

class AccessGate;

struct ProcessState {
  std::atomic<bool> shutting_down{false};
  std::atomic<std::uint32_t> inflight_publishes{0};
  std::vector<const redis::Client*> shard_redis;  // every shard's connection (set before start)
  const http::ServerCounters* server = nullptr;       // the HTTP server's counters, all shards
};

struct Context {
  const config::Config& config;
  redis::Client& redis;
  ProcessState& process;
  publish::EventPublisher* publisher = nullptr;
  publish::ChannelReader* channels = nullptr;
  subscribe::SubscriptionStore* subscriptions = nullptr;
  subscribe::DeadLetterQueue* dead_letters = nullptr;
  subscribe::Acknowledgments* acks = nullptr;
  const http::SsrfGuard* ssrf_guard = nullptr;
  const AccessGate* access = nullptr;  // shared by every shard; null = no checks (unit tests)
};

// Builds the shard's route table: every route of the API, bound to ctx.
void add_routes(http::Router& router, Context& ctx);

}  // namespace ms::api
