// At-least-once under real faults (API.md "Guarantee"; docs/delivery.md "What
// happens on each failure"): kill -9 of the only instance or of one of two in the
// middle of a burst, a redis-server restart (AOF, appendfsync always) while
// publishes and deliveries flow, SIGTERM with deliveries in flight, and retention
// that would drop messages still owed (stats.at_risk).
//
// Each test prints its figures: published, requests received, distinct, duplicates,
// lost. Duplicates are allowed (at-least-once) and only reported; lost must be 0.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "support/burst.h"
#include "support/delivery_harness.h"
#include "support/webhook_receiver.h"

namespace ms::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

ServiceOptions service_options(std::vector<std::string> args) {
  ServiceOptions o;
  o.args = std::move(args);
  o.wait_ready = true;
  return o;
}

json::array batch_of(const std::string& ch, int batch, int size) {
  json::array msgs;
  for (int i = 0; i < size; ++i) msgs.push_back(json::object{{"channel", ch}, {"data", {{"b", batch}, {"i", i}}}});
  return msgs;
}

// Entries of the group pending for `consumer` (XPENDING summary), 0 when none.
std::int64_t pending_of(RedisServer& redis, const std::string& ch, const std::string& group, const std::string& consumer) {
  auto r = redis.command({"XPENDING", "ms:{" + ch + "}:log", group});
  if (!r.is_array() || r.elements.size() < 4 || !r.elements[3].is_array()) return 0;
  for (const auto& c : r.elements[3].elements) {
    if (c.elements.size() == 2 && c.elements[0].str == consumer) return std::stoll(c.elements[1].str);
  }
  return 0;
}

std::int64_t pending_total(RedisServer& redis, const std::string& ch, const std::string& group) {
  auto r = redis.command({"XPENDING", "ms:{" + ch + "}:log", group});
  if (!r.is_array() || r.elements.empty()) return -1;
  return r.elements[0].integer;
}

// ---- kill -9 of the only instance, then a restart ------------------------------------

void kill_mid_burst_then_restart(bool same_instance_id, const char* name) {
  RedisServerOptions ro;
  ro.appendfsync_always = true;
  RedisServer redis(ro);
  redis.start();
  const std::vector<std::string> common = {"--delivery-lease-ms", "300"};
  auto args = common;
  args.insert(args.end(), {"--instance-id", "crash-1"});
  ServiceProcess first(redis.url(), service_options(args));
  first.start();
  std::optional<ServiceProcess> second;
  WebhookReceiver hook;
  hook.set_default_response(webhook_response(200, 20ms));  // a slow subscriber
  std::optional<HttpClient> api(first.client());

  const std::string ch = "crash.burst";
  const auto id = str_of(create_subscription(*api, {{"channel", ch},
                                                    {"endpoint", hook.url("/c")},
                                                    {"timeout_ms", 1000},
                                                    {"max_in_flight", 4}}),
                         "id");
  std::set<std::string> published;
  int batch = 0;
  for (; batch < 5; ++batch) {
    for (const auto& r : publish_batch(*api, batch_of(ch, batch, 20))) published.insert(str_of(r, "id"));
  }
  ASSERT_TRUE(hook.wait_for_count(30, 5s)) << hook.count();
  first.kill9();
  const auto at_kill = hook.count();
  const auto held = pending_of(redis, ch, id, "crash-1");
  std::printf("[ figures  ] %s: killed after %zu requests, %lld entries held by crash-1\n", name, at_kill,
              static_cast<long long>(held));
  EXPECT_LT(at_kill, published.size()) << "everything was delivered before the kill; the test proves nothing";
  EXPECT_GT(held, 0) << "the killed instance held nothing; the test proves nothing";

  api.reset();
  if (same_instance_id) {
    first.start();
    api.emplace(first.client());
  } else {
    args = common;
    args.insert(args.end(), {"--instance-id", "crash-2"});
    second.emplace(redis.url(), service_options(args));
    second->start();
    api.emplace(second->client());
  }
  for (; batch < 10; ++batch) {
    for (const auto& r : publish_batch(*api, batch_of(ch, batch, 20))) published.insert(str_of(r, "id"));
  }
  ASSERT_EQ(published.size(), 200u);

  const bool ok = all_received(hook, published, 15s);
  auto t = Tally::of(hook, published);
  t.print(name, published.size());
  ASSERT_TRUE(ok) << t.lost.size() << " never delivered, e.g. " << t.lost.front() << "; stats "
                  << json::serialize(subscription_stats(*api, id));
  EXPECT_TRUE(wait_stat(*api, id, "backlog", 0, 5s)) << json::serialize(subscription_stats(*api, id));
  EXPECT_EQ(pending_total(redis, ch, id), 0);
}

