// The service on a 3-master Redis Cluster (--redis-cluster-nodes), two instances
// sharing it: publish and delivery on channels of every node and through a
// pattern, retries with growing gaps, dead letters (list, replay, purge),
// explicit ack and nack; then faults: slots resharded during a burst, and a
// master killed and restarted during a burst (AOF, appendfsync always). Each
// fault test prints its figures; lost must be 0.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
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
#include "support/redis_cluster.h"
#include "support/webhook_receiver.h"

namespace ms::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// Two instances on the cluster, both ready.
struct ClusterStack {
  RedisCluster cluster;
  std::optional<ServiceProcess> a;
  std::optional<ServiceProcess> b;
  std::optional<HttpClient> api_a;
  std::optional<HttpClient> api_b;

  explicit ClusterStack(RedisClusterOptions options = {}, std::vector<std::string> extra = {}) : cluster(options) {
    cluster.start();
    for (auto* svc : {&a, &b}) {
      ServiceOptions o;
      o.args = {"--redis-cluster-nodes", cluster.seeds(), "--instance-id", svc == &a ? "inst-a" : "inst-b",
                "--delivery-lease-ms", "300"};
      o.args.insert(o.args.end(), extra.begin(), extra.end());
      o.wait_ready = true;
      // --redis-url only lends its credentials in cluster mode; point it at a node anyway.
      svc->emplace(cluster.url(0), o);
      (*svc)->start();
    }
    api_a.emplace(a->client());
    api_b.emplace(b->client());
  }

  // A channel name (with `prefix`) whose keys live on master `node`.
  std::string channel_on(std::size_t node, const std::string& prefix) {
    for (int i = 0; i < 10000; ++i) {
      auto ch = prefix + std::to_string(i);
      if (cluster.node_of_key("ms:{" + ch + "}:log") == node) return ch;
    }
    throw std::runtime_error("no channel for node " + std::to_string(node));
  }
};

std::map<std::string, int> times_received(const WebhookReceiver& hook, const std::string& prefix = "") {
  std::map<std::string, int> times;
  for (const auto& id : received_ids(hook, prefix)) ++times[id];
  return times;
}

TEST(ClusterService, TwoInstancesDeliverEveryMessageOnceOnEveryNode) {
  ClusterStack s;
  WebhookReceiver hook;
  std::vector<std::string> channels;
  for (std::size_t n = 0; n < s.cluster.size(); ++n) channels.push_back(s.channel_on(n, "cl.n" + std::to_string(n) + "x"));
  // One subscription per channel, plus a pattern over all of them.
  std::vector<std::string> subs;
  for (const auto& ch : channels) {
    subs.push_back(str_of(create_subscription(*s.api_a, {{"channel", ch}, {"endpoint", hook.url("/one/" + ch)}}), "id"));
  }
  const auto pattern = str_of(create_subscription(*s.api_b, {{"channel", "cl.*"}, {"endpoint", hook.url("/all")}}), "id");
  for (const auto& id : subs) ASSERT_NO_THROW(get_subscription(*s.api_b, id));

  BurstPublisher pub;
  pub.run({&*s.a, &*s.b}, channels, 10, 60, 0ms, 30s);
  ASSERT_FALSE(pub.gave_up) << pub.first_error();
  const auto published = pub.snapshot();
  ASSERT_EQ(published.size(), 600u);
  EXPECT_EQ(pub.failed_calls.load(), 0) << pub.first_error();

  ASSERT_TRUE(wait_for_path_count(hook, "/one/", 600, 20s)) << received_count(hook, "/one/");
  ASSERT_TRUE(wait_for_path_count(hook, "/all", 600, 20s)) << received_count(hook, "/all");
  std::this_thread::sleep_for(1s);  // anything extra would be a duplicate
  for (const auto* prefix : {"/one/", "/all"}) {
    auto times = times_received(hook, prefix);
    EXPECT_EQ(times.size(), 600u) << prefix;
    std::size_t dup = 0;
    for (const auto& [id, n] : times) dup += n > 1 ? 1 : 0;
    EXPECT_EQ(dup, 0u) << prefix << ": duplicates without any failure";
    for (const auto& id : published) EXPECT_TRUE(times.contains(id)) << prefix << " lost " << id;
  }
  // Each channel's log is on its node, with its 200 messages.
  for (std::size_t n = 0; n < channels.size(); ++n) {
    const auto key = "ms:{" + channels[n] + "}:log";
    EXPECT_EQ(s.cluster.command(n, {"XLEN", key}).integer, 200) << key;
  }
  EXPECT_TRUE(wait_stat(*s.api_a, pattern, "backlog", 0, 5s));
  EXPECT_EQ(stat_of(*s.api_b, pattern, "delivered"), 600);
}

