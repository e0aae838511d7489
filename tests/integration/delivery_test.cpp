// Webhook delivery, the happy paths (API.md "Webhook delivery", docs/delivery.md):
// the request a subscriber gets (envelope body, Standard Webhooks headers checked
// with an independent HMAC, traceparent, the subscription's own headers), batches,
// fan-out, NATS-style patterns, start latest / earliest, attribute filters, pause
// and resume, and delete stopping deliveries at once. Each test runs its own
// redis-server, service and webhook receiver.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "support/delivery_harness.h"
#include "support/webhook_receiver.h"

namespace ms::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

const std::regex kTraceparent("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$");

// How long "nothing more arrives" is watched: longer than the dispatcher's 1 s sweep.
constexpr auto kQuiet = 1500ms;

json::object sub_body(const std::string& channel, const std::string& endpoint) {
  return {{"channel", channel}, {"endpoint", endpoint}};
}

// ---- one message, every header -------------------------------------------------------

TEST(DeliveryBasics, OnePublishIsDeliveredAsTheEnvelopeWithSignedHeaders) {
  DeliveryStack s;
  WebhookReceiver hook;
  const std::string ch = "orders.created";
  auto body = sub_body(ch, hook.url("/hooks/orders"));
  body["headers"] = {{"x-team", "billing"}, {"X-Env", "test"}};
  auto sub = create_subscription(*s.api, body);
  const std::string id = str_of(sub, "id");
  const std::string secret = str_of(sub, "secret");

  const std::string data = R"({"order_id":42,"total":99.5,"tags":["a","b"],"nested":{"x":null}})";
  auto pub = publish(*s.api, ch,
                     R"({"data":)" + data + R"(,"key":"order-42","attributes":{"type":"order","tenant":"acme"}})");
  ASSERT_TRUE(hook.wait_for_count(1, 5s)) << "no delivery";
  const auto req = hook.requests().at(0);
  SCOPED_TRACE(req.body);

  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/hooks/orders");

  // Body: the envelope as stored plus its position.
  json::value env;
  ASSERT_NO_THROW(env = req.json());
  EXPECT_EQ(str_of(env, "id"), str_of(pub, "id"));
  EXPECT_EQ(str_of(env, "channel"), ch);
  EXPECT_EQ(str_of(env, "position"), str_of(pub, "position"));
  EXPECT_EQ(str_of(env, "published_at"), str_of(pub, "published_at"));
  EXPECT_EQ(env.at("data"), json::parse(data));
  EXPECT_EQ(str_of(env, "key"), "order-42");
  EXPECT_EQ(env.at("attributes"), json::parse(R"({"type":"order","tenant":"acme"})"));

  // Headers.
  EXPECT_EQ(req.header("content-type").rfind("application/json", 0), 0u) << req.header("content-type");
  EXPECT_EQ(req.header("webhook-id"), str_of(pub, "id"));
  const std::string ts = req.header("webhook-timestamp");
  ASSERT_FALSE(ts.empty());
  ASSERT_TRUE(std::all_of(ts.begin(), ts.end(), [](char c) { return c >= '0' && c <= '9'; })) << ts;
  EXPECT_LE(std::llabs(std::stoll(ts) - req.system_ms / 1000), 5) << "webhook-timestamp is Unix seconds of now";
  const std::string sig = req.header("webhook-signature");
  EXPECT_TRUE(signature_matches(sig, secret, req.header("webhook-id"), ts, req.body))
      << "got " << sig << ", expected " << expected_signature(secret, req.header("webhook-id"), ts, req.body);
  EXPECT_TRUE(std::regex_match(req.header("traceparent"), kTraceparent)) << req.header("traceparent");
  EXPECT_EQ(req.header("x-subscription-id"), id);
  EXPECT_EQ(req.header("x-delivery-attempt"), "1");
  EXPECT_EQ(req.header("x-team"), "billing");
  EXPECT_EQ(req.header("x-env"), "test");

  // Once only, and counted.
  EXPECT_TRUE(wait_stat(*s.api, id, "delivered", 1, 5s));
  EXPECT_FALSE(hook.wait_for_count(2, kQuiet)) << "delivered twice";
  auto st = subscription_stats(*s.api, id);
  EXPECT_EQ(st.at("attempts").to_number<std::int64_t>(), 1) << json::serialize(st);
  EXPECT_EQ(st.at("failed_attempts").to_number<std::int64_t>(), 0) << json::serialize(st);
  EXPECT_EQ(st.at("backlog").to_number<std::int64_t>(), 0) << json::serialize(st);
  EXPECT_TRUE(st.at("last_delivery_at").is_string()) << json::serialize(st);
  EXPECT_TRUE(st.at("last_error").is_null()) << json::serialize(st);
}