TEST(ReliabilityCrash, Kill9MidBurstThenRestartWithTheSameInstanceIdDeliversEverything) {
  kill_mid_burst_then_restart(true, "Kill9MidBurst/same-id");
}

TEST(ReliabilityCrash, Kill9MidBurstThenANewInstanceIdDeliversEverything) {
  kill_mid_burst_then_restart(false, "Kill9MidBurst/new-id");
}

// ---- two instances, one killed -----------------------------------------------------------

TEST(ReliabilityCrash, TwoInstancesKill9OneTheOtherTakesOverItsMessages) {
  RedisServer redis;
  redis.start();
  ServiceProcess a(redis.url(), service_options({"--delivery-lease-ms", "300", "--instance-id", "inst-a"}));
  ServiceProcess b(redis.url(), service_options({"--delivery-lease-ms", "300", "--instance-id", "inst-b"}));
  a.start();
  b.start();
  WebhookReceiver hook;
  hook.set_default_response(webhook_response(200, 20ms));
  std::optional<HttpClient> api_a(a.client());
  HttpClient api_b = b.client();

  const std::string ch = "crash.pair";
  const auto id = str_of(create_subscription(*api_a, {{"channel", ch},
                                                      {"endpoint", hook.url("/p")},
                                                      {"timeout_ms", 1000},
                                                      {"max_in_flight", 4}}),
                         "id");
  ASSERT_NO_THROW(get_subscription(api_b, id));
  std::set<std::string> published;
  int batch = 0;
  for (; batch < 5; ++batch) {
    for (const auto& r : publish_batch(batch % 2 == 0 ? *api_a : api_b, batch_of(ch, batch, 20))) {
      published.insert(str_of(r, "id"));
    }
  }
  ASSERT_TRUE(hook.wait_for_count(30, 5s)) << hook.count();
  // Both instances take part before the kill.
  ASSERT_TRUE(poll_until([&] { return pending_of(redis, ch, id, "inst-a") > 0; }, 3s))
      << redis.command({"XPENDING", "ms:{" + ch + "}:log", id}).debug_string();
  a.kill9();
  api_a.reset();
  const auto at_kill = hook.count();
  const auto held = pending_of(redis, ch, id, "inst-a");
  std::printf("[ figures  ] TwoInstancesKill9One: killed inst-a after %zu requests, %lld entries held by inst-a\n",
              at_kill, static_cast<long long>(held));
  EXPECT_GT(held, 0) << "inst-a held nothing when killed; the test proves nothing";

  for (; batch < 10; ++batch) {
    for (const auto& r : publish_batch(api_b, batch_of(ch, batch, 20))) published.insert(str_of(r, "id"));
  }
  ASSERT_EQ(published.size(), 200u);
  const bool ok = all_received(hook, published, 15s);
  auto t = Tally::of(hook, published);
  t.print("TwoInstancesKill9One", published.size());
  ASSERT_TRUE(ok) << t.lost.size() << " never delivered, e.g. " << t.lost.front() << "; stats "
                  << json::serialize(subscription_stats(api_b, id));
  // inst-a's held entries were claimed by inst-b: nothing stays pending for the dead one.
  EXPECT_TRUE(poll_until([&] { return pending_of(redis, ch, id, "inst-a") == 0; }, 5s))
      << redis.command({"XPENDING", "ms:{" + ch + "}:log", id}).debug_string();
  EXPECT_TRUE(wait_stat(api_b, id, "backlog", 0, 5s)) << json::serialize(subscription_stats(api_b, id));
}

