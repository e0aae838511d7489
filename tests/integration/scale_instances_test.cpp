// Three service instances on one Redis (docs/scaling.md): consumer groups split
// one subscription's messages between them with no duplicates when nothing fails,
// and a subscription change made through any instance holds on all of them at once
// (the control channel, docs/redis-keys.md).
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "support/delivery_harness.h"
#include "support/prometheus_text.h"
#include "support/webhook_receiver.h"

namespace ms::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

ServiceOptions instance_options(const std::string& instance_id) {
  ServiceOptions o;
  o.args = {"--instance-id", instance_id};
  o.wait_ready = true;
  return o;
}

// Three instances, ready, on one redis-server; clients in the same order.
struct ThreeInstances {
  static constexpr std::array<const char*, 3> kIds{"scale-a", "scale-b", "scale-c"};
  RedisServer redis;
  std::vector<std::unique_ptr<ServiceProcess>> svc;
  std::vector<HttpClient> api;

  ThreeInstances() {
    redis.start();
    for (const char* id : kIds) {
      svc.push_back(std::make_unique<ServiceProcess>(redis.url(), instance_options(id)));
      svc.back()->start();
      api.push_back(svc.back()->client());
    }
  }
};

// This instance's messaging_deliveries_total{subscription=<sub>,outcome="success"}:
// the deliveries it made itself (the counters are per process).
double successes_of(HttpClient& api, const std::string& sub) {
  auto r = api.get("/metrics");
  if (r.status != 200) throw std::runtime_error("GET /metrics answered " + std::to_string(r.status));
  return parse_prometheus_text(r.body).sum("messaging_deliveries_total", {{"subscription", sub}, {"outcome", "success"}});
}

std::map<std::string, int> times_received(const WebhookReceiver& hook) {
  std::map<std::string, int> times;
  for (const auto& id : received_ids(hook)) ++times[id];
  return times;
}

std::size_t duplicates(const std::map<std::string, int>& times) {
  std::size_t n = 0;
  for (const auto& [id, t] : times) n += t > 1 ? 1 : 0;
  return n;
}

// Names of the consumers in group `group` of ms:{<channel>}:log.
std::set<std::string> consumer_names(RedisServer& redis, const std::string& channel, const std::string& group) {
  auto consumers = redis.command({"XINFO", "CONSUMERS", "ms:{" + channel + "}:log", group});
  std::set<std::string> names;
  for (const auto& c : consumers.elements) {
    for (std::size_t i = 0; i + 1 < c.elements.size(); i += 2) {
      if (c.elements[i].str == "name") names.insert(c.elements[i + 1].str);
    }
  }
  return names;
}

TEST(ScaleInstances, ThreeInstancesShareTenThousandMessagesWithoutDuplicates) {
  constexpr std::size_t kMessages = 10000;
  constexpr std::size_t kBatch = 500;
  ThreeInstances s;
  WebhookReceiver hook;
  const std::string ch = "scale.events";
  const std::string id = str_of(create_subscription(s.api[0], {{"channel", ch}, {"endpoint", hook.url("/s")}}), "id");
  for (auto& api : s.api) ASSERT_NO_THROW(get_subscription(api, id));

  // 20 batches of 500, round robin over the three instances.
  std::set<std::string> published;
  const auto t_publish = Clock::now();
  for (std::size_t b = 0; b * kBatch < kMessages; ++b) {
    json::array msgs;
    for (std::size_t i = 0; i < kBatch; ++i) {
      msgs.push_back(json::object{{"channel", ch}, {"data", {{"b", b}, {"i", i}}}});
    }
    for (const auto& r : publish_batch(s.api[b % s.api.size()], msgs)) published.insert(str_of(r, "id"));
  }
  const auto publish_ms = ms_since(t_publish);
  ASSERT_EQ(published.size(), kMessages);

  ASSERT_TRUE(hook.wait_for_count(kMessages, 60s)) << "got " << hook.count() << " of " << kMessages;
  const auto deliver_ms = ms_since(t_publish);
  EXPECT_FALSE(hook.wait_for_count(kMessages + 1, 1s)) << "more requests than messages: duplicates";

  auto times = times_received(hook);
  EXPECT_EQ(duplicates(times), 0u);
  EXPECT_EQ(hook.count(), kMessages);
  std::set<std::string> distinct;
  for (const auto& [m, n] : times) distinct.insert(m);
  EXPECT_EQ(distinct.size(), kMessages);
  EXPECT_EQ(distinct, published);

  // Each instance did part of the work, and together exactly all of it. A counter
  // is bumped once the webhook's answer is in: poll until the sum settles.
  std::vector<double> split(s.api.size(), 0);
  double total = 0;
  poll_until(
      [&] {
        total = 0;
        for (std::size_t i = 0; i < s.api.size(); ++i) total += split[i] = successes_of(s.api[i], id);
        return total >= kMessages;
      },
      10s, 100ms);
  std::printf("[figures] 3 instances, %zu messages: published in %lld ms, all delivered %lld ms after the first "
              "publish; split %s=%.0f %s=%.0f %s=%.0f\n",
              kMessages, publish_ms, deliver_ms, ThreeInstances::kIds[0], split[0], ThreeInstances::kIds[1], split[1],
              ThreeInstances::kIds[2], split[2]);
  for (std::size_t i = 0; i < s.api.size(); ++i) EXPECT_GT(split[i], 0) << ThreeInstances::kIds[i] << " delivered none";
  EXPECT_EQ(total, static_cast<double>(kMessages));
  EXPECT_EQ(consumer_names(s.redis, ch, id), (std::set<std::string>{"scale-a", "scale-b", "scale-c"}));
  EXPECT_TRUE(wait_stat(s.api[2], id, "delivered", kMessages, 5s)) << stat_of(s.api[2], id, "delivered");
}

