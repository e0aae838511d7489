#include "publish/event_publisher.h"

#include "base/clock.h"
#include "messaging/envelope.h"
#include "messaging/stored_entry.h"
#include "messaging/ulid.h"
#include "observe/tracer.h"
#include "publish/publish_metrics.h"
#include "publish/publish_script.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>

namespace ms::publish {

namespace {
constexpr std::size_t kMaxRegistryCache = 100000;

// RAII slot in the process-wide in-flight budget.
class InflightSlot {
 public:
  InflightSlot(std::atomic<std::uint32_t>& c, std::uint32_t n, std::uint32_t max) : c_(c), n_(n) {
    ok_ = c_.fetch_add(n, std::memory_order_relaxed) + n <= max;
  }
  ~InflightSlot() { c_.fetch_sub(n_, std::memory_order_relaxed); }
  bool ok() const { return ok_; }

 private:
  std::atomic<std::uint32_t>& c_;
  std::uint32_t n_;
  bool ok_;
};
}  // namespace

EventPublisher::EventPublisher(redis::Client& redis, messaging::RedisKeys keys, PublisherOptions options,
                               std::atomic<std::uint32_t>& inflight)
    : redis_(redis), keys_(std::move(keys)), opts_(options), inflight_(inflight), script_(kPublishScript) {
  // A Redis that comes back may have lost its data (no persistence, failover): register again.
  redis_.on_connect([this] { registered_.clear(); });
}

EventPublisher::Prepared EventPublisher::prepare(messaging::PublishInput msg, const std::string& traceparent) {
  Prepared p;
  p.published_at_ms = unix_ms_now();
  p.id = messaging::new_ulid();
  messaging::Envelope env;
  env.id = p.id;
  env.channel = msg.channel;
  env.published_at_ms = p.published_at_ms;
  env.key = msg.key;
  env.attributes = msg.attributes;
  env.data = std::move(msg.data);
  std::string json = messaging::serialize_stored(env);
  auto stored = messaging::encode_for_store(json, opts_.compress_min_bytes);
  std::size_t offset = messaging::position_splice_offset(env.id, env.channel);

  p.call.keys = {keys_.log(msg.channel), keys_.meta(msg.channel)};
  if (msg.idempotency_key) p.call.keys.push_back(keys_.idem(msg.channel, *msg.idempotency_key));
  std::string min_id;
  if (opts_.retention_max_age_ms > 0) {
    auto cutoff = p.published_at_ms - static_cast<std::int64_t>(opts_.retention_max_age_ms);
    if (cutoff > 0) min_id = std::to_string(cutoff) + "-0";
  }
  p.call.args = {std::move(json),
                 stored.compressed ? std::move(stored.payload) : std::string{},
                 stored.compressed ? "1" : "0",
                 std::to_string(offset),
                 std::to_string(opts_.retention_max_messages),
                 std::to_string(opts_.idempotency_window_ms),
                 std::to_string(p.published_at_ms),
                 keys_.mirror(msg.channel),
                 p.id + " " + std::to_string(p.published_at_ms) + " ",
                 std::move(min_id),
                 // the publish span's context: deliveries become its children
                 traceparent};
  p.msg = std::move(msg);
  return p;
}

PublishOutcome EventPublisher::finish(const Prepared& p, const Result<redis::Reply>& r) {
  PublishOutcome out;
  out.channel = p.msg.channel;
  if (!r) {
    out.status = PublishOutcome::Status::unavailable;
    out.error = r.error().message();
    return out;
  }
  const auto& reply = *r;
  if (reply.is_error()) {
    out.status = PublishOutcome::Status::failed;
    out.error = reply.str;
    // A Redis that cannot take writes (OOM, read-only replica, loading) is unavailable, not broken.
    if (reply.str.rfind("OOM", 0) == 0 || reply.str.rfind("READONLY", 0) == 0 || reply.str.rfind("LOADING", 0) == 0 ||
        reply.str.rfind("BUSY", 0) == 0 || reply.str.rfind("MISCONF", 0) == 0) {
      out.status = PublishOutcome::Status::unavailable;
    }
    return out;
  }
  if (!reply.is_array() || reply.elements.size() != 2) {
    out.status = PublishOutcome::Status::failed;
    out.error = "unexpected reply from the publish script";
    return out;
  }
  auto flag = reply.elements[0].as_int().value_or(-1);
  if (flag == 1) {
    out.status = PublishOutcome::Status::created;
    out.id = p.id;
    out.position = reply.elements[1].str;
    out.published_at_ms = p.published_at_ms;
    return out;
  }
  // A repeat: "<id> <published_at ms> <position>" of the first publish.
  const auto& rec = reply.elements[1].str;
  auto s1 = rec.find(' ');
  auto s2 = s1 == std::string::npos ? std::string::npos : rec.find(' ', s1 + 1);
  if (flag != 0 || s2 == std::string::npos) {
    out.status = PublishOutcome::Status::failed;
    out.error = "unreadable idempotency record";
    return out;
  }
  out.status = PublishOutcome::Status::duplicate;
  out.id = rec.substr(0, s1);
  out.published_at_ms = std::strtoll(rec.c_str() + s1 + 1, nullptr, 10);
  out.position = rec.substr(s2 + 1);
  return out;
}

boost::asio::awaitable<PublishOutcome> EventPublisher::publish(messaging::PublishInput msg, std::string traceparent,
                                                               std::string tracestate) {
  std::vector<messaging::PublishInput> one;
  one.push_back(std::move(msg));
  auto results = co_await publish_batch(std::move(one), std::move(traceparent), std::move(tracestate));
  co_return std::move(results.front());
}

boost::asio::awaitable<std::vector<PublishOutcome>> EventPublisher::publish_batch(
    std::vector<messaging::PublishInput> msgs, std::string traceparent, std::string tracestate) {
  // Continue the caller's trace, or start one for this request.
  auto& tracer = observe::Tracer::get();
  const auto caller = observe::from_traceparent(traceparent, tracestate);
  const auto ctx = tracer.child_of(caller);
  observe::Span span(msgs.size() == 1 ? "publish " + msgs.front().channel : std::string("publish"),
                     observe::SpanKind::server, ctx, caller ? caller->span_id : observe::SpanId{});
  if (span.recording()) {
    span.set("messaging.system", std::string("messaging_service"));
    span.set("messaging.operation.type", std::string("send"));
    span.set("messaging.operation.name", std::string("publish"));
    if (msgs.size() == 1) span.set("messaging.destination.name", msgs.front().channel);
    if (msgs.size() != 1) span.set("messaging.batch.message_count", static_cast<std::int64_t>(msgs.size()));
  }
  // Stored with each message as "<traceparent>[ <tracestate>]" (field "t").
  const std::string stored_context =
      observe::to_traceparent(ctx) + (ctx.trace_state.empty() ? std::string() : " " + ctx.trace_state);
  const auto started = std::chrono::steady_clock::now();
  std::vector<PublishOutcome> out(msgs.size());
  InflightSlot slot(inflight_, static_cast<std::uint32_t>(msgs.size()), opts_.max_inflight);
  if (!slot.ok() || !redis_.connected()) {
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      out[i].status = PublishOutcome::Status::unavailable;
      out[i].channel = msgs[i].channel;
      out[i].error = slot.ok() ? "Redis is not reachable" : "too many publishes in flight";
    }
    count(out, started);
    span.set_error(out.front().error);
    span.end();
    co_return out;
  }