// API.md: traceparent is "W3C trace context continuing the publisher's trace": a
// publish carrying a traceparent is delivered with the same trace id.
// DISABLED: the dispatcher sends a fresh random trace id (src/subscribe/dispatcher.cpp,
// request_for) and the publisher's traceparent is not kept with the message.
TEST(DeliveryBasics, TraceparentContinuesThePublishersTrace) {
  DeliveryStack s;
  WebhookReceiver hook;
  create_subscription(*s.api, sub_body("traced.events", hook.url("/t")));
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  publish(*s.api, "traced.events", R"({"data":1})", {{"traceparent", "00-" + trace_id + "-00f067aa0ba902b7-01"}});
  ASSERT_TRUE(hook.wait_for_count(1, 5s));
  const std::string tp = hook.requests().at(0).header("traceparent");
  EXPECT_TRUE(std::regex_match(tp, kTraceparent)) << tp;
  EXPECT_EQ(tp.substr(3, 32), trace_id) << tp;
  EXPECT_NE(tp.substr(36, 16), "00f067aa0ba902b7") << "the delivery is a new span of that trace";
}

// ---- volume and fan-out ------------------------------------------------------------------

TEST(DeliveryBasics, BatchOfFiftyIsDeliveredOnceEach) {
  DeliveryStack s;
  WebhookReceiver hook;
  const std::string ch = "batch.events";
  auto sub = create_subscription(*s.api, sub_body(ch, hook.url("/b")));
  json::array msgs;
  for (int i = 0; i < 50; ++i) msgs.push_back(json::object{{"channel", ch}, {"data", {{"i", i}}}});
  auto results = publish_batch(*s.api, msgs);
  std::set<std::string> published;
  for (const auto& r : results) published.insert(str_of(r, "id"));
  ASSERT_EQ(published.size(), 50u);

  ASSERT_TRUE(hook.wait_for_count(50, 8s)) << "got " << hook.count();
  EXPECT_FALSE(hook.wait_for_count(51, 1s)) << "more deliveries than messages";
  auto got = received_ids(hook);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), published);
  EXPECT_EQ(got.size(), 50u);
  // Each body is its own message: data.i matches the published index.
  std::map<std::string, int> index_of;
  for (std::size_t i = 0; i < results.size(); ++i) index_of[str_of(results[i], "id")] = static_cast<int>(i);
  for (const auto& r : hook.requests()) {
    auto env = r.json();
    EXPECT_EQ(env.at("data").at("i").to_number<int>(), index_of[r.header("webhook-id")]);
  }
  EXPECT_TRUE(wait_stat(*s.api, str_of(sub, "id"), "delivered", 50, 5s));
}

