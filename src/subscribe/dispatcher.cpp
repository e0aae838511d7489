#include "subscribe/dispatcher.h"

#include "base/clock.h"
#include "base/random.h"
#include "base/task_group.h"
#include "messaging/channel_name.h"
#include "messaging/envelope.h"
#include "messaging/stored_entry.h"
#include "observe/log.h"
#include "observe/tracer.h"
#include "redis/script.h"
#include "redis/subscriber.h"
#include "subscribe/delivery_metrics.h"
#include "subscribe/delivery_policy.h"
#include "subscribe/delivery_scripts.h"
#include "subscribe/signer.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/rand.h>

#include <deque>
#include <exception>
#include <map>
#include <random>
#include <unordered_map>
#include <unordered_set>

namespace ms::subscribe {

namespace asio = boost::asio;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

namespace {


bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

const std::string* entry_field(const redis::Reply& fields, std::string_view name) {
  for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    if (fields.elements[i].str == name) return &fields.elements[i + 1].str;
  }
  return nullptr;
}

bool matches(const Subscription& s, std::string_view channel) {
  return s.channel == channel || (messaging::is_pattern(s.channel) && messaging::pattern_matches(s.channel, channel));
}

// One message taken from a channel's log, ready to deliver.
struct Delivery {
  std::string channel;
  std::string entry_id;
  std::uint32_t attempts_before = 0;  // failed attempts already on record
  std::string body;                   // the full envelope
  std::string message_id;
  std::optional<std::string> key;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::int64_t published_at_ms = 0;
  std::optional<observe::SpanContext> publish_span;  // the publish's context (stored "t"), if any
  std::uint64_t sent_generation = 0;  // the subscription's version the last attempt was made with
};

}  // namespace

struct Dispatcher::Impl : std::enable_shared_from_this<Dispatcher::Impl> {
  struct Worker;

  asio::any_io_executor ex;
  redis::Client& redis;
  redis::Subscriber pubsub;
  messaging::RedisKeys keys;
  SubscriptionStore store;
  http::WebhookClient& webhooks;
  DispatcherOptions opts;
  DispatcherCounters& counters;
  redis::Script read_script{kReadScript};
  redis::Script claim_script{kClaimDueScript};
  redis::Script ack_script{kAckScript};
  redis::Script retry_script{kRetryScript};
  redis::Script own_script{kOwnScript};
  redis::Script release_script{kReleaseOwnerScript};
  redis::Script takeover_script{kTakeOverScript};
  std::unordered_set<std::string> taken_over;  // dead instances whose messages this shard handed over
  std::unordered_map<std::string, std::shared_ptr<Worker>> workers;
  asio::steady_timer tick;
  // Every coroutine of the dispatcher, and every Redis write whose answer it still
  // owes (acks, stats): stop() waits for the group to be empty.
  TaskGroup tasks;
  bool stopped = false;
  std::mt19937_64 rng{std::random_device{}()};
  std::shared_ptr<spdlog::logger> log = observe::logger("delivery");

  Impl(asio::any_io_executor e, redis::Client& r, redis::ConnectionOptions ps, messaging::RedisKeys k,
       http::WebhookClient& w, DispatcherOptions o, DispatcherCounters& c)
      : ex(e), redis(r), pubsub(e, std::move(ps)), keys(k), store(r, k), webhooks(w), opts(std::move(o)), counters(c),
        tick(e), tasks(e) {}