  std::vector<Prepared> prepared;
  prepared.reserve(msgs.size());
  // The channel registry lives in another hash slot than the channel's keys, so it is
  // written beside the script (before it, in the same pipeline): a crash in between
  // lists a channel early, never hides a stored one.
  std::vector<redis::Command> cmds;
  std::vector<std::string> registering;
  for (auto& m : msgs) {
    if (!registered_.contains(m.channel) &&
        std::find(registering.begin(), registering.end(), m.channel) == registering.end()) {
      registering.push_back(m.channel);
      cmds.push_back(redis::Command{"ZADD", keys_.channels(), "NX", "0", m.channel});
    }
    prepared.push_back(prepare(std::move(m), stored_context));
  }
  for (auto& p : prepared) cmds.push_back(script_.evalsha(p.call.keys, p.call.args));

  observe::Span persist("persist", observe::SpanKind::client, tracer.child_of(ctx), ctx.span_id);
  if (persist.recording()) {
    persist.set("db.system", std::string("redis"));
    persist.set("db.operation.name", std::string("EVALSHA"));
    persist.set("messaging.batch.message_count", static_cast<std::int64_t>(prepared.size()));
  }
  auto results = co_await redis_.exec_many(std::move(cmds));
  const std::size_t base = registering.size();
  bool registry_ok = true;
  for (std::size_t i = 0; i < base; ++i) registry_ok = registry_ok && results[i] && !results[i]->is_error();

  // Calls answered NOSCRIPT (script cache flushed, Redis restarted) are sent again whole.
  std::vector<std::size_t> again;
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    if (redis::is_noscript(results[base + i])) again.push_back(i);
  }
  if (!again.empty()) {
    std::vector<redis::Command> evals;
    for (auto i : again) evals.push_back(script_.eval(prepared[i].call.keys, prepared[i].call.args));
    auto second = co_await redis_.exec_many(std::move(evals));
    for (std::size_t k = 0; k < again.size(); ++k) results[base + again[k]] = std::move(second[k]);
  }
  for (std::size_t i = 0; i < prepared.size(); ++i) out[i] = finish(prepared[i], results[base + i]);
  std::size_t stored = 0;
  for (const auto& o : out) stored += o.ok() ? 1 : 0;
  if (stored == out.size()) {
    persist.set_ok();
    span.set_ok();
  } else {
    const std::string why = std::to_string(out.size() - stored) + " of " + std::to_string(out.size()) + " not stored";
    persist.set_error(why);
    span.set_error(why);
  }
  persist.end();
  if (out.size() == 1 && out.front().ok()) span.set("messaging.message.id", out.front().id);
  span.end();

  if (registry_ok) {
    if (registered_.size() > kMaxRegistryCache) registered_.clear();
    for (auto& ch : registering) registered_.insert(std::move(ch));
  }
  count(out, started);
  co_return out;
}

void EventPublisher::count(const std::vector<PublishOutcome>& out, std::chrono::steady_clock::time_point started) {
  auto& m = PublishMetrics::get();
  m.duration.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  for (const auto& o : out) {
    switch (o.status) {
      case PublishOutcome::Status::created: {
        auto it = channel_series_.find(o.channel);
        if (it == channel_series_.end()) {
          if (channel_series_.size() > kMaxRegistryCache) channel_series_.clear();
          auto* series = &m.published.Add({{"channel", observe::channel_labels().admit(o.channel)}});
          it = channel_series_.emplace(o.channel, series).first;
        }
        it->second->Increment();
        break;
      }
      case PublishOutcome::Status::duplicate: m.duplicates.Increment(); break;
      case PublishOutcome::Status::unavailable: m.unavailable.Increment(); break;
      case PublishOutcome::Status::failed: m.failed.Increment(); break;
    }
  }
}

}  // namespace ms::publish