TEST(DeliveryBasics, TwoSubscriptionsOnOneChannelEachGetEveryMessage) {
  DeliveryStack s;
  WebhookReceiver hook;
  const std::string ch = "fanout.events";
  auto a = create_subscription(*s.api, sub_body(ch, hook.url("/a")));
  auto b = create_subscription(*s.api, sub_body(ch, hook.url("/b")));
  std::set<std::string> published;
  for (int i = 0; i < 10; ++i) published.insert(str_of(publish(*s.api, ch, R"({"data":)" + std::to_string(i) + "}"), "id"));

  ASSERT_TRUE(wait_for_path_count(hook, "/a", 10, 5s)) << received_count(hook, "/a");
  ASSERT_TRUE(wait_for_path_count(hook, "/b", 10, 5s)) << received_count(hook, "/b");
  EXPECT_FALSE(hook.wait_for_count(21, 1s));
  auto at_a = received_ids(hook, "/a");
  auto at_b = received_ids(hook, "/b");
  EXPECT_EQ(std::set<std::string>(at_a.begin(), at_a.end()), published);
  EXPECT_EQ(std::set<std::string>(at_b.begin(), at_b.end()), published);
  // Each signed with its own secret and naming its own subscription.
  for (const auto& r : hook.requests()) {
    const bool to_a = r.target == "/a";
    const auto& sub = to_a ? a : b;
    EXPECT_EQ(r.header("x-subscription-id"), str_of(sub, "id"));
    EXPECT_TRUE(signature_matches(r.header("webhook-signature"), str_of(sub, "secret"), r.header("webhook-id"),
                                  r.header("webhook-timestamp"), r.body))
        << r.target;
  }
}

TEST(DeliveryBasics, MaxInFlightBoundsConcurrentRequests) {
  DeliveryStack s;
  WebhookReceiver hook;
  constexpr auto kDelay = 200ms;
  hook.set_default_response(webhook_response(200, kDelay));
  const std::string ch = "bounded.events";
  auto body = sub_body(ch, hook.url("/m"));
  body["max_in_flight"] = 3;
  create_subscription(*s.api, body);
  json::array msgs;
  for (int i = 0; i < 12; ++i) msgs.push_back(json::object{{"channel", ch}, {"data", i}});
  publish_batch(*s.api, msgs);
  ASSERT_TRUE(hook.wait_for_count(12, 8s)) << hook.count();
  // A request is in flight at least from its arrival until arrival + delay.
  auto reqs = hook.requests();
  std::size_t most = 0;
  for (const auto& r : reqs) {
    std::size_t at_once = 0;
    for (const auto& o : reqs) {
      if (o.steady_ms <= r.steady_ms && r.steady_ms < o.steady_ms + kDelay.count()) ++at_once;
    }
    most = std::max(most, at_once);
  }
  EXPECT_LE(most, 3u) << "more than max_in_flight requests at once";
  EXPECT_EQ(most, 3u) << "max_in_flight 3 should run 3 at once";
}

// A PATCH applies to the deliveries after it: endpoint, secret, headers and filter.
TEST(DeliveryBasics, PatchAppliesToLaterDeliveries) {
  DeliveryStack s;
  WebhookReceiver hook;
  const std::string ch = "patched.events";
  auto sub = create_subscription(*s.api, sub_body(ch, hook.url("/old")));
  const std::string id = str_of(sub, "id");
  publish(*s.api, ch, R"({"data":1})");
  ASSERT_TRUE(wait_for_path_count(hook, "/old", 1, 5s));

  const std::string secret = "whsec_" + encode_base64(std::string(32, '\x2a'));
  patch_subscription(*s.api, id,
                     {{"endpoint", hook.url("/new")},
                      {"secret", secret},
                      {"headers", {{"x-version", "2"}}},
                      {"filter", {{"attributes", {{"type", "a"}}}}}});
  publish(*s.api, ch, R"({"data":2,"attributes":{"type":"b"}})");
  const auto wanted = str_of(publish(*s.api, ch, R"({"data":3,"attributes":{"type":"a"}})"), "id");
  ASSERT_TRUE(wait_for_path_count(hook, "/new", 1, 5s));
  EXPECT_FALSE(hook.wait_for_count(3, 1s)) << "the filtered message was delivered";
  EXPECT_EQ(received_count(hook, "/old"), 1u) << "delivered to the old endpoint after the PATCH";
  auto r = hook.requests().back();
  EXPECT_EQ(r.header("webhook-id"), wanted);
  EXPECT_EQ(r.header("x-version"), "2");
  EXPECT_TRUE(signature_matches(r.header("webhook-signature"), secret, wanted, r.header("webhook-timestamp"), r.body))
      << "not signed with the new secret";
  EXPECT_TRUE(wait_stat(*s.api, id, "filtered", 1, 3s));
}