  // Runs `task` as one of the dispatcher's tasks; `keep` stays alive until it ends.
  void spawn(asio::awaitable<void> task, std::shared_ptr<void> keep) {
    asio::co_spawn(ex, std::move(task),
                   [keep = std::move(keep), token = tasks.enter(), log = log](std::exception_ptr e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& x) {
                       log->error("delivery task failed: {}", x.what());
                     } catch (...) {
                       log->error("delivery task failed");
                     }
                   });
  }

  // A Redis write whose answer nobody waits for, but stop() does.
  void write(redis::Command cmd) { redis.exec_async(std::move(cmd), [token = tasks.enter()](auto) {}); }

  bool owns(const std::string& id) const {
    return std::hash<std::string>{}(id) % std::max(1u, opts.shard_count) == opts.shard_index;
  }

  double random_unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

  // ---- one subscription ---------------------------------------------------
  struct Worker : std::enable_shared_from_this<Worker> {
    struct ChannelState {
      bool group_ready = false;
      bool dirty = true;
      // Ordered subscriptions: this instance owns the channel now (may claim and
      // read), and has owned it since this worker started.
      bool owner = false;
      bool owned_before = false;
      std::chrono::steady_clock::time_point owned_at{};  // when the owner key was last set
      // The last claim-due pass filled its batch: more may be due. Ordered
      // subscriptions read nothing new until all of it is claimed, so what an
      // earlier holder left comes first.
      bool more_due = false;
    };
    struct KeyQueue {
      std::deque<Delivery> items;
      bool busy = false;
    };

    Impl& d;
    std::shared_ptr<Impl> keep;
    Subscription sub;
    std::map<std::string, ChannelState> channels;
    std::uint32_t in_flight = 0;
    std::unordered_map<std::string, KeyQueue> key_queues;  // ordered: per key, publish order
    std::deque<Delivery> parked;                            // read while paused/disabled
    std::unordered_set<std::string> held;                   // channel + ' ' + entry id, in memory
    asio::steady_timer wake;
    std::unordered_set<asio::steady_timer*> backoffs;  // ordered retries waiting in place
    struct BackoffEntry {  // a timer is in `backoffs` while it is awaited
      std::unordered_set<asio::steady_timer*>& set;
      asio::steady_timer* timer;
      BackoffEntry(std::unordered_set<asio::steady_timer*>& s, asio::steady_timer& t) : set(s), timer(&t) {
        set.insert(timer);
      }
      ~BackoffEntry() { set.erase(timer); }
      BackoffEntry(const BackoffEntry&) = delete;
      BackoffEntry& operator=(const BackoffEntry&) = delete;
    };
    bool stopped = false;   // deleted or cancelled: drop everything, results included
    bool draining = false;  // shutting down: read nothing new, finish what is in flight
    std::int64_t next_due_ms = 0;
    DeliverySeries series;  // removed when the last coroutine using it has ended

    Worker(Impl& impl, Subscription s)
        : d(impl), keep(impl.shared_from_this()), sub(std::move(s)), wake(impl.ex), series(DeliverySeries::add(sub.id)) {}
    ~Worker() { series.remove(); }

    void poke() { wake.cancel(); }

    // Shutting down (drain) or deleted/cancelled (drop): the loop ends, and ordered
    // retries waiting in place stop waiting (their retry is already in Redis).
    void halt(bool drop) {
      if (drop) {
        stopped = true;
      } else {
        draining = true;
        if (in_flight == 0) release_ownership();
      }
      poke();
      for (auto* t : backoffs) t->cancel();
    }

    void add_channel(const std::string& ch) {
      auto [it, inserted] = channels.try_emplace(ch);
      it->second.dirty = true;
    }

    bool active() const { return !stopped && !draining && sub.state == State::active; }

    std::size_t room() const {
      std::size_t max = sub.max_in_flight;
      std::size_t by_flight = in_flight >= max ? 0 : max - in_flight;
      std::size_t cap_held = max * 4;
      std::size_t by_held = held.size() >= cap_held ? 0 : cap_held - held.size();
      return std::min(by_flight, by_held);
    }

    std::int64_t lease_due(std::int64_t now) const {
      return now + static_cast<std::int64_t>(sub.timeout_ms) + d.opts.lease.count();
    }

    asio::awaitable<void> run() {
      auto self = shared_from_this();
      while (!stopped && !draining) {
        if (active() && d.redis.connected()) co_await fill();
        if (stopped || draining) break;
        wake.expires_after(d.opts.retry_poll_interval);
        co_await wake.async_wait(kUseTuple);
      }
    }

    asio::awaitable<void> fill() {
      for (auto& [ch, st] : channels) {
        if (st.group_ready || stopped) continue;
        std::string name = ch;
        auto e = co_await d.store.ensure_group(sub, std::move(name));
        st.group_ready = e.empty();
        if (!e.empty()) d.log->warn("subscription {}: cannot create group on {}: {}", sub.id, ch, e);
      }
      relaunch_parked();
      if (sub.ordered) {
        // Every wake runs fill() (each finished delivery pokes): the owner key is
        // set again once per poll interval, not per delivery; its TTL is ten of them.
        const auto now_steady = std::chrono::steady_clock::now();
        for (auto& [ch, st] : channels) {
          if (!st.group_ready || !active()) continue;
          if (st.owner && now_steady - st.owned_at < d.opts.retry_poll_interval) continue;
          std::string name = ch;
          st.owner = co_await own(std::move(name), !st.owned_before);
          if (st.owner) st.owned_at = now_steady;
          if (st.owner && !st.owned_before) next_due_ms = 0;  // what the last owner held is due now
          st.owned_before = st.owned_before || st.owner;
        }
      }
      auto now = unix_ms_now();
      if (now >= next_due_ms) {
        next_due_ms = now + d.opts.retry_poll_interval.count();
        for (auto& [ch, st] : channels) {
          if (!st.group_ready || !active() || (sub.ordered && !st.owner)) continue;
          auto n = room();
          if (n == 0) break;
          std::string name = ch;
          // A full batch means more may be due: look again as soon as there is room
          // (each finished delivery pokes), not one poll interval later.
          st.more_due = co_await claim_due(std::move(name), n) == n;
          if (st.more_due) next_due_ms = 0;
        }
      }
      for (auto& [ch, st] : channels) {
        if (!st.dirty || !st.group_ready || !active() || (sub.ordered && (!st.owner || st.more_due))) continue;
        auto n = room();
        if (n == 0) break;
        std::string name = ch;
        auto got = co_await read_new(std::move(name), n);
        if (got < n) st.dirty = false;
      }
    }

    // Ordered: one instance at a time serves a channel (kOwnScript). The owner key
    // outlives a pass many times over, so a live owner keeps it; a dead one's lapses.
    asio::awaitable<bool> own(std::string ch, bool fresh) {
      const auto ttl = std::max<std::int64_t>(d.opts.lease.count(), 10 * d.opts.retry_poll_interval.count());
      std::vector<std::string> ks{d.keys.owner(ch, sub.id), d.keys.log(ch), d.keys.retry(ch, sub.id)};
      std::vector<std::string> args{d.opts.instance_id, std::to_string(ttl), sub.id, fresh ? "1" : "0"};
      auto r = co_await redis::run_script(d.redis, d.own_script, std::move(ks), std::move(args));
      if (!r || r->is_error()) {
        if (r) d.log->warn("subscription {}: ownership of {}: {}", sub.id, ch, r->str);
        co_return false;
      }
      co_return r->integer == 1;
    }

    asio::awaitable<std::size_t> read_new(std::string ch, std::size_t n) {
      auto now = unix_ms_now();
      std::vector<std::string> ks{d.keys.log(ch), d.keys.retry(ch, sub.id), d.keys.reads(ch, sub.id)};
      std::vector<std::string> args{sub.id, d.opts.instance_id, std::to_string(n), std::to_string(lease_due(now))};
      auto r = co_await redis::run_script(d.redis, d.read_script, std::move(ks), std::move(args));
      if (!r || r->is_error()) {
        if (r && r->str.rfind("NOGROUP", 0) == 0) channels[ch].group_ready = false;
        co_return 0;
      }
      std::size_t count = 0;
      for (const auto& entry : r->elements) {
        if (entry.elements.size() != 2) continue;
        ++count;
        take(ch, entry.elements[0].str, entry.elements[1], 0);
      }
      co_return count;
    }

    // Returns how many due entries Redis handed over (held ones included).
    asio::awaitable<std::size_t> claim_due(std::string ch, std::size_t n) {
      auto now = unix_ms_now();
      std::vector<std::string> ks{d.keys.log(ch), d.keys.retry(ch, sub.id), d.keys.attempts(ch, sub.id)};
      std::vector<std::string> args{sub.id, d.opts.instance_id, std::to_string(now), std::to_string(n),
                                    std::to_string(lease_due(now))};
      auto r = co_await redis::run_script(d.redis, d.claim_script, std::move(ks), std::move(args));
      if (!r || r->is_error()) co_return 0;
      for (const auto& item : r->elements) {
        if (item.elements.size() != 3) continue;
        const auto& id = item.elements[0].str;
        if (held.contains(ch + ' ' + id)) continue;  // ours, waiting in memory (ordered): lease renewed
        auto attempts = static_cast<std::uint32_t>(item.elements[2].as_int().value_or(0));
        take(ch, id, item.elements[1], attempts);
      }
      co_return r->elements.size();
    }

    // An entry is ours now: decode it and deliver it (or queue it behind its key).
    void take(const std::string& ch, const std::string& entry_id, const redis::Reply& fields, std::uint32_t attempts) {
      Delivery dv;
      dv.channel = ch;
      dv.entry_id = entry_id;
      dv.attempts_before = attempts;
      auto* payload = entry_field(fields, "e");
      auto* z = entry_field(fields, "z");
      std::optional<messaging::Envelope> env;
      if (payload) {
        auto json = messaging::decode_from_store(*payload, z && *z == "1", d.opts.max_message_bytes * 2 + 65536);
        if (json) {
          dv.body = messaging::with_position(*json, entry_id);
          auto parsed = messaging::parse_envelope(dv.body);
          if (parsed) env = std::move(*parsed);
        }
      }
      if (!env) {
        d.log->error("subscription {}: entry {} of {} is unreadable; acknowledged without delivery", sub.id, entry_id,
                     ch);
        ack(ch, entry_id);
        return;
      }
      dv.message_id = env->id;
      dv.key = env->key;
      dv.attributes = std::move(env->attributes);
      dv.published_at_ms = env->published_at_ms;
      if (auto* t = entry_field(fields, "t")) {  // "<traceparent>[ <tracestate>]"
        const auto space = t->find(' ');
        const std::string_view tp = std::string_view(*t).substr(0, space);
        const std::string_view ts = space == std::string::npos ? std::string_view() : std::string_view(*t).substr(space + 1);
        dv.publish_span = observe::from_traceparent(tp, ts);
      }
      if (attempts > 0 && sub.ack_mode == AckMode::explicit_ack) note_expired_deadline(dv.message_id);
      if (!filter_matches(sub, dv.attributes)) {
        ack(ch, entry_id);
        d.counters.filtered.fetch_add(1, std::memory_order_relaxed);
        stat_incr("filtered");
        return;
      }
      held.insert(ch + ' ' + entry_id);
      if (sub.ordered && dv.key) {
        auto& q = key_queues[*dv.key];
        q.items.push_back(std::move(dv));
        if (!q.busy && active()) {
          q.busy = true;
          launch(q.items.front());
        }
        return;
      }
      if (!active()) {
        parked.push_back(std::move(dv));
        return;
      }
      launch(std::move(dv));
    }

    // Explicit mode: a message taken again while still awaiting its ack (ack and
    // nack both clear that mark) missed its ack deadline — a failed attempt.
    void note_expired_deadline(const std::string& message_id) {
      redis::Command del{"HDEL", d.keys.awaiting(sub.id), message_id};
      d.redis.exec_async(std::move(del), [self = shared_from_this()](Result<redis::Reply> r) {
        if (!r || r->is_error() || r->integer != 1 || self->stopped) return;
        self->stat_incr("failed_attempts");
        self->d.counters.failed_attempts.fetch_add(1, std::memory_order_relaxed);
        self->series.failure->Increment();
        self->record_error(unix_ms_now(), 0, "ack deadline expired");
      });
    }

    void relaunch_parked() {
      if (!active()) return;
      while (!parked.empty()) {
        auto dv = std::move(parked.front());
        parked.pop_front();
        launch(std::move(dv));
      }
      for (auto& [k, q] : key_queues) {
        if (!q.busy && !q.items.empty()) {
          q.busy = true;
          launch(q.items.front());
        }
      }
    }

    void launch(Delivery dv) {
      ++in_flight;
      DeliveryMetrics::get().in_flight.Increment();
      d.spawn(deliver(std::move(dv)), shared_from_this());
    }

    void stat_incr(const char* field) {
      if (stopped) return;
      d.write(redis::Command{"HINCRBY", d.keys.sub_stats(sub.id), field, "1"});
    }

    void ack(const std::string& ch, const std::string& entry_id) {
      auto cmd = d.ack_script.evalsha({d.keys.log(ch), d.keys.retry(ch, sub.id), d.keys.attempts(ch, sub.id)},
                                      {sub.id, entry_id});
      d.redis.exec_async(std::move(cmd), [self = shared_from_this(), ch, entry_id,
                                          token = d.tasks.enter()](Result<redis::Reply> r) {
        if (redis::is_noscript(r)) {
          auto full = self->d.ack_script.eval(
              {self->d.keys.log(ch), self->d.keys.retry(ch, self->sub.id), self->d.keys.attempts(ch, self->sub.id)},
              {self->sub.id, entry_id});
          self->d.write(std::move(full));
        }
      });
    }

    AttemptOutcome outcome_of(const http::WebhookResponse& res) {
      AttemptOutcome o;
      using F = http::WebhookResponse::Failure;
      switch (res.failure) {
        case F::none: {
          o.kind = AttemptOutcome::Kind::response;
          o.status = res.status;
          if (auto h = res.header("webhook-delivery"); h && iequals(*h, "dead-letter")) {
            o.dead_letter_requested = true;
            if (auto reason = res.header("webhook-delivery-reason")) o.dead_letter_reason = std::string(*reason);
          }
          if (auto ra = res.header("retry-after")) o.retry_after = std::string(*ra);
          o.error = "HTTP " + std::to_string(res.status);
          break;
        }
        case F::timeout: o.kind = AttemptOutcome::Kind::timeout; break;
        case F::connect: o.kind = AttemptOutcome::Kind::connect_error; break;
        case F::refused_address: o.kind = AttemptOutcome::Kind::refused_address; break;
        default: o.kind = AttemptOutcome::Kind::other_error; break;
      }
      if (res.failure != F::none) o.error = res.error;
      return o;
    }

    http::WebhookRequest request_for(const Delivery& dv, std::uint32_t attempt, const observe::SpanContext& span) {
      http::WebhookRequest req;
      req.url = sub.endpoint;
      req.timeout = std::chrono::milliseconds(sub.timeout_ms);
      req.body = dv.body;
      auto ts = unix_ms_now() / 1000;
      auto key = secret_key(sub.secret).value_or(std::string{});
      req.headers.reserve(8 + sub.headers.size());
      req.headers.emplace_back("content-type", "application/json");
      req.headers.emplace_back("webhook-id", dv.message_id);
      req.headers.emplace_back("webhook-timestamp", std::to_string(ts));
      req.headers.emplace_back("webhook-signature", sign(key, dv.message_id, ts, req.body));
      // The attempt's own span, a child of the publish: the subscriber continues from it.
      req.headers.emplace_back("traceparent", observe::to_traceparent(span));
      if (!span.trace_state.empty()) req.headers.emplace_back("tracestate", span.trace_state);
      req.headers.emplace_back("x-subscription-id", sub.id);
      req.headers.emplace_back("x-delivery-attempt", std::to_string(attempt));
      for (const auto& h : sub.headers) req.headers.push_back(h);
      return req;
    }

    void record_error(std::int64_t now, int status, const std::string& message) {
      if (stopped) return;
      d.write(redis::Command{"HSET", d.keys.sub_stats(sub.id), "last_error_at", std::to_string(now),
                             "last_error_status", std::to_string(status), "last_error_message", message});
    }

    asio::awaitable<void> deliver(Delivery dv) {
      auto self = shared_from_this();
      std::uint32_t attempt = dv.attempts_before + 1;
      Decision decision;
      if (dv.attempts_before >= sub.retry.max_attempts) {
        // Its attempts were used up while it was away (nacks, expired ack deadlines).
        decision.action = Decision::Action::dead_letter;
        decision.reason = "attempts exhausted (" + std::to_string(dv.attempts_before) + ")";
        co_await carry_out(dv, decision, dv.attempts_before);
        finish(dv, decision);
        co_return;
      }
      auto& metrics = DeliveryMetrics::get();
      for (;;) {
        const auto span_ctx = observe::Tracer::get().child_of(dv.publish_span);
        observe::Span span("deliver " + dv.channel, observe::SpanKind::client, span_ctx, parent_span_id(dv));
        if (span.recording()) describe_attempt(span, dv, attempt);
        auto req = request_for(dv, attempt, span_ctx);
        dv.sent_generation = sub.generation;
        const auto sent = std::chrono::steady_clock::now();
        auto res = co_await d.webhooks.post(std::move(req));
        metrics.attempt_duration.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count());
        if (span.recording()) end_attempt_span(span, res);
        if (stopped) break;
        auto outcome = outcome_of(res);
        auto now = unix_ms_now();
        auto rnd = [this] { return d.random_unit(); };
        decision = decide(sub, attempt, outcome, now, rnd);
        decision.last_status = outcome.kind == AttemptOutcome::Kind::response ? outcome.status : 0;
        count_attempt(outcome, decision, dv, now);
        stat_incr("attempts");
        if (decision.counts_as_failure || decision.action == Decision::Action::disable) {
          if (decision.counts_as_failure) {
            stat_incr("failed_attempts");
            d.counters.failed_attempts.fetch_add(1, std::memory_order_relaxed);
          }
          record_error(now, outcome.kind == AttemptOutcome::Kind::response ? outcome.status : 0, decision.reason);
        }
        if (decision.action == Decision::Action::retry && sub.ordered && dv.key) {
          // Ordered: the message keeps its key and is retried in place; the lease
          // outlives the wait so no other instance takes it meanwhile.
          co_await schedule_retry(dv, decision.due_ms + d.opts.lease.count(), attempt);
          asio::steady_timer t(d.ex);
          t.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(0, decision.due_ms - now)));
          if (stopped || draining) break;
          {
            BackoffEntry entry(backoffs, t);
            co_await t.async_wait(kUseTuple);
          }
          if (!stopped && !draining && !active()) {
            // Paused or disabled during the wait: the message keeps the head of its
            // key's queue (and its lease) and is sent again on resume.
            dv.attempts_before = attempt;
            finish(dv, decision, true);
            co_return;
          }
          if (!active()) break;
          ++attempt;
          continue;
        }
        break;
      }
      if (!stopped) co_await carry_out(dv, decision, attempt);
      finish(dv, decision);
    }

    static observe::SpanId parent_span_id(const Delivery& dv) {
      return dv.publish_span ? dv.publish_span->span_id : observe::SpanId{};
    }

    // OpenTelemetry messaging and HTTP client conventions for one attempt.
    void describe_attempt(observe::Span& span, const Delivery& dv, std::uint32_t attempt) {
      span.set("messaging.system", std::string("messaging_service"));
      span.set("messaging.operation.type", std::string("process"));
      span.set("messaging.operation.name", std::string("deliver"));
      span.set("messaging.destination.name", dv.channel);
      span.set("messaging.message.id", dv.message_id);
      span.set("messaging.consumer.group.name", sub.id);
      span.set("messaging_service.delivery.attempt", static_cast<std::int64_t>(attempt));
      span.set("http.request.method", std::string("POST"));
      span.set("url.full", sub.endpoint);
    }

    static void end_attempt_span(observe::Span& span, const http::WebhookResponse& res) {
      if (res.failure == http::WebhookResponse::Failure::none) {
        span.set("http.response.status_code", static_cast<std::int64_t>(res.status));
        if (res.status >= 200 && res.status < 300) {
          span.set_ok();
        } else {
          span.set("error.type", std::to_string(res.status));
          span.set_error("HTTP " + std::to_string(res.status));
        }
      } else {
        span.set("error.type", res.failure == http::WebhookResponse::Failure::timeout ? std::string("timeout")
                                                                                       : std::string("connection"));
        span.set_error(res.error);
      }
      span.end();
    }

    // messaging_deliveries_total and the end-to-end latency (delivery_metrics.h).
    void count_attempt(const AttemptOutcome& outcome, const Decision& decision, const Delivery& dv, std::int64_t now) {
      if (outcome.kind == AttemptOutcome::Kind::timeout) {
        series.timeout->Increment();
      } else if (decision.action == Decision::Action::ack || decision.action == Decision::Action::await_ack) {
        series.success->Increment();
        if (dv.published_at_ms > 0 && now >= dv.published_at_ms) {
          DeliveryMetrics::get().end_to_end.Observe(static_cast<double>(now - dv.published_at_ms) / 1000.0);
        }
      } else if (!outcome.dead_letter_requested) {
        series.failure->Increment();  // counted as dead_lettered when it reaches the DLQ instead
      }
    }

    asio::awaitable<void> schedule_retry(const Delivery& dv, std::int64_t due_ms, std::uint32_t attempts) {
      std::vector<std::string> ks{d.keys.retry(dv.channel, sub.id), d.keys.attempts(dv.channel, sub.id)};
      std::vector<std::string> args{dv.entry_id, std::to_string(due_ms), std::to_string(attempts)};
      co_await redis::run_script(d.redis, d.retry_script, std::move(ks), std::move(args));
    }

    asio::awaitable<void> carry_out(const Delivery& dv, const Decision& decision, std::uint32_t attempt) {
      auto now = unix_ms_now();
      switch (decision.action) {
        case Decision::Action::ack:
          ack(dv.channel, dv.entry_id);
          stat_incr("delivered");
          d.write(redis::Command{"HSET", d.keys.sub_stats(sub.id), "last_delivery_at", std::to_string(now)});
          d.counters.delivered.fetch_add(1, std::memory_order_relaxed);
          break;
        case Decision::Action::await_ack: {
          // Explicit mode: received; redelivered at the deadline unless acknowledged.
          co_await schedule_retry(dv, decision.due_ms, attempt);
          redis::Command map{"HSET", d.keys.awaiting(sub.id), dv.message_id, dv.channel + " " + dv.entry_id};
          co_await d.redis.exec(std::move(map));
          d.write(redis::Command{"HSET", d.keys.sub_stats(sub.id), "last_delivery_at", std::to_string(now)});
          break;
        }
        case Decision::Action::retry:
          co_await schedule_retry(dv, decision.due_ms, attempt);
          break;
        case Decision::Action::dead_letter: {
          // Into the DLQ first, then acknowledged: a crash in between duplicates, never loses.
          redis::Command add{"XADD",         d.keys.dlq(sub.id),
                             "*",            "message",
                             dv.body,        "message_id",
                             dv.message_id,  "channel",
                             dv.channel,     "entry_id",
                             dv.entry_id,    "attempts",
                             std::to_string(attempt),
                             "last_status",  std::to_string(decision.last_status),
                             "last_error",   decision.reason,
                             "dead_lettered_at", std::to_string(now)};
          auto r = co_await d.redis.exec(std::move(add));
          if (r && !r->is_error()) {
            observe::Span moved("dead_letter " + dv.channel, observe::SpanKind::internal,
                                observe::Tracer::get().child_of(dv.publish_span), parent_span_id(dv));
            moved.set("messaging.message.id", dv.message_id);
            moved.set("messaging.consumer.group.name", sub.id);
            moved.set("messaging_service.dead_letter.reason", decision.reason);
            moved.end();
            ack(dv.channel, dv.entry_id);
            d.counters.dead_lettered.fetch_add(1, std::memory_order_relaxed);
            series.dead_lettered->Increment();
          } else {
            co_await schedule_retry(dv, now + 1000, attempt);  // try again soon
          }
          break;
        }
        case Decision::Action::disable: {
          // Written only onto the version the 410 answered, not what the worker has now.
          const auto stored = co_await disable_stored(dv.sent_generation, decision.reason, now);
          if (stored == WriteBack::superseded) {
            d.log->info("subscription {}: 410 from a version since changed; not disabled", sub.id);
            // The message waits in memory and goes out under the new version, which
            // this worker may not have heard of yet.
            if (sub.generation == dv.sent_generation) d.spawn(d.reload_one(sub.id), d.shared_from_this());
            break;
          }
          d.log->warn("subscription {} disabled: {}", sub.id, decision.reason);
          sub.state = State::disabled;
          sub.disabled_reason = decision.reason;
          sub.updated_at_ms = now;
          ++sub.generation;
          break;
        }
      }
    }

    // The 410 write-back: only onto the version this worker delivered with. If the
    // subscription changed since (a PATCH, say a new endpoint), the change wins and
    // the next reload brings this worker up to date.
    enum class WriteBack { written, superseded, failed };
    asio::awaitable<WriteBack> disable_stored(std::uint64_t seen_generation, std::string reason, std::int64_t now) {
      for (int attempt = 0; attempt < 3 && !stopped; ++attempt) {
        auto got = co_await d.store.get_stored(sub.id);
        if (!got.value) co_return WriteBack::failed;
        if (!*got.value) co_return WriteBack::superseded;  // deleted meanwhile
        Subscription fresh = (*got.value)->sub;
        if (fresh.generation != seen_generation || fresh.state != State::active) co_return WriteBack::superseded;
        fresh.state = State::disabled;
        fresh.disabled_reason = reason;
        fresh.updated_at_ms = now;
        ++fresh.generation;
        auto written = co_await d.store.replace(fresh, std::move((*got.value)->raw));
        if (!written.value) co_return WriteBack::failed;
        if (*written.value) co_return WriteBack::written;
      }
      co_return WriteBack::failed;
    }

    // keep: the message stays held in memory, to be sent again when the subscription is active.
    void finish(const Delivery& dv, const Decision& decision, bool keep = false) {
      --in_flight;
      DeliveryMetrics::get().in_flight.Decrement();
      bool keep_in_memory = (keep || decision.action == Decision::Action::disable) && !stopped;
      if (!keep_in_memory) held.erase(dv.channel + ' ' + dv.entry_id);
      if (sub.ordered && dv.key) {
        auto it = key_queues.find(*dv.key);
        if (it != key_queues.end()) {
          auto& q = it->second;
          q.busy = false;
          if (keep_in_memory && !q.items.empty()) q.items.front().attempts_before = dv.attempts_before;
          if (!keep_in_memory && !q.items.empty()) q.items.pop_front();
          if (q.items.empty()) {
            key_queues.erase(it);
          } else if (active()) {
            q.busy = true;
            launch(q.items.front());
          }
        }
      } else if (keep_in_memory) {
        parked.push_back(dv);
      }
      if (draining && in_flight == 0) release_ownership();
      poke();
    }

    // Shutting down with nothing in flight: hand the ordered channels this instance
    // serves to the others now, rather than when the owner keys lapse.
    void release_ownership() {
      if (!sub.ordered) return;
      for (auto& [ch, st] : channels) {
        if (!st.owner) continue;
        st.owner = false;
        d.write(d.release_script.eval({d.keys.owner(ch, sub.id)}, {d.opts.instance_id}));
      }
    }
  };

  // ---- the dispatcher -----------------------------------------------------
  // Only the mirrors of channels a local subscription matches are listened to: an
  // exact channel is SUBSCRIBEd, a pattern PSUBSCRIBEd as a glob ("orders.*" and
  // "orders.>" both as "ms:orders.*", a superset that matches() narrows down).
  // Channel names hold no glob characters, so the translation is exact enough.
  std::unordered_map<std::string, int> interest;  // "c:<channel>" / "p:<glob>" → subscriptions

  void listen(const std::string& channel, int delta) {
    bool pattern = messaging::is_pattern(channel);
    std::string name = keys.prefix();
    if (pattern) {
      std::size_t i = 0;
      while (i <= channel.size()) {
        auto j = channel.find('.', i);
        if (j == std::string::npos) j = channel.size();
        auto seg = std::string_view(channel).substr(i, j - i);
        name += (seg == "*" || seg == ">") ? std::string("*") : std::string(seg);
        if (j < channel.size()) name += '.';
        i = j + 1;
      }
    } else {
      name += channel;
    }
    auto key = (pattern ? "p:" : "c:") + name;
    int& n = interest[key];
    int before = n;
    n += delta;
    if (before == 0 && n > 0) {
      pattern ? pubsub.psubscribe(name) : pubsub.subscribe(name);
    } else if (before > 0 && n <= 0) {
      pattern ? pubsub.punsubscribe(name) : pubsub.unsubscribe(name);
      interest.erase(key);
    }
  }

  void upsert(Subscription s) {
    if (stopped || !owns(s.id)) return;
    auto it = workers.find(s.id);
    if (it == workers.end()) {
      auto w = std::make_shared<Worker>(*this, s);
      if (!messaging::is_pattern(s.channel)) w->add_channel(s.channel);
      listen(s.channel, +1);
      workers.emplace(s.id, w);
      spawn(w->run(), w);
      log->info("subscription {} on {} served by this shard", s.id, s.channel);
      return;
    }
    auto& w = *it->second;
    if (s.generation != w.sub.generation || s.state != w.sub.state) {
      w.sub = std::move(s);
      w.poke();
    }
  }

  void drop(const std::string& id) {
    auto it = workers.find(id);
    if (it == workers.end()) return;
    it->second->halt(true);
    listen(it->second->sub.channel, -1);
    workers.erase(it);
    log->info("subscription {} removed", id);
  }

  asio::awaitable<void> reload_all() {
    auto all = co_await store.load_all();
    if (!all.value) co_return;
    std::unordered_set<std::string> seen;
    bool any_pattern = false;
    for (auto& s : *all.value) {
      seen.insert(s.id);
      any_pattern = any_pattern || messaging::is_pattern(s.channel);
      upsert(std::move(s));
    }
    std::vector<std::string> gone;
    for (auto& [id, w] : workers) {
      if (!seen.contains(id)) gone.push_back(id);
    }
    for (auto& id : gone) drop(id);
    if (any_pattern) {
      redis::Command cmd{"ZRANGE", keys.channels(), "0", "-1"};
      auto chans = co_await redis.exec(std::move(cmd));
      if (chans && chans->is_array()) {
        for (const auto& c : chans->elements) notify(c.str, false);
      }
    }
  }

  asio::awaitable<void> reload_one(std::string id) {
    auto one = co_await store.get(id);
    if (!one.value) co_return;
    if (!*one.value) {
      drop(id);
      co_return;
    }
    bool pattern = messaging::is_pattern((*one.value)->channel);
    upsert(std::move(**one.value));
    if (pattern) co_await reload_all();  // learn its existing channels
  }

  void notify(const std::string& channel, bool wake) {
    for (auto& [id, w] : workers) {
      if (!matches(w->sub, channel)) continue;
      w->add_channel(channel);
      if (wake) w->poke();
    }
  }

  void on_message(const redis::PubSubMessage& m) {
    if (stopped) return;
    if (m.channel == keys.control()) {
      auto space = m.payload.find(' ');
      if (space == std::string::npos) return;
      spawn(reload_one(m.payload.substr(space + 1)), shared_from_this());
      return;
    }
    const auto& p = keys.prefix();
    if (m.channel.size() <= p.size() || m.channel.compare(0, p.size(), p) != 0) return;
    notify(m.channel.substr(p.size()), true);
  }

  // ---- heartbeats and takeover ---------------------------------------------
  // Each instance heartbeats in ms:instances (score = Unix ms) from its first
  // shard. Every shard looks for instances silent for instance_timeout and makes
  // the messages they held for its subscriptions due now (kTakeOverScript); the
  // claim-due pass then takes them over, instead of their leases running out
  // (timeout_ms + lease). Ordered subscriptions are left to their owner keys,
  // which re-rank in log order on takeover.
  asio::awaitable<void> heartbeat_and_take_over() {
    const auto now = unix_ms_now();
    // Every shard beats (the same member), so none reads before the instance is known.
    redis::Command beat{"ZADD", keys.instances(), std::to_string(now), opts.instance_id};
    co_await redis.exec(std::move(beat));
    if (opts.shard_index == 0) {
      // Forget instances silent for a day (default ids are new on every start).
      redis::Command prune{"ZREMRANGEBYSCORE", keys.instances(), "-inf", std::to_string(now - 86400000)};
      co_await redis.exec(std::move(prune));
    }
    redis::Command find{"ZRANGEBYSCORE", keys.instances(), "-inf",
                        "(" + std::to_string(now - opts.instance_timeout.count())};
    auto dead = co_await redis.exec(std::move(find));
    if (!dead || !dead->is_array()) co_return;
    // One back from the dead (a long pause, a partition) may die again later.
    std::unordered_set<std::string> silent;
    for (const auto& d : dead->elements) silent.insert(d.str);
    std::erase_if(taken_over, [&](const std::string& who) { return !silent.contains(who); });
    for (const auto& d : dead->elements) {
      const std::string& who = d.str;
      if (who == opts.instance_id || taken_over.contains(who)) continue;
      bool complete = true;
      std::int64_t moved = 0;
      // A snapshot: workers and their channels may change while we wait on Redis.
      std::vector<std::pair<std::shared_ptr<Worker>, std::vector<std::string>>> todo;
      for (auto& [id, w] : workers) {
        if (w->sub.ordered) continue;
        std::vector<std::string> chans;
        for (auto& [ch, st] : w->channels) {
          if (st.group_ready) chans.push_back(ch);
        }
        todo.emplace_back(w, std::move(chans));
      }
      for (auto& [w, chans] : todo) {
        const std::string id = w->sub.id;
        for (const auto& ch : chans) {
          std::vector<std::string> ks{keys.log(ch), keys.retry(ch, id)};
          std::vector<std::string> args{id, who, std::to_string(now), "1000"};
          auto r = co_await redis::run_script(redis, takeover_script, std::move(ks), std::move(args));
          if (!r || r->is_error() || r->elements.size() != 2) {
            complete = false;
            continue;
          }
          const auto seen = r->elements[0].as_int().value_or(0);
          moved += r->elements[1].as_int().value_or(0);
          if (seen >= 1000) complete = false;  // more than one pass' worth: again next time
          if (r->elements[1].as_int().value_or(0) > 0) w->poke();
        }
      }
      if (moved > 0) log->warn("instance {} silent for {} ms: {} messages it held taken over", who,
                               opts.instance_timeout.count(), moved);
      if (complete) taken_over.insert(who);
    }
  }

  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    // The first heartbeat before the first subscription is served: an instance
    // that dies holding messages is always one the others can see go silent.
    while (!stopped && !redis.connected()) {
      tick.expires_after(std::chrono::milliseconds(20));
      co_await tick.async_wait(kUseTuple);
    }
    if (!stopped) co_await heartbeat_and_take_over();
    auto last_reload = std::chrono::steady_clock::now() - opts.reload_interval;
    auto last_beat = std::chrono::steady_clock::now();
    while (!stopped) {
      auto now = std::chrono::steady_clock::now();
      if (redis.connected() && now - last_reload >= opts.reload_interval) {
        last_reload = now;
        co_await reload_all();
      }
      if (redis.connected() && now - last_beat >= opts.heartbeat_interval) {
        last_beat = now;
        co_await heartbeat_and_take_over();
      }
      // The sweep: what a lost notification would otherwise leave unread.
      for (auto& [id, w] : workers) {
        for (auto& [ch, st] : w->channels) st.dirty = true;
        w->poke();
      }
      tick.expires_after(opts.sweep_interval);
      co_await tick.async_wait(kUseTuple);
    }
  }
};