// The fault test (a): kill -9 one of two instances in the middle of a
// 10,000-message burst. The lease stays at its default (60 s): the survivor takes
// the dead one's messages over because it stopped heartbeating
// (--instance-timeout-ms 2000), well before any lease runs out.
TEST(ReliabilityCrash, Kill9OneOfTwoInATenThousandBurstTakenOverByHeartbeat) {
  RedisServer redis;
  redis.start();
  ServiceProcess a(redis.url(), service_options({"--instance-id", "burst-a", "--instance-timeout-ms", "2000"}));
  ServiceProcess b(redis.url(), service_options({"--instance-id", "burst-b", "--instance-timeout-ms", "2000"}));
  a.start();
  b.start();
  WebhookReceiver hook;
  hook.set_default_response(webhook_response(200, 1ms));
  HttpClient api_b = b.client();
  const std::string ch = "crash.burst";
  const auto id = str_of(create_subscription(api_b, {{"channel", ch},
                                                     {"endpoint", hook.url("/b")},
                                                     {"timeout_ms", 2000},
                                                     {"max_in_flight", 32}}),
                         "id");
  {
    HttpClient api_a = a.client();
    ASSERT_NO_THROW(get_subscription(api_a, id));
  }
  BurstPublisher pub;
  std::jthread t([&] { pub.run({&a, &b}, {ch}, 100, 100, 5ms, 60s); });
  // Mid-burst, with both instances delivering, inst-a dies.
  ASSERT_TRUE(poll_until([&] { return hook.count() >= 2000 && pending_of(redis, ch, id, "burst-a") > 0; }, 20s))
      << hook.count() << " requests; " << redis.command({"XPENDING", "ms:{" + ch + "}:log", id}).debug_string();
  a.kill9();
  const auto killed_at = std::chrono::steady_clock::now();
  const auto at_kill = hook.count();
  const auto held = pending_of(redis, ch, id, "burst-a");
  t.join();  // the publisher moves to inst-b for the batches inst-a no longer answers
  const auto published = pub.snapshot();
  ASSERT_FALSE(pub.gave_up) << pub.first_error();
  ASSERT_EQ(published.size(), 10000u);
  const bool ok = all_received(hook, published, 30s);
  const auto took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed_at).count();
  auto tally = Tally::of(hook, published);
  tally.print("Kill9OneOfTwoInATenThousandBurst", published.size());
  std::printf("[ figures  ] Kill9OneOfTwoInATenThousandBurst: inst-a killed after %zu requests holding %lld entries; "
              "everything delivered %lld ms after the kill (lease 60 s, instance timeout 2 s); %d failed publish calls\n",
              at_kill, static_cast<long long>(held), static_cast<long long>(took_ms), pub.failed_calls.load());
  EXPECT_GT(held, 0) << "inst-a held nothing when killed; the test proves nothing";
  ASSERT_TRUE(ok) << tally.lost.size() << " never delivered, e.g. " << tally.lost.front() << "; stats "
                  << json::serialize(subscription_stats(api_b, id));
  EXPECT_TRUE(poll_until([&] { return pending_of(redis, ch, id, "burst-a") == 0; }, 5s));
  EXPECT_TRUE(wait_stat(api_b, id, "backlog", 0, 5s)) << json::serialize(subscription_stats(api_b, id));
}

