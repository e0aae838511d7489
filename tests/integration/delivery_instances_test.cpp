// Several service instances on one Redis (docs/delivery.md "Each instance is one
// consumer in every group"), and an instance killed while deliveries are in flight
// (API.md "Guarantee": at-least-once across crashes; leases in docs/redis-keys.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
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

ServiceOptions service_options(std::vector<std::string> args) {
  ServiceOptions o;
  o.args = std::move(args);
  o.wait_ready = true;
  return o;
}

TEST(DeliveryInstances, TwoInstancesDeliverEveryMessageExactlyOnce) {
  RedisServer redis;
  redis.start();
  ServiceProcess a(redis.url(), service_options({"--instance-id", "inst-a"}));
  ServiceProcess b(redis.url(), service_options({"--instance-id", "inst-b"}));
  a.start();
  b.start();
  HttpClient api_a = a.client();
  HttpClient api_b = b.client();
  WebhookReceiver hook;

  const std::string ch = "shared.events";
  auto sub = create_subscription(api_a, {{"channel", ch}, {"endpoint", hook.url("/s")}});
  const std::string id = str_of(sub, "id");
  // Both instances know the subscription before the first publish.
  ASSERT_NO_THROW(get_subscription(api_b, id));

  std::set<std::string> published;
  for (int batch = 0; batch < 20; ++batch) {
    json::array msgs;
    for (int i = 0; i < 100; ++i) msgs.push_back(json::object{{"channel", ch}, {"data", {{"b", batch}, {"i", i}}}});
    for (const auto& r : publish_batch(batch % 2 == 0 ? api_a : api_b, msgs)) published.insert(str_of(r, "id"));
  }
  ASSERT_EQ(published.size(), 2000u);

  ASSERT_TRUE(hook.wait_for_count(2000, 20s)) << "got " << hook.count() << " of 2000";
  EXPECT_FALSE(hook.wait_for_count(2001, 1s)) << "duplicates";
  auto got = received_ids(hook);
  std::map<std::string, int> times;
  for (const auto& g : got) ++times[g];
  std::size_t dupes = 0;
  for (const auto& [m, n] : times) dupes += n > 1 ? 1 : 0;
  EXPECT_EQ(dupes, 0u);
  EXPECT_EQ(got.size(), 2000u);
  std::set<std::string> distinct(got.begin(), got.end());
  EXPECT_EQ(distinct, published) << distinct.size() << " distinct ids received";
  EXPECT_TRUE(wait_stat(api_a, id, "delivered", 2000, 5s)) << stat_of(api_a, id, "delivered");

  // Both instances are consumers of the subscription's group.
  auto consumers = redis.command({"XINFO", "CONSUMERS", "ms:{" + ch + "}:log", id});
  std::set<std::string> names;
  for (const auto& c : consumers.elements) {
    for (std::size_t i = 0; i + 1 < c.elements.size(); i += 2) {
      if (c.elements[i].str == "name") names.insert(c.elements[i + 1].str);
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"inst-a", "inst-b"})) << consumers.debug_string();
}

bool service_has_flag(const std::string& flag) {
  RunResult r = run_service_once({"--help"});
  return (r.stdout_text + r.stderr_text).find(flag) != std::string::npos;
}

TEST(DeliveryCrash, MessagesHeldByAKilledInstanceAreDeliveredAfterRestart) {
  // Leases run timeout_ms + --delivery-lease-ms (default 60 s): too slow for a test
  // without the flag.
  if (!service_has_flag("--delivery-lease-ms")) GTEST_SKIP() << "the service has no --delivery-lease-ms flag";
  RedisServerOptions redis_options;
  redis_options.appendfsync_always = true;
  RedisServer redis(redis_options);
  redis.start();
  ServiceProcess svc(redis.url(), service_options({"--delivery-lease-ms", "500"}));
  svc.start();
  WebhookReceiver hook;
  hook.set_default_response(webhook_response(200, 500ms));
  std::optional<HttpClient> api(svc.client());

  const std::string ch = "crash.events";
  auto sub = create_subscription(*api, {{"channel", ch}, {"endpoint", hook.url("/c")}, {"timeout_ms", 1000}});
  const std::string id = str_of(sub, "id");
  json::array msgs;
  for (int i = 0; i < 20; ++i) msgs.push_back(json::object{{"channel", ch}, {"data", i}});
  std::set<std::string> published;
  for (const auto& r : publish_batch(*api, msgs)) published.insert(str_of(r, "id"));

  ASSERT_TRUE(hook.wait_for_count(1, 5s));  // deliveries are in flight (each takes 500 ms)
  svc.kill9();
  const std::size_t before_restart = hook.count();
  EXPECT_LT(before_restart, 20u) << "everything was delivered before the kill; the test proves nothing";
  api.reset();
  svc.start();
  api.emplace(svc.client());

  auto all_received = [&] {
    auto got = received_ids(hook);
    std::set<std::string> distinct(got.begin(), got.end());
    return std::includes(distinct.begin(), distinct.end(), published.begin(), published.end());
  };
  ASSERT_TRUE(poll_until(all_received, 8s)) << hook.count() << " requests; stats "
                                            << json::serialize(subscription_stats(*api, id));
  // Nothing stays owed.
  EXPECT_TRUE(poll_until([&] { return stat_of(*api, id, "backlog") == 0; }, 5s))
      << json::serialize(subscription_stats(*api, id));
}