Dispatcher::Dispatcher(asio::any_io_executor ex, redis::Client& redis, redis::ConnectionOptions pubsub,
                       messaging::RedisKeys keys, http::WebhookClient& webhooks, DispatcherOptions options,
                       DispatcherCounters& counters)
    : impl_(std::make_shared<Impl>(ex, redis, std::move(pubsub), std::move(keys), webhooks, std::move(options),
                                   counters)) {}

Dispatcher::~Dispatcher() {
  cancel();
  impl_->workers.clear();  // a worker keeps the Impl alive (Worker::keep); tasks still suspended keep theirs
}

void Dispatcher::start() {
  // Weak: the subscriber is the Impl's own member, a strong capture would be a cycle.
  std::weak_ptr<Impl> weak = impl_;
  impl_->pubsub.on_message([weak](const redis::PubSubMessage& m) {
    if (auto impl = weak.lock()) impl->on_message(m);
  });
  impl_->pubsub.subscribe(impl_->keys.control());  // mirrors are subscribed per subscription (listen)
  impl_->pubsub.on_connect([weak] {
    // Back after a disconnect: reload everything and read every channel again.
    if (auto impl = weak.lock(); impl && !impl->stopped) impl->spawn(impl->reload_all(), impl);
  });
  impl_->pubsub.start();
  impl_->spawn(impl_->loop(), impl_);
}