// The fault test (c): the endpoint is down for 30 s (every connection
// dropped without an answer), then back. Two subscriptions on the channel: one
// whose retry policy outlasts the outage gets everything once the endpoint is
// back; one that gives up after 3 attempts has everything in its dead-letter
// queue. Nothing is missing from either.
TEST(ReliabilityCrash, EndpointDownForThirtySecondsThenBack) {
  DeliveryStack s({"--delivery-lease-ms", "300"});
  WebhookReceiver hook;
  std::atomic<bool> down{true};
  hook.set_handler([&](const RecordedRequest&) {
    WebhookResponse r;
    r.drop_connection = down.load();
    return r;
  });
  const std::string ch = "outage.events";
  const auto patient = str_of(create_subscription(*s.api, {{"channel", ch},
                                                           {"endpoint", hook.url("/patient")},
                                                           {"timeout_ms", 1000},
                                                           {"max_in_flight", 32},
                                                           {"retry", {{"max_attempts", 30},
                                                                      {"initial_backoff_ms", 500},
                                                                      {"max_backoff_ms", 4000},
                                                                      {"multiplier", 2.0}}}}),
                              "id");
  const auto brief = str_of(create_subscription(*s.api, {{"channel", ch},
                                                         {"endpoint", hook.url("/brief")},
                                                         {"timeout_ms", 1000},
                                                         {"max_in_flight", 32},
                                                         {"retry", {{"max_attempts", 3}, {"initial_backoff_ms", 200}}}}),
                            "id");
  const auto t0 = std::chrono::steady_clock::now();
  std::set<std::string> published;
  for (int b = 0; b < 2; ++b) {
    for (const auto& r : publish_batch(*s.api, batch_of(ch, b, 50))) published.insert(str_of(r, "id"));
  }
  std::this_thread::sleep_for(15s);  // half-way through the outage, more arrives
  for (int b = 2; b < 4; ++b) {
    for (const auto& r : publish_batch(*s.api, batch_of(ch, b, 50))) published.insert(str_of(r, "id"));
  }
  ASSERT_EQ(published.size(), 200u);
  std::this_thread::sleep_for(30s - (std::chrono::steady_clock::now() - t0));
  const auto attempts_while_down = hook.count();
  const auto brief_while_down = received_count(hook, "/brief");
  down = false;

  // The patient subscription: every message delivered once the endpoint is back.
  ASSERT_TRUE(poll_until([&] {
    auto ids = received_ids(hook, "/patient");
    std::set<std::string> got(ids.begin(), ids.end());
    return std::includes(got.begin(), got.end(), published.begin(), published.end());
  }, 20s)) << json::serialize(subscription_stats(*s.api, patient));
  EXPECT_TRUE(wait_stat(*s.api, patient, "delivered", 200, 5s)) << json::serialize(subscription_stats(*s.api, patient));
  EXPECT_TRUE(wait_stat(*s.api, patient, "backlog", 0, 5s));
  EXPECT_EQ(stat_of(*s.api, patient, "dead_lettered"), 0);

  // The brief one: every message dead-lettered during the outage, none delivered.
  EXPECT_TRUE(wait_stat(*s.api, brief, "dead_lettered", 200, 5s)) << json::serialize(subscription_stats(*s.api, brief));
  std::set<std::string> dead;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    auto r = s.api->get("/v1/subscriptions/" + brief + "/dead-letters?limit=100" + (after.empty() ? "" : "&after=" + after));
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = r.json();
    for (const auto& d : v.at("dead_letters").as_array()) dead.insert(str_of(d.at("message"), "id"));
    auto* next = v.as_object().if_contains("next");
    if (!next || next->is_null()) break;
    after = std::string(next->as_string());
  }
  EXPECT_EQ(dead, published) << "dead letters and published differ";
  EXPECT_EQ(received_count(hook, "/brief"), brief_while_down) << "the brief subscription was tried again after it gave up";
  EXPECT_EQ(stat_of(*s.api, brief, "delivered"), 0);
  std::printf("[ figures  ] EndpointDownForThirtySeconds: published 200; %zu attempts while down; patient: %lld delivered, "
              "%lld failed attempts; brief: %zu dead letters; lost 0\n",
              attempts_while_down, static_cast<long long>(stat_of(*s.api, patient, "delivered")),
              static_cast<long long>(stat_of(*s.api, patient, "failed_attempts")), dead.size());
}

// ---- redis-server restart during a burst -----------------------------------------------

void redis_restart_mid_burst(bool kill9, const char* name) {
  RedisServerOptions ro;
  ro.appendonly = true;
  ro.appendfsync_always = true;
  RedisServer redis(ro);
  redis.start();
  ServiceProcess svc(redis.url(), service_options({"--delivery-lease-ms", "300"}));
  svc.start();
  WebhookReceiver hook;
  hook.set_default_response(webhook_response(200, 5ms));
  std::optional<HttpClient> api(svc.client());
  const std::string ch = "crash.redis";
  const auto id = str_of(create_subscription(*api, {{"channel", ch},
                                                    {"endpoint", hook.url("/r")},
                                                    {"timeout_ms", 1000},
                                                    {"max_in_flight", 8}}),
                         "id");
  constexpr int kBatches = 15;
  constexpr int kSize = 20;
  BurstPublisher pub;
  std::jthread t([&] { pub.run({&svc}, {ch}, kBatches, kSize, 30ms, 20s); });

  // Half-way through, with deliveries flowing, Redis goes down and comes back.
  const bool midway = poll_until([&] { return pub.batches_done.load() >= kBatches / 2; }, 10s);
  const bool flowing = hook.wait_for_count(1, 5s);
  const auto before = hook.count();
  if (midway && flowing) {
    if (kill9) {
      redis.kill9();
      redis.start();
    } else {
      redis.restart();  // SIGTERM + start, same port and dir
    }
  }
  t.join();
  const auto first_error = pub.first_error();
  ASSERT_TRUE(midway) << "publishing did not get half-way: " << first_error;
  ASSERT_TRUE(flowing) << "nothing was delivered before the restart";
  ASSERT_FALSE(pub.gave_up) << "publishes kept failing after the restart: " << first_error;
  const auto published = pub.snapshot();
  std::printf("[ figures  ] %s: %zu requests before the restart, %d failed publish calls (%d × 503), %d failed items%s%s\n",
              name, before, pub.failed_calls.load(), pub.status_503.load(), pub.failed_items.load(),
              first_error.empty() ? "" : "; first failure: ", first_error.substr(0, 200).c_str());
  EXPECT_LT(before, published.size()) << "everything was delivered before the restart; the test proves nothing";
  ASSERT_EQ(published.size(), static_cast<std::size_t>(kBatches * kSize));

  const bool ok = all_received(hook, published, 15s);
  auto tally = Tally::of(hook, published);
  tally.print(name, published.size());
  api.emplace(svc.client());
  ASSERT_TRUE(ok) << tally.lost.size() << " acknowledged publishes never delivered, e.g. " << tally.lost.front()
                  << "; stats " << json::serialize(subscription_stats(*api, id));
  EXPECT_TRUE(wait_stat(*api, id, "backlog", 0, 5s)) << json::serialize(subscription_stats(*api, id));
}