// SIGTERM: reads stop, in-flight deliveries finish and are acknowledged
// (docs/delivery.md "instance stops"), so a restart delivers none of them again.
TEST(DeliveryShutdown, SigtermFinishesAndAcknowledgesInFlightDeliveries) {
  RedisServer redis;
  redis.start();
  std::vector<std::string> args;
  if (service_has_flag("--delivery-lease-ms")) args = {"--delivery-lease-ms", "300"};
  ServiceProcess svc(redis.url(), service_options(args));
  svc.start();
  WebhookReceiver hook;
  hook.set_default_response(webhook_response(200, 700ms));
  std::optional<HttpClient> api(svc.client());
  const std::string ch = "shutdown.events";
  auto sub = create_subscription(*api, {{"channel", ch}, {"endpoint", hook.url("/s")}, {"timeout_ms", 2000}});
  const std::string id = str_of(sub, "id");
  json::array msgs;
  for (int i = 0; i < 5; ++i) msgs.push_back(json::object{{"channel", ch}, {"data", i}});
  publish_batch(*api, msgs);
  ASSERT_TRUE(hook.wait_for_count(5, 5s));  // all five in flight

  EXPECT_EQ(svc.terminate(), 0) << "graceful shutdown exits 0";
  api.reset();
  auto pending = redis.command({"XPENDING", "ms:{" + ch + "}:log", id});
  ASSERT_TRUE(pending.is_array() && !pending.elements.empty()) << pending.debug_string();
  EXPECT_EQ(pending.elements[0].integer, 0) << "in-flight deliveries were not acknowledged before exit";
  EXPECT_EQ(redis.command({"ZCARD", "ms:{" + ch + "}:retry:" + id}).integer, 0) << "leases left behind";

  svc.start();
  EXPECT_FALSE(hook.wait_for_count(6, 3s)) << "delivered again after a graceful restart";
}

// The acknowledgement of a delivery is a Redis write nobody in the request path
// waits for; the exit must. Redis holds writes back while the deliveries end, so a
// shutdown that waited only for the webhook calls would close the connection with
// the acks unanswered, and Redis would drop them with the connection.
TEST(DeliveryShutdown, SigtermWaitsForTheAcknowledgementsOfTheLastDeliveries) {
  RedisServer redis;
  redis.start();
  ServiceProcess svc(redis.url(), service_options({}));
  svc.start();
  WebhookReceiver hook;
  hook.set_default_response(webhook_response(200, 500ms));
  std::optional<HttpClient> api(svc.client());
  const std::string ch = "shutdown.acks";
  const std::string id =
      str_of(create_subscription(*api, {{"channel", ch}, {"endpoint", hook.url("/a")}, {"timeout_ms", 3000}}), "id");
  json::array msgs;
  for (int i = 0; i < 3; ++i) msgs.push_back(json::object{{"channel", ch}, {"data", i}});
  publish_batch(*api, msgs);
  ASSERT_TRUE(hook.wait_for_count(3, 5s));  // all three in flight, 500 ms each
  // Well within --redis-timeout-ms (2 s): the service sees a slow Redis, not a dead one.
  ASSERT_EQ(redis.command({"CLIENT", "PAUSE", "1200", "WRITE"}).str, "OK");

  EXPECT_EQ(svc.terminate(), 0) << "graceful shutdown exits 0";
  api.reset();
  auto pending = redis.command({"XPENDING", "ms:{" + ch + "}:log", id});
  ASSERT_TRUE(pending.is_array() && !pending.elements.empty()) << pending.debug_string();
  EXPECT_EQ(pending.elements[0].integer, 0) << "acks sent but not answered before the exit";
  EXPECT_EQ(redis.command({"ZCARD", "ms:{" + ch + "}:retry:" + id}).integer, 0) << "leases left behind";
  EXPECT_EQ(redis.command({"HGET", "ms:sub:" + id + ":stats", "delivered"}).str, "3");
}

}  // namespace
}  // namespace ms::test