void Dispatcher::stop(std::function<void()> done) {
  auto& i = *impl_;
  if (!i.stopped) {
    i.stopped = true;
    i.pubsub.stop();
    i.tick.cancel();
    for (auto& [id, w] : i.workers) w->halt(false);  // in-flight deliveries still finish and acknowledge
  }
  std::weak_ptr<Impl> weak = impl_;
  i.tasks.on_empty([weak, done = std::move(done)] {
    auto impl = weak.lock();
    if (!impl) {
      if (done) done();
      return;
    }
    impl->workers.clear();  // every worker has ended
    const bool last = impl->counters.shards_drained.fetch_add(1) + 1 == std::max(1u, impl->opts.shard_count);
    if (!last) {
      if (done) done();
      return;
    }
    // Gone: a heartbeat old enough to be silent lets the others take over at once
    // what this instance read but did not deliver (still leased, nothing dropped).
    const auto silent_since = unix_ms_now() - impl->opts.instance_timeout.count() - 1;
    redis::Command gone{"ZADD", impl->keys.instances(), std::to_string(silent_since), impl->opts.instance_id};
    impl->redis.exec_async(std::move(gone), [done](Result<redis::Reply>) {
      if (done) done();
    });
  });
}

void Dispatcher::cancel() {
  stop({});
  for (auto& [id, w] : impl_->workers) w->halt(true);
}

}  // namespace ms::subscribe