// ---- patterns and start -----------------------------------------------------------------

TEST(DeliveryPatterns, StarMatchesOneSegmentAndTailMatchesOneOrMore) {
  DeliveryStack s;
  WebhookReceiver hook;
  // Both made before any of these channels exists: every channel is first seen later.
  create_subscription(*s.api, sub_body("orders.*", hook.url("/star")));
  create_subscription(*s.api, sub_body("orders.>", hook.url("/tail")));
  const auto bare = str_of(publish(*s.api, "orders", R"({"data":"bare"})"), "id");
  const auto deep = str_of(publish(*s.api, "orders.eu.created", R"({"data":"deep"})"), "id");
  const auto one = str_of(publish(*s.api, "orders.created", R"({"data":"one"})"), "id");
  publish(*s.api, "other.created", R"({"data":"other"})");

  ASSERT_TRUE(wait_for_path_count(hook, "/star", 1, 5s));
  ASSERT_TRUE(wait_for_path_count(hook, "/tail", 2, 5s));
  std::this_thread::sleep_for(kQuiet);
  EXPECT_EQ(received_ids(hook, "/star"), std::vector<std::string>{one});
  auto tail = received_ids(hook, "/tail");
  EXPECT_EQ(std::set<std::string>(tail.begin(), tail.end()), (std::set<std::string>{deep, one}));
  EXPECT_EQ(tail.size(), 2u);
  (void)bare;
}

TEST(DeliveryPatterns, ChannelFirstPublishedAfterThePatternSubscriptionIsDeliveredFromItsFirstMessage) {
  DeliveryStack s;
  WebhookReceiver hook;
  create_subscription(*s.api, sub_body("metrics.*", hook.url("/m")));
  ASSERT_EQ(s.redis.command({"ZSCORE", "ms:channels", "metrics.cpu"}).is_nil(), true) << "a new channel";
  // Several messages in a row on the new channel: the first ones are not lost while
  // the dispatcher creates its group.
  std::vector<std::string> published;
  json::array msgs;
  for (int i = 0; i < 5; ++i) msgs.push_back(json::object{{"channel", "metrics.cpu"}, {"data", i}});
  for (const auto& r : publish_batch(*s.api, msgs)) published.push_back(str_of(r, "id"));
  published.push_back(str_of(publish(*s.api, "metrics.mem", R"({"data":1})"), "id"));

  ASSERT_TRUE(hook.wait_for_count(6, 5s)) << hook.count();
  auto got = received_ids(hook);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), std::set<std::string>(published.begin(), published.end()));
}

TEST(DeliveryPatterns, StartEarliestDeliversOlderMessagesAndLatestDoesNot) {
  DeliveryStack s;
  WebhookReceiver hook;
  std::set<std::string> old;
  for (int i = 0; i < 3; ++i) old.insert(str_of(publish(*s.api, "hist.a", R"({"data":"old"})"), "id"));
  old.insert(str_of(publish(*s.api, "hist.b", R"({"data":"old"})"), "id"));

  auto earliest = sub_body("hist.a", hook.url("/earliest"));
  earliest["start"] = "earliest";
  create_subscription(*s.api, earliest);
  auto earliest_pattern = sub_body("hist.*", hook.url("/pattern"));
  earliest_pattern["start"] = "earliest";
  create_subscription(*s.api, earliest_pattern);
  create_subscription(*s.api, sub_body("hist.a", hook.url("/latest")));  // start latest (default)

  ASSERT_TRUE(wait_for_path_count(hook, "/earliest", 3, 5s));
  ASSERT_TRUE(wait_for_path_count(hook, "/pattern", 4, 5s));
  std::this_thread::sleep_for(kQuiet);
  EXPECT_EQ(received_count(hook, "/latest"), 0u) << "start latest must not deliver older messages";
  EXPECT_EQ(received_count(hook, "/earliest"), 3u);
  auto pattern = received_ids(hook, "/pattern");
  EXPECT_EQ(std::set<std::string>(pattern.begin(), pattern.end()), old);

  // A new message reaches all three.
  const auto fresh = str_of(publish(*s.api, "hist.a", R"({"data":"new"})"), "id");
  ASSERT_TRUE(wait_for_path_count(hook, "/latest", 1, 5s));
  EXPECT_EQ(received_ids(hook, "/latest"), std::vector<std::string>{fresh});
  EXPECT_TRUE(wait_for_path_count(hook, "/earliest", 4, 5s));
  EXPECT_TRUE(wait_for_path_count(hook, "/pattern", 5, 5s));
}