TEST(ClusterService, RetriesWithGrowingGapsThenDeadLettersReplaysAndPurges) {
  ClusterStack s;
  WebhookReceiver hook;
  std::atomic<int> calls_retry{0};
  std::atomic<bool> dlq_fails{true};
  hook.set_handler([&](const RecordedRequest& r) {
    if (r.target.rfind("/retry", 0) == 0) return webhook_response(++calls_retry <= 2 ? 500 : 200);
    if (r.target.rfind("/dlq", 0) == 0) return webhook_response(dlq_fails ? 503 : 200);
    return webhook_response(200);
  });
  const auto ch_retry = s.channel_on(1, "cl.retry");
  const auto ch_dlq = s.channel_on(2, "cl.dlq");
  const auto retry_id = str_of(create_subscription(*s.api_a, {{"channel", ch_retry},
                                                              {"endpoint", hook.url("/retry")},
                                                              {"retry", {{"initial_backoff_ms", 200},
                                                                         {"multiplier", 2.0},
                                                                         {"jitter", 0.0}}}}),
                               "id");
  const auto dlq_id = str_of(create_subscription(*s.api_b, {{"channel", ch_dlq},
                                                            {"endpoint", hook.url("/dlq")},
                                                            {"retry", {{"max_attempts", 2}, {"initial_backoff_ms", 50}}}}),
                             "id");
  publish(*s.api_b, ch_retry, R"({"data":{"n":1}})");
  std::set<std::string> dead;
  for (int i = 0; i < 3; ++i) dead.insert(str_of(publish(*s.api_a, ch_dlq, R"({"data":{"d":1}})"), "id"));

  // Fails twice, succeeds on the third attempt; the second gap about twice the first.
  ASSERT_TRUE(wait_for_path_count(hook, "/retry", 3, 10s));
  auto reqs = hook.requests();
  std::vector<std::int64_t> at;
  for (const auto& r : reqs) {
    if (r.target.rfind("/retry", 0) == 0) at.push_back(r.steady_ms);
  }
  ASSERT_EQ(at.size(), 3u);
  const auto gap1 = at[1] - at[0];
  const auto gap2 = at[2] - at[1];
  EXPECT_GE(gap1, 180);
  EXPECT_GE(gap2, 360);
  EXPECT_GT(gap2, gap1);
  EXPECT_TRUE(wait_stat(*s.api_a, retry_id, "delivered", 1, 5s));
  EXPECT_EQ(stat_of(*s.api_a, retry_id, "failed_attempts"), 2);

  // max_attempts 2 → three dead letters with their history.
  ASSERT_TRUE(wait_stat(*s.api_a, dlq_id, "dead_lettered", 3, 10s)) << json::serialize(subscription_stats(*s.api_a, dlq_id));
  auto list = s.api_a->get("/v1/subscriptions/" + dlq_id + "/dead-letters");
  ASSERT_EQ(list.status, 200) << list.body;
  const auto items = list.json().at("dead_letters").as_array();
  ASSERT_EQ(items.size(), 3u);
  for (const auto& d : items) {
    EXPECT_TRUE(dead.contains(str_of(d.at("message"), "id")));
    EXPECT_EQ(d.at("attempts"), json::value(2)) << json::serialize(d);
  }
  // Replay through the other instance: delivered again, now answered 200.
  dlq_fails = false;
  const auto before = received_count(hook, "/dlq");
  auto replay = s.api_b->post("/v1/subscriptions/" + dlq_id + "/dead-letters/replay", "{}");
  ASSERT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(replay.json().at("replayed"), json::value(3));
  ASSERT_TRUE(wait_for_path_count(hook, "/dlq", before + 3, 10s));
  EXPECT_TRUE(wait_stat(*s.api_a, dlq_id, "delivered", 3, 5s));
  // Purge: dead-letter one more, then empty the queue.
  dlq_fails = true;
  publish(*s.api_a, ch_dlq, R"({"data":{"d":2}})");
  ASSERT_TRUE(poll_until([&] {
    auto l = s.api_b->get("/v1/subscriptions/" + dlq_id + "/dead-letters");
    return l.status == 200 && l.json().at("dead_letters").as_array().size() == 1;
  }, 10s));
  auto purge = s.api_b->del("/v1/subscriptions/" + dlq_id + "/dead-letters");
  ASSERT_EQ(purge.status, 200) << purge.body;
  auto after = s.api_a->get("/v1/subscriptions/" + dlq_id + "/dead-letters");
  EXPECT_TRUE(after.json().at("dead_letters").as_array().empty()) << after.body;
}

