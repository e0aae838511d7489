// ms::redis::ClusterClient against a real 3-master Redis Cluster
// (tests/support/redis_cluster.h): routing by slot, scripts, pipelines across
// nodes, MOVED after a slot moved, ASK while it moves, a node that dies and comes
// back, and pub/sub that survives the loss of its node.
//
// Each test runs its coroutine on an io_context driven by the test thread, with a
// deadline, so a hang fails the test instead of stalling the suite.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "redis/cluster_client.h"
#include "redis/cluster_slots.h"
#include "redis/errors.h"
#include "redis/script.h"
#include "redis/subscriber.h"
#include "support/coro_test.h"
#include "support/redis_cluster.h"

namespace ms::redis {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::RedisCluster;
using test::cmd;
using test::describe;
using test::sleep_for;
using test::wait_until;

// Some key whose slot `cluster` places on node `node`.
std::string key_on(RedisCluster& cluster, std::size_t node, const std::string& prefix) {
  for (int i = 0; i < 10000; ++i) {
    auto k = prefix + std::to_string(i);
    if (cluster.node_of_slot(cluster::key_slot(k)) == node) return k;
  }
  throw std::runtime_error("no key found for node " + std::to_string(node));
}

class ClusterClientTest : public ::testing::Test {
 protected:
  void SetUp() override { cluster_.start(); }

  ClusterOptions options() {
    ClusterOptions o;
    for (std::size_t i = 0; i < cluster_.size(); ++i) {
      Endpoint e;
      e.host = "127.0.0.1";
      e.port = cluster_.port(i);
      o.seeds.push_back(e);
    }
    o.node.backoff_min = 20ms;
    o.node.backoff_max = 200ms;
    o.refresh_interval = 1000ms;
    return o;
  }

  void run_coro(std::function<asio::awaitable<void>()> body, std::chrono::milliseconds limit = 20s) {
    test::run_coro(ioc_, std::move(body), limit);
  }

  asio::awaitable<bool> connect(ClusterClient& c, std::chrono::milliseconds timeout = 5s) {
    c.start();
    co_return co_await wait_until([&] { return c.connected(); }, timeout);
  }

  RedisCluster cluster_;
  asio::io_context ioc_;
};

TEST_F(ClusterClientTest, LearnsTheSlotMapAndRoutesEveryKeyToItsMaster) {
  ClusterClient client(ioc_.get_executor(), options());
  EXPECT_FALSE(client.connected());
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(client));
    EXPECT_EQ(client.master_count(), 3u);
    EXPECT_EQ(client.last_error(), "");
    for (int i = 0; i < 300; ++i) {
      auto set = co_await client.exec(cmd("SET", "key:" + std::to_string(i), "v" + std::to_string(i)));
      EXPECT_TRUE(set && set->str == "OK") << describe(set);
    }
  });
  // Each key sits on the master Redis itself says owns its slot, and our slot
  // agrees with CLUSTER KEYSLOT.
  std::set<std::size_t> nodes_used;
  for (int i = 0; i < 300; ++i) {
    const auto k = "key:" + std::to_string(i);
    if (i < 40) {
      EXPECT_EQ(cluster::key_slot(k), cluster_.keyslot(k)) << k;
    }
    const auto owner = cluster_.node_of_key(k);
    nodes_used.insert(owner);
    auto got = cluster_.command(owner, {"GET", k});
    EXPECT_EQ(got.str, "v" + std::to_string(i)) << k << " on node " << owner;
  }
  EXPECT_EQ(nodes_used.size(), 3u);
}

TEST_F(ClusterClientTest, ScriptsAndPipelinesAcrossNodes) {
  ClusterClient client(ioc_.get_executor(), options());
  const Script script("redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); return ARGV[1]");
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(client));
    // Keys of one hash tag per call: each call runs on one node (NOSCRIPT the first time on each).
    std::vector<ScriptCall> calls;
    for (int i = 0; i < 30; ++i) {
      const auto tag = "{ch" + std::to_string(i) + "}";
      calls.push_back(ScriptCall{{tag + ":a", tag + ":b"}, {"x" + std::to_string(i)}});
    }
    auto results = co_await run_script_many(client, script, std::move(calls));
    CO_ASSERT_TRUE(results.size() == 30u);
    for (int i = 0; i < 30; ++i) EXPECT_EQ(describe(results[i]), "\"x" + std::to_string(i) + "\"");

    // A pipeline over every node comes back in command order.
    std::vector<Command> cmds;
    for (int i = 0; i < 30; ++i) cmds.push_back(cmd("GET", "{ch" + std::to_string(i) + "}:b"));
    cmds.push_back(cmd("PING"));
    auto got = co_await client.exec_many(std::move(cmds));
    CO_ASSERT_TRUE(got.size() == 31u);
    for (int i = 0; i < 30; ++i) EXPECT_EQ(describe(got[i]), "\"x" + std::to_string(i) + "\"");
    EXPECT_EQ(describe(got[30]), "\"PONG\"");

    // Keys of different slots in one command: Redis's CROSSSLOT error, passed on.
    auto cross = co_await client.exec(cmd("DEL", "{a}x", "{b}x"));
    CO_ASSERT_TRUE(cross.has_value());
    EXPECT_TRUE(cross->is_error() && cross->str.rfind("CROSSSLOT", 0) == 0) << describe(cross);
  });
}