TEST(ScaleInstances, PauseThroughOneInstanceHoldsDeliveriesOnAllOfThem) {
  ThreeInstances s;
  WebhookReceiver hook;
  const std::string ch = "scale.pause";
  // Created through A.
  const std::string id = str_of(create_subscription(s.api[0], {{"channel", ch}, {"endpoint", hook.url("/p")}}), "id");

  // Warm-up until every instance has delivered for it: all three are serving the
  // subscription, so "nothing delivered while paused" below means something.
  auto publish_some = [&](HttpClient& api, int n) {
    json::array msgs;
    for (int i = 0; i < n; ++i) msgs.push_back(json::object{{"channel", ch}, {"data", i}});
    std::set<std::string> ids;
    for (const auto& r : publish_batch(api, msgs)) ids.insert(str_of(r, "id"));
    return ids;
  };
  std::size_t warm = 0;
  auto all_serving = [&] {
    for (auto& api : s.api) {
      if (successes_of(api, id) == 0) return false;
    }
    return true;
  };
  const auto t_warm = Clock::now();
  while (!all_serving() && ms_since(t_warm) < 15000) {
    warm += publish_some(s.api[warm / 30 % 3], 30).size();
    ASSERT_TRUE(hook.wait_for_count(warm, 10s)) << hook.count() << " of " << warm;
  }
  ASSERT_TRUE(all_serving()) << "not every instance delivered within 15 s (" << warm << " messages)";
  ASSERT_TRUE(poll_until([&] { return stat_of(s.api[0], id, "delivered") == static_cast<std::int64_t>(warm); }, 5s));

  // Paused through B; published through C at once.
  auto paused = patch_subscription(s.api[1], id, {{"state", "paused"}});
  ASSERT_EQ(str_of(paused, "state"), "paused");
  const auto held = publish_some(s.api[2], 30);
  EXPECT_FALSE(hook.wait_for_count(warm + 1, 1s)) << hook.count() - warm << " delivered while paused";
  for (auto& api : s.api) EXPECT_EQ(str_of(get_subscription(api, id), "state"), "paused");

  // Resumed through A: everything held is delivered, once.
  const auto t_resume = Clock::now();
  ASSERT_EQ(str_of(patch_subscription(s.api[0], id, {{"state", "active"}}), "state"), "active");
  ASSERT_TRUE(hook.wait_for_count(warm + held.size(), 10s)) << hook.count() - warm << " of " << held.size();
  std::printf("[figures] warm-up %zu messages; %zu held while paused, delivered %lld ms after the resume\n", warm,
              held.size(), ms_since(t_resume));
  EXPECT_FALSE(hook.wait_for_count(warm + held.size() + 1, 1s)) << "duplicates";
  auto got = received_ids(hook);
  std::set<std::string> after(got.begin() + static_cast<std::ptrdiff_t>(warm), got.end());
  EXPECT_EQ(after, held);
  EXPECT_EQ(duplicates(times_received(hook)), 0u);
}

}  // namespace
}  // namespace ms::test