TEST(ClusterService, ExplicitAckNackAndTheAckDeadline) {
  ClusterStack s;
  WebhookReceiver hook;
  const auto ch = s.channel_on(0, "cl.ack");
  const auto id = str_of(create_subscription(*s.api_a, {{"channel", ch},
                                                        {"endpoint", hook.url("/a")},
                                                        {"ack_mode", "explicit"},
                                                        {"ack_deadline_ms", 1000},
                                                        {"timeout_ms", 1000}}),
                         "id");
  auto wait_received_2xx = [&] {
    return poll_until([&] { return !subscription_stats(*s.api_a, id).at("last_delivery_at").is_null(); }, 5s);
  };
  // Acked through the other instance: not delivered again.
  const auto m1 = str_of(publish(*s.api_a, ch, R"({"data":1})"), "id");
  ASSERT_TRUE(hook.wait_for_count(1, 5s));
  ASSERT_TRUE(wait_received_2xx());
  auto ack = s.api_b->post("/v1/subscriptions/" + id + "/ack",
                           json::serialize(json::object{{"ids", json::array{json::value(m1), json::value("nope")}}}));
  ASSERT_EQ(ack.status, 200) << ack.body;
  EXPECT_EQ(ack.json().at("acked"), json::value(1)) << ack.body;
  EXPECT_EQ(json::serialize(ack.json().at("unknown")), R"(["nope"])");
  EXPECT_FALSE(hook.wait_for_count(2, 1500ms)) << "delivered again although acknowledged";

  // Not acked: delivered again after the deadline.
  const auto m2 = str_of(publish(*s.api_b, ch, R"({"data":2})"), "id");
  ASSERT_TRUE(hook.wait_for_count(3, 6s)) << hook.count();
  auto ids = received_ids(hook);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), m2), 2);

  // Nacked with a delay: delivered again after about that delay, then acked.
  const auto m3 = str_of(publish(*s.api_a, ch, R"({"data":3})"), "id");
  ASSERT_TRUE(poll_until([&] {
    auto v = received_ids(hook);
    return std::count(v.begin(), v.end(), m3) == 1;
  }, 5s));
  // m2 may still come round once more: ack it for good.
  s.api_a->post("/v1/subscriptions/" + id + "/ack", json::serialize(json::object{{"ids", json::array{json::value(m2)}}}));
  ASSERT_TRUE(poll_until([&] {
    auto r = s.api_b->post("/v1/subscriptions/" + id + "/nack",
                           json::serialize(json::object{{"ids", json::array{json::value(m3)}}, {"delay_ms", 300}}));
    return r.status == 200 && r.json().at("nacked") == json::value(1);
  }, 3s));
  ASSERT_TRUE(poll_until([&] {
    auto v = received_ids(hook);
    return std::count(v.begin(), v.end(), m3) == 2;
  }, 5s));
}