TEST(DeliveryPatterns, StartPositionDeliversWhatFollowsIt) {
  DeliveryStack s;
  WebhookReceiver hook;
  const std::string ch = "pos.events";
  std::vector<json::object> pubs;
  for (int i = 0; i < 4; ++i) pubs.push_back(publish(*s.api, ch, R"({"data":)" + std::to_string(i) + "}"));
  auto body = sub_body(ch, hook.url("/p"));
  body["start"] = {{"position", str_of(pubs[1], "position")}};
  create_subscription(*s.api, body);
  ASSERT_TRUE(hook.wait_for_count(2, 5s));
  EXPECT_FALSE(hook.wait_for_count(3, kQuiet));
  auto got = received_ids(hook);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()),
            (std::set<std::string>{str_of(pubs[2], "id"), str_of(pubs[3], "id")}));
}

// ---- filter -----------------------------------------------------------------------------

TEST(DeliveryFilter, OnlyMessagesWithTheAttributesAreDeliveredAndTheOthersCounted) {
  DeliveryStack s;
  WebhookReceiver hook;
  const std::string ch = "mixed.events";
  auto body = sub_body(ch, hook.url("/f"));
  body["filter"] = {{"attributes", {{"type", "order"}}}};
  auto sub = create_subscription(*s.api, body);
  const std::string id = str_of(sub, "id");

  json::array msgs;
  std::set<std::string> wanted;
  const std::vector<std::string> attrs = {
      R"({"type":"order"})",  R"({"type":"refund"})", R"({"type":"order","tenant":"acme"})", R"({})",
      R"({"tenant":"acme"})", R"({"type":"Order"})",  R"({"type":"order"})",                 R"({"kind":"order"})",
      R"({"type":"order "})", R"({"type":"order"})"};
  for (const auto& a : attrs) {
    json::object m{{"channel", ch}, {"data", a}, {"attributes", json::parse(a)}};
    msgs.push_back(m);
  }
  msgs.push_back(json::object{{"channel", ch}, {"data", "no attributes at all"}});
  auto results = publish_batch(*s.api, msgs);
  for (std::size_t i = 0; i < attrs.size(); ++i) {
    auto a = json::parse(attrs[i]).as_object();
    auto* t = a.if_contains("type");
    if (t && t->as_string() == "order") wanted.insert(str_of(results[i], "id"));
  }
  ASSERT_EQ(wanted.size(), 4u);

  ASSERT_TRUE(hook.wait_for_count(4, 5s));
  EXPECT_TRUE(wait_stat(*s.api, id, "filtered", 7, 5s, 300ms)) << "filtered = " << stat_of(*s.api, id, "filtered");
  EXPECT_TRUE(wait_stat(*s.api, id, "delivered", 4, 5s, 300ms));
  EXPECT_FALSE(hook.wait_for_count(5, 500ms));
  auto got = received_ids(hook);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), wanted);
  EXPECT_EQ(stat_of(*s.api, id, "backlog"), 0) << "filtered messages are done, not owed";
}

// ---- pause, resume, delete --------------------------------------------------------------