TEST(ReliabilityCrash, RedisRestartMidBurstDeliversEveryAcknowledgedPublish) {
  redis_restart_mid_burst(false, "RedisRestartMidBurst");
}

// The same with SIGKILL: appendfsync always means every 2xx publish is on disk.
TEST(ReliabilityCrash, RedisKill9MidBurstDeliversEveryAcknowledgedPublish) {
  redis_restart_mid_burst(true, "RedisKill9MidBurst");
}

// ---- SIGTERM with deliveries in flight -------------------------------------------------

TEST(ReliabilityCrash, SigtermFinishesInFlightDeliveriesAndLeavesTheRestForTheNextStart) {
  RedisServer redis;
  redis.start();
  ServiceProcess svc(redis.url(), service_options({"--delivery-lease-ms", "300", "--instance-id", "term-1"}));
  svc.start();
  WebhookReceiver hook;
  hook.set_default_response(webhook_response(200, 700ms));
  std::optional<HttpClient> api(svc.client());
  const std::string ch = "crash.term";
  const auto id = str_of(create_subscription(*api, {{"channel", ch},
                                                    {"endpoint", hook.url("/t")},
                                                    {"timeout_ms", 2000},
                                                    {"max_in_flight", 5}}),
                         "id");
  std::set<std::string> published;
  for (const auto& r : publish_batch(*api, batch_of(ch, 0, 20))) published.insert(str_of(r, "id"));
  ASSERT_TRUE(hook.wait_for_count(5, 5s));  // five in flight, 700 ms each
  std::this_thread::sleep_for(100ms);
  ASSERT_EQ(hook.count(), 5u) << "more than max_in_flight in flight";

  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(svc.terminate(), 0) << "graceful shutdown exits 0";
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  api.reset();
  EXPECT_EQ(hook.count(), 5u) << "new deliveries started while shutting down";
  // The five finished and were acknowledged before the exit.
  EXPECT_EQ(pending_total(redis, ch, id), 0) << redis.command({"XPENDING", "ms:{" + ch + "}:log", id}).debug_string();
  EXPECT_EQ(redis.command({"ZCARD", "ms:{" + ch + "}:retry:" + id}).integer, 0) << "leases left behind";
  auto delivered = redis.command({"HGET", "ms:sub:" + id + ":stats", "delivered"});
  EXPECT_EQ(delivered.str, "5") << delivered.debug_string();
  std::printf("[ figures  ] SigtermInFlight: shutdown took %lld ms with 5 deliveries of 700 ms in flight\n",
              static_cast<long long>(took.count()));

  // The next start delivers the other 15, and none of the first five again.
  svc.start();
  api.emplace(svc.client());
  ASSERT_TRUE(all_received(hook, published, 10s)) << hook.count();
  // Past timeout_ms + lease of anything that could have been left held.
  EXPECT_FALSE(hook.wait_for_count(21, 2500ms)) << "delivered again after a graceful restart";
  auto t = Tally::of(hook, published);
  t.print("SigtermInFlight", published.size());
  EXPECT_EQ(t.duplicated_ids, 0u);
  EXPECT_TRUE(wait_stat(*api, id, "delivered", 20, 3s)) << json::serialize(subscription_stats(*api, id));
}

// ---- retention against what is still owed ----------------------------------------------