// Slots of the channels move from node 0 to node 1 while both instances publish
// and deliver: MOVED, ASK and TRYAGAIN are all on the path. Nothing is lost.
TEST(ClusterService, ReshardingDuringABurstLosesNothing) {
  ClusterStack s;
  WebhookReceiver hook;
  hook.set_default_response(webhook_response(200, 2ms));
  // Channels in the lowest slots of node 0: the ones reshard moves first.
  std::vector<std::string> channels;
  for (int i = 0; channels.size() < 4 && i < 100000; ++i) {
    auto ch = "cl.move" + std::to_string(i);
    if (s.cluster.keyslot("ms:{" + ch + "}:log") < 1000) channels.push_back(ch);
  }
  ASSERT_EQ(channels.size(), 4u);
  std::vector<std::string> subs;
  for (const auto& ch : channels) {
    subs.push_back(str_of(create_subscription(*s.api_a, {{"channel", ch}, {"endpoint", hook.url("/m")}, {"max_in_flight", 8}}), "id"));
  }
  // Publishing goes on until five batches after the reshard ended.
  BurstPublisher pub;
  std::jthread t([&] { pub.run({&*s.a, &*s.b}, channels, 400, 50, 20ms, 60s); });
  ASSERT_TRUE(poll_until([&] { return pub.batches_done.load() >= 5; }, 10s));
  const int batches_at_start = pub.batches_done.load();
  auto job = s.cluster.reshard_async(0, 1, 1000, 5);
  auto result = job.wait(60s);
  const int batches_at_end = pub.batches_done.load();
  poll_until([&] { return pub.batches_done.load() >= batches_at_end + 5; }, 20s);
  pub.stop = true;
  t.join();
  ASSERT_EQ(result.exit_code, 0) << result.stdout_text << result.stderr_text;
  s.cluster.wait_ok();
  for (const auto& ch : channels) EXPECT_EQ(s.cluster.node_of_key("ms:{" + ch + "}:log"), 1u) << ch;
  const auto first_error = pub.first_error();
  ASSERT_FALSE(pub.gave_up) << first_error;
  const auto published = pub.snapshot();
  ASSERT_EQ(published.size(), static_cast<std::size_t>(pub.batches_done.load()) * 50u);
  const bool ok = all_received(hook, published, 30s);
  auto tally = Tally::of(hook, published);
  tally.print("ClusterService.ReshardingDuringABurstLosesNothing", published.size());
  std::printf("[ figures  ] reshard: 1000 slots moved during batches %d to %d of %d; %d failed publish calls, %d failed items%s%s\n",
              batches_at_start, batches_at_end, pub.batches_done.load(), pub.failed_calls.load(), pub.failed_items.load(), first_error.empty() ? "" : "; first failure: ", first_error.substr(0, 200).c_str());
  ASSERT_TRUE(ok) << tally.lost.size() << " lost, e.g. " << tally.lost.front();
  for (const auto& id : subs) EXPECT_TRUE(wait_stat(*s.api_a, id, "backlog", 0, 10s)) << id;
}

// The master holding the channel dies (SIGKILL) mid-burst and comes back with
// its AOF (appendfsync always): every publish that got a 2xx is delivered.
TEST(ClusterService, AMasterKilledMidBurstLosesNothingAcknowledged) {
  RedisClusterOptions ro;
  ro.appendfsync_always = true;
  ClusterStack s(ro);
  WebhookReceiver hook;
  hook.set_default_response(webhook_response(200, 2ms));
  const auto ch = s.channel_on(2, "cl.kill");
  const auto other = s.channel_on(0, "cl.live");
  const auto id = str_of(create_subscription(*s.api_a, {{"channel", ch}, {"endpoint", hook.url("/k")}, {"timeout_ms", 1000}}), "id");
  BurstPublisher pub;
  std::jthread t([&] { pub.run({&*s.a, &*s.b}, {ch, other}, 30, 20, 30ms, 60s); });
  ASSERT_TRUE(poll_until([&] { return pub.batches_done.load() >= 10; }, 15s));
  ASSERT_TRUE(hook.wait_for_count(1, 5s));
  const auto before = hook.count();
  s.cluster.kill9(2);
  std::this_thread::sleep_for(1s);
  s.cluster.start_node(2);
  s.cluster.wait_ok();
  t.join();
  const auto first_error = pub.first_error();
  ASSERT_FALSE(pub.gave_up) << "publishes kept failing after the restart: " << first_error;
  ASSERT_EQ(pub.snapshot().size(), 600u);
  // Only the killed node's channel has a subscription: every id confirmed on it arrives.
  const auto published = pub.snapshot(ch);
  ASSERT_EQ(published.size(), 300u);
  const bool ok = all_received(hook, published, 30s);
  auto tally = Tally::of(hook, published);
  tally.print("ClusterService.AMasterKilledMidBurstLosesNothingAcknowledged", published.size());
  std::printf("[ figures  ] master kill: %zu requests before the kill, %d failed publish calls (%d × 503)%s%s\n", before,
              pub.failed_calls.load(), pub.status_503.load(), first_error.empty() ? "" : "; first failure: ",
              first_error.substr(0, 200).c_str());
  EXPECT_LT(before, published.size()) << "everything was delivered before the kill; the test proves nothing";
  ASSERT_TRUE(ok) << tally.lost.size() << " acknowledged publishes never delivered, e.g. " << tally.lost.front();
  EXPECT_EQ(tally.distinct, published.size()) << "delivered ids that were never confirmed";
  EXPECT_TRUE(wait_stat(*s.api_a, id, "backlog", 0, 10s)) << json::serialize(subscription_stats(*s.api_a, id));
}

}  // namespace
}  // namespace ms::test
