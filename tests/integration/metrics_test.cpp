// Issue "Observability": GET /metrics as Prometheus scrapes it — a valid
// exposition (checked by a strict parser, tests/support/prometheus_text.h), the
// contract's metrics moving by the right amounts, agreement with the API's
// subscription stats, the channel label cap, and the metrics key.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include <boost/json.hpp>

#include "support/delivery_harness.h"
#include "support/prometheus_text.h"

namespace ms::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

PromExposition scrape(HttpClient& api, const HttpHeaders& headers = {}) {
  auto r = api.get("/metrics", headers);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.header("content-type").find("text/plain"), std::string::npos);
  return parse_prometheus_text(r.body);  // throws (fails the test) on an invalid exposition
}

// Polls the exposition until `pred` holds (deliveries count as their webhook answers, a moment later).
bool scrape_until(HttpClient& api, const std::function<bool(const PromExposition&)>& pred,
                  std::chrono::milliseconds timeout = 10s) {
  return poll_until([&] { return pred(scrape(api)); }, timeout, 50ms);
}

TEST(Metrics, TheExpositionIsValidAndNamesEveryContractMetric) {
  DeliveryStack s;
  WebhookReceiver hook;
  create_subscription(*s.api, {{"channel", "orders.created"}, {"endpoint", hook.url("/h")}});
  publish(*s.api, "orders.created", R"({"data":1})");
  ASSERT_TRUE(hook.wait_for_count(1, 10s));
  auto m = scrape(*s.api);
  for (const char* family : {"messaging_messages_published_total", "messaging_publish_duration_seconds",
                             "messaging_deliveries_total", "messaging_delivery_duration_seconds",
                             "messaging_end_to_end_latency_seconds", "messaging_subscription_backlog",
                             "messaging_dead_letters", "messaging_redis_up", "messaging_redis_command_duration_seconds",
                             "messaging_webhook_connections", "messaging_http_requests_total",
                             "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                             "process_start_time_seconds"}) {
    EXPECT_TRUE(m.types.count(family)) << family;
  }
  EXPECT_EQ(m.types.at("messaging_publish_duration_seconds"), "histogram");
  EXPECT_EQ(m.types.at("messaging_deliveries_total"), "counter");
  EXPECT_EQ(m.value("messaging_redis_up"), 1.0);
  EXPECT_GT(*m.value("process_resident_memory_bytes"), 1e6);
  EXPECT_GT(*m.value("process_open_fds"), 3.0);
  // Sub-millisecond to multi-second buckets.
  EXPECT_TRUE(m.value("messaging_publish_duration_seconds_bucket", {{"le", "0.0001"}}));
  EXPECT_TRUE(m.value("messaging_publish_duration_seconds_bucket", {{"le", "30"}}));
}

TEST(Metrics, PublishAndDeliveryCountersMoveByTheRightAmountsAndAgreeWithStats) {
  DeliveryStack s;
  WebhookReceiver hook;
  auto sub = create_subscription(*s.api, {{"channel", "orders.created"}, {"endpoint", hook.url("/h")}});
  const std::string id = str_of(sub, "id");
  auto before = scrape(*s.api);
  const double pub0 = before.value("messaging_messages_published_total", {{"channel", "orders.created"}}).value_or(0);
  const double dur0 = before.sum("messaging_publish_duration_seconds_count");
  constexpr int kSingle = 7;
  for (int i = 0; i < kSingle; ++i) publish(*s.api, "orders.created", R"({"data":1})");
  json::array batch;
  for (int i = 0; i < 5; ++i) batch.push_back(json::object{{"channel", "orders.created"}, {"data", i}});
  publish_batch(*s.api, batch);
  constexpr int kTotal = kSingle + 5;
  ASSERT_TRUE(hook.wait_for_count(kTotal, 10s));
  ASSERT_TRUE(wait_stat(*s.api, id, "delivered", kTotal, 10s));
  const std::map<std::string, std::string> success{{"subscription", id}, {"outcome", "success"}};
  ASSERT_TRUE(scrape_until(*s.api, [&](const PromExposition& m) {
    return m.value("messaging_deliveries_total", success).value_or(0) == kTotal;
  }));
  auto m = scrape(*s.api);
  EXPECT_EQ(m.value("messaging_messages_published_total", {{"channel", "orders.created"}}).value_or(0) - pub0, kTotal);
  EXPECT_EQ(m.sum("messaging_publish_duration_seconds_count") - dur0, kSingle + 1) << "one per request";
  EXPECT_EQ(m.value("messaging_deliveries_total", {{"subscription", id}, {"outcome", "failure"}}), 0.0);
  EXPECT_GE(m.sum("messaging_delivery_duration_seconds_count"), kTotal);
  EXPECT_GE(m.sum("messaging_end_to_end_latency_seconds_count"), kTotal);
  // The same figures as the API's stats.
  auto st = subscription_stats(*s.api, id);
  EXPECT_EQ(m.value("messaging_deliveries_total", success), st.at("delivered").to_number<double>());
  EXPECT_EQ(m.value("messaging_subscription_backlog", {{"subscription", id}}), st.at("backlog").to_number<double>());
  EXPECT_EQ(m.value("messaging_dead_letters", {{"subscription", id}}), 0.0);
}

TEST(Metrics, FailuresAndDeadLettersAreCountedAndTheGaugesFollowTheDlq) {
  DeliveryStack s;
  WebhookReceiver hook;
  WebhookResponse fail;
  fail.status = 500;
  hook.set_default_response(fail);
  auto sub = create_subscription(
      *s.api, {{"channel", "orders.created"},
               {"endpoint", hook.url("/h")},
               {"retry", json::object{{"max_attempts", 3}, {"initial_backoff_ms", 10}, {"max_backoff_ms", 20}}}});
  const std::string id = str_of(sub, "id");
  publish(*s.api, "orders.created", R"({"data":1})");
  publish(*s.api, "orders.created", R"({"data":2})");
  ASSERT_TRUE(wait_stat(*s.api, id, "dead_lettered", 2, 10s));
  ASSERT_TRUE(scrape_until(*s.api, [&](const PromExposition& m) {
    return m.value("messaging_deliveries_total", {{"subscription", id}, {"outcome", "dead_lettered"}}) == 2.0;
  }));
  auto m = scrape(*s.api);
  EXPECT_EQ(m.value("messaging_deliveries_total", {{"subscription", id}, {"outcome", "failure"}}), 6.0);
  EXPECT_EQ(m.value("messaging_deliveries_total", {{"subscription", id}, {"outcome", "success"}}), 0.0);
  EXPECT_EQ(m.value("messaging_dead_letters", {{"subscription", id}}), 2.0);
  EXPECT_EQ(subscription_stats(*s.api, id).at("failed_attempts").to_number<double>(), 6.0);
  // Purged: the gauge follows; deleted: the subscription's series go away.
  ASSERT_EQ(s.api->del("/v1/subscriptions/" + id + "/dead-letters").status, 200);
  EXPECT_EQ(scrape(*s.api).value("messaging_dead_letters", {{"subscription", id}}), 0.0);
  ASSERT_EQ(s.api->del("/v1/subscriptions/" + id).status, 204);
  ASSERT_TRUE(scrape_until(*s.api, [&](const PromExposition& e) {
    return !e.value("messaging_dead_letters", {{"subscription", id}}) &&
           !e.value("messaging_deliveries_total", {{"subscription", id}, {"outcome", "failure"}});
  }));
}

TEST(Metrics, ATimeoutIsCountedAsTimeout) {
  DeliveryStack s;
  WebhookReceiver hook;
  WebhookResponse slow;
  slow.delay = 1500ms;
  hook.set_default_response(slow);
  auto sub = create_subscription(*s.api, {{"channel", "orders.created"},
                                          {"endpoint", hook.url("/h")},
                                          {"timeout_ms", 200},
                                          {"retry", json::object{{"max_attempts", 1}}}});
  const std::string id = str_of(sub, "id");
  publish(*s.api, "orders.created", R"({"data":1})");
  ASSERT_TRUE(scrape_until(*s.api, [&](const PromExposition& m) {
    return m.value("messaging_deliveries_total", {{"subscription", id}, {"outcome", "timeout"}}) == 1.0;
  }));
}

TEST(Metrics, DistinctChannelLabelsAreCappedAndTheRestFoldIntoOther) {
  DeliveryStack s({"--metrics-max-channels", "2"});
  for (const char* ch : {"a.one", "a.two", "a.three", "a.four", "a.three"}) publish(*s.api, ch, R"({"data":1})");
  auto m = scrape(*s.api);
  std::size_t labelled = 0;
  double total = 0;
  for (const auto& sample : m.samples) {
    if (sample.name != "messaging_messages_published_total") continue;
    ++labelled;
    total += sample.value;
  }
  EXPECT_EQ(labelled, 3u) << "two channels and \"other\"";
  EXPECT_EQ(total, 5.0);
  EXPECT_EQ(m.value("messaging_messages_published_total", {{"channel", "other"}}), 3.0);
}

TEST(Metrics, AMetricsKeyPutsTheEndpointBehindIt) {
  DeliveryStack s({"--metrics-key", "scrape-secret"});
  auto r = s.api->get("/metrics");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(s.api->get("/metrics", {{"authorization", "Bearer wrong"}}).status, 401);
  scrape(*s.api, {{"authorization", "Bearer scrape-secret"}});
  // The API itself stays open without API keys (loopback), health too.
  EXPECT_EQ(s.api->get("/v1/channels").status, 200);
  EXPECT_EQ(s.api->get("/healthz").status, 200);
}

TEST(Metrics, WithApiKeysButNoMetricsKeyTheEndpointIsOpen) {
  DeliveryStack s({"--api-key", "k:admin"});
  scrape(*s.api);
  EXPECT_EQ(s.api->get("/v1/channels").status, 401);
}

}  // namespace
}  // namespace ms::test