TEST(ReliabilityCrash, RetentionThatWouldDropUndeliveredMessagesIsReportedAtRisk) {
  DeliveryStack s({"--retention-max-messages", "100", "--delivery-lease-ms", "300"});
  WebhookReceiver hook;
  const std::string ch = "retention.events";
  const auto paused = str_of(create_subscription(*s.api, {{"channel", ch}, {"endpoint", hook.url("/paused")}}), "id");
  EXPECT_EQ(str_of(patch_subscription(*s.api, paused, {{"state", "paused"}}), "state"), "paused");
  const auto live = str_of(create_subscription(*s.api, {{"channel", ch}, {"endpoint", hook.url("/live")}}), "id");
  EXPECT_EQ(stat_of(*s.api, paused, "at_risk"), 0);

  // In steps the live subscription keeps up with, so only the paused one falls behind
  // (a burst larger than the retention can be trimmed before anyone reads it).
  std::set<std::string> published;
  for (int b = 0; b < 6; ++b) {
    for (const auto& r : publish_batch(*s.api, batch_of(ch, b, 25))) published.insert(str_of(r, "id"));
    ASSERT_TRUE(wait_for_path_count(hook, "/live", published.size(), 5s)) << received_count(hook, "/live");
  }
  ASSERT_EQ(published.size(), 150u);
  EXPECT_TRUE(wait_stat(*s.api, live, "backlog", 0, 5s));
  EXPECT_EQ(received_count(hook, "/paused"), 0u) << "delivered while paused";

  auto st = subscription_stats(*s.api, paused);
  const auto kept = s.redis.command({"XLEN", "ms:{" + ch + "}:log"}).integer;
  std::printf("[ figures  ] Retention: max 100, published 150, log keeps %lld, paused stats %s\n",
              static_cast<long long>(kept), json::serialize(st).c_str());
  ASSERT_TRUE(st.contains("at_risk")) << json::serialize(st);
  EXPECT_GT(st.at("at_risk").to_number<std::int64_t>(), 0) << json::serialize(st);
  // The subscription that kept up owes nothing, so nothing of it is at risk.
  auto live_st = subscription_stats(*s.api, live);
  EXPECT_EQ(live_st.at("at_risk").to_number<std::int64_t>(), 0) << json::serialize(live_st);
}

// "Messages still owed to a subscription are never trimmed silently" (API.md
// "Retention"): owed messages that retention has already dropped must show in
// stats.at_risk (subscription_store.h: "plus any already trimmed unread").
//
// The group is created with a valid entries-read (kCreateGroupScript), so Redis
// keeps its lag exact after MAXLEN trimming; the entries trimmed before the group
// read them are lag - XLEN when its position is before the first entry kept.
TEST(ReliabilityCrash, OwedMessagesAlreadyTrimmedAreCountedAtRisk) {
  DeliveryStack s({"--retention-max-messages", "100", "--delivery-lease-ms", "300"});
  WebhookReceiver hook;
  const std::string ch = "retention.trimmed";
  const auto paused = str_of(create_subscription(*s.api, {{"channel", ch}, {"endpoint", hook.url("/paused")}}), "id");
  patch_subscription(*s.api, paused, {{"state", "paused"}});
  for (int b = 0; b < 6; ++b) publish_batch(*s.api, batch_of(ch, b, 25));
  const auto kept = s.redis.command({"XLEN", "ms:{" + ch + "}:log"}).integer;
  const std::int64_t trimmed = 150 - kept;
  ASSERT_GT(trimmed, 0) << "retention trimmed nothing; the test proves nothing";
  auto st = subscription_stats(*s.api, paused);
  SCOPED_TRACE(json::serialize(st) + " " + s.redis.command({"XINFO", "GROUPS", "ms:{" + ch + "}:log"}).debug_string());
  EXPECT_GE(st.at("at_risk").to_number<std::int64_t>(), trimmed)
      << trimmed << " owed messages are already gone, but at_risk does not count them";
  EXPECT_GE(st.at("backlog").to_number<std::int64_t>() + st.at("at_risk").to_number<std::int64_t>(), 150);
  // The same figure as a metric.
  auto metrics = s.api->get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string series = "messaging_subscription_at_risk{subscription=\"" + paused + "\"} ";
  const auto at = metrics.body.find(series);
  ASSERT_NE(at, std::string::npos) << metrics.body.substr(0, 2000);
  EXPECT_GE(std::stoll(metrics.body.substr(at + series.size())), trimmed);
}

}  // namespace
}  // namespace ms::test