TEST(DeliveryPause, PausedHoldsMessagesAndResumeDeliversThemAll) {
  DeliveryStack s;
  WebhookReceiver hook;
  const std::string ch = "pause.events";
  auto sub = create_subscription(*s.api, sub_body(ch, hook.url("/p")));
  const std::string id = str_of(sub, "id");
  publish(*s.api, ch, R"({"data":"before"})");
  ASSERT_TRUE(hook.wait_for_count(1, 5s));

  EXPECT_EQ(str_of(patch_subscription(*s.api, id, {{"state", "paused"}}), "state"), "paused");
  std::set<std::string> held;
  for (int i = 0; i < 5; ++i) held.insert(str_of(publish(*s.api, ch, R"({"data":"held"})"), "id"));
  EXPECT_FALSE(hook.wait_for_count(2, kQuiet)) << "delivered while paused";
  EXPECT_EQ(str_of(get_subscription(*s.api, id), "state"), "paused");
  EXPECT_TRUE(wait_stat(*s.api, id, "backlog", 5, 2s)) << "backlog = " << stat_of(*s.api, id, "backlog");

  EXPECT_EQ(str_of(patch_subscription(*s.api, id, {{"state", "active"}}), "state"), "active");
  ASSERT_TRUE(hook.wait_for_count(6, 5s)) << hook.count();
  auto got = received_ids(hook);
  EXPECT_EQ(std::set<std::string>(got.begin() + 1, got.end()), held);
  EXPECT_FALSE(hook.wait_for_count(7, 500ms));
  EXPECT_TRUE(wait_stat(*s.api, id, "backlog", 0, 3s));
}

TEST(DeliveryDelete, DeleteStopsDeliveriesAtOnce) {
  DeliveryStack s;
  WebhookReceiver hook;
  const std::string ch = "delete.events";
  auto sub = create_subscription(*s.api, sub_body(ch, hook.url("/d")));
  const std::string id = str_of(sub, "id");
  publish(*s.api, ch, R"({"data":1})");
  ASSERT_TRUE(hook.wait_for_count(1, 5s));

  ASSERT_EQ(s.api->del("/v1/subscriptions/" + id).status, 204);
  for (int i = 0; i < 3; ++i) publish(*s.api, ch, R"({"data":"after delete"})");
  EXPECT_FALSE(hook.wait_for_count(2, kQuiet)) << "delivered after delete";
  EXPECT_EQ(s.redis.command({"XLEN", "ms:{" + ch + "}:log"}).integer, 4) << "the messages themselves are kept";
}

TEST(DeliveryDelete, InFlightResultIsDroppedAndNoKeyComesBack) {
  DeliveryStack s;
  WebhookReceiver hook;
  hook.set_default_response(webhook_response(500, 800ms));
  const std::string ch = "delete.inflight";
  auto body = sub_body(ch, hook.url("/d"));
  body["retry"] = {{"max_attempts", 2}, {"initial_backoff_ms", 100}};
  auto sub = create_subscription(*s.api, body);
  const std::string id = str_of(sub, "id");
  publish(*s.api, ch, R"({"data":1})");
  ASSERT_TRUE(hook.wait_for_count(1, 5s));  // the request is now held by the receiver

  ASSERT_EQ(s.api->del("/v1/subscriptions/" + id).status, 204);
  // The 500 comes back after the delete: no retry, no dead letter, no stats.
  EXPECT_FALSE(hook.wait_for_count(2, kQuiet)) << "retried after delete";
  EXPECT_EQ(s.redis.command({"EXISTS", "ms:sub:" + id + ":stats"}).integer, 0);
  EXPECT_EQ(s.redis.command({"EXISTS", "ms:sub:" + id + ":dlq"}).integer, 0);
  EXPECT_EQ(s.redis.command({"EXISTS", "ms:{" + ch + "}:retry:" + id}).integer, 0);
  EXPECT_EQ(s.redis.command({"EXISTS", "ms:{" + ch + "}:att:" + id}).integer, 0);
  auto groups = group_names(s.redis, ch);
  EXPECT_EQ(std::find(groups.begin(), groups.end(), id), groups.end());
}

}  // namespace
}  // namespace ms::test