TEST_F(ClusterClientTest, FollowsMovedAfterASlotMoved) {
  ClusterClient client(ioc_.get_executor(), options());
  const auto key = key_on(cluster_, 0, "moving:");
  const int slot = cluster::key_slot(key);
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(client));
    auto set = co_await client.exec(cmd("SET", key, "before"));
    CO_ASSERT_TRUE(set && set->str == "OK");
  });
  const auto loads = client.slot_map_loads();
  cluster_.move_slot(slot, 0, 2);
  ASSERT_EQ(cluster_.node_of_slot(slot), 2u);
  run_coro([&]() -> asio::awaitable<void> {
    // The client still thinks node 0 owns the slot: MOVED, re-pointed, answered.
    auto get = co_await client.exec(cmd("GET", key));
    EXPECT_EQ(describe(get), "\"before\"");
    auto set = co_await client.exec(cmd("SET", key, "after"));
    EXPECT_TRUE(set && set->str == "OK") << describe(set);
    // The MOVED also asked for a fresh map.
    EXPECT_TRUE(co_await wait_until([&] { return client.slot_map_loads() > loads; }, 3s));
  });
  EXPECT_EQ(cluster_.command(2, {"GET", key}).str, "after");
}

TEST_F(ClusterClientTest, FollowsAskWhileASlotIsMigrating) {
  ClusterClient client(ioc_.get_executor(), options());
  const auto moved_key = key_on(cluster_, 1, "ask:");
  const int slot = cluster::key_slot(moved_key);
  const std::string tag_key = "{" + moved_key + "}:other";  // same slot, written during the move
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(client));
    auto set = co_await client.exec(cmd("SET", moved_key, "v"));
    CO_ASSERT_TRUE(set && set->str == "OK");
  });
  test::MoveSlotOptions half;
  half.finish = false;
  cluster_.move_slot(slot, 1, 0, half);  // the key is on node 0, the slot still node 1's, MIGRATING
  ASSERT_TRUE(cluster_.command(1, {"GET", moved_key}).str.rfind("ASK", 0) == 0);
  run_coro([&]() -> asio::awaitable<void> {
    auto get = co_await client.exec(cmd("GET", moved_key));
    EXPECT_EQ(describe(get), "\"v\"");  // ASK → ASKING + GET on node 0
    auto set = co_await client.exec(cmd("SET", tag_key, "new"));  // absent on the source: created on the target
    EXPECT_TRUE(set && set->str == "OK") << describe(set);
  });
  cluster_.finish_move(slot, 1, 0);
  EXPECT_EQ(cluster_.command(0, {"GET", tag_key}).str, "new");
  EXPECT_EQ(cluster_.command(0, {"GET", moved_key}).str, "v");
}

TEST_F(ClusterClientTest, ANodeThatDiesAndComesBackIsUsedAgain) {
  auto o = options();
  ClusterClient client(ioc_.get_executor(), o);
  const auto key = key_on(cluster_, 2, "restart:");
  const auto other = key_on(cluster_, 0, "alive:");
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(client));
    auto set = co_await client.exec(cmd("SET", key, "1"));
    CO_ASSERT_TRUE(set && set->str == "OK");
  });
  cluster_.kill9(2);
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await wait_until([&] { return !client.connected(); }, 5s));
    EXPECT_NE(client.last_error(), "");
    auto lost = co_await client.exec(cmd("GET", key));
    EXPECT_FALSE(lost.has_value()) << describe(lost);  // fails fast, not after a timeout
    // The other masters still serve their slots (until the cluster itself
    // declares the node failed and answers CLUSTERDOWN).
    auto alive = co_await client.exec(cmd("SET", other, "x"));
    EXPECT_TRUE(alive.has_value()) << describe(alive);
  });
  cluster_.start_node(2);
  cluster_.wait_ok();
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await wait_until([&] { return client.connected(); }, 10s));
    Result<Reply> get = make_error_code(errc::not_connected);
    // CLUSTERDOWN may linger a moment on the other nodes; the client retries it.
    for (int i = 0; i < 50 && !(get && get->is_string()); ++i) {
      get = co_await client.exec(cmd("GET", key));
      if (!(get && get->is_string())) co_await sleep_for(100ms);
    }
    EXPECT_EQ(describe(get), "\"1\"");  // AOF: the write survived the kill
  }, 20s);
  EXPECT_GE(client.stats().reconnects, 1u);
}

TEST_F(ClusterClientTest, PubSubMovesToTheNextNodeWhenItsNodeIsGone) {
  ClusterClient client(ioc_.get_executor(), options());
  ConnectionOptions po;
  po.backoff_min = 20ms;
  po.backoff_max = 100ms;
  po.endpoint.host = "127.0.0.1";
  po.endpoint.port = cluster_.port(0);
  for (std::size_t i = 1; i < cluster_.size(); ++i) {
    Endpoint e;
    e.host = "127.0.0.1";
    e.port = cluster_.port(i);
    po.fallback_endpoints.push_back(e);
  }
  Subscriber sub(ioc_.get_executor(), po);
  std::vector<std::string> got;
  int connects = 0;
  sub.on_message([&](const PubSubMessage& m) { got.push_back(m.payload); });
  sub.on_connect([&] { ++connects; });
  sub.subscribe("events");
  sub.start();
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(client));
    CO_ASSERT_TRUE(co_await wait_until([&] { return sub.connected(); }, 5s));
    // Published through whichever node: a cluster broadcasts classic pub/sub.
    for (int i = 0; i < 3; ++i) co_await client.exec(cmd("PUBLISH", "events", "m" + std::to_string(i)));
    EXPECT_TRUE(co_await wait_until([&] { return got.size() == 3; }, 3s));
  });
  cluster_.kill9(0);
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await wait_until([&] { return connects >= 2 && sub.connected(); }, 5s));
    auto r = co_await client.exec(cmd("PUBLISH", "events", "after"));
    EXPECT_TRUE(r.has_value()) << describe(r);
    EXPECT_TRUE(co_await wait_until([&] { return !got.empty() && got.back() == "after"; }, 3s));
  });
  sub.stop();
}

}  // namespace
}  // namespace ms::redis
