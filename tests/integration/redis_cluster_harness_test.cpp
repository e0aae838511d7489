// The RedisCluster fixture itself (tests/support/redis_cluster.h): before the
// service's cluster mode is tested on it, prove that it starts a real cluster,
// moves slots the ways a test needs (redis-cli reshard, in the background, and
// by hand up to the -ASK state) and brings a crashed node back.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_cluster.h"

namespace ms::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// `n` keys "<prefix><i>" whose slots are below `max_slot` (node 0 owns 0-5460 after
// create, and redis-cli reshard moves a node's lowest slots first).
std::vector<std::string> keys_below_slot(RedisCluster& c, const std::string& prefix, int max_slot, std::size_t n) {
  std::vector<std::string> keys;
  for (int i = 0; keys.size() < n && i < 100000; ++i) {
    std::string k = prefix + std::to_string(i);
    if (c.keyslot(k) < max_slot) keys.push_back(k);
  }
  return keys;
}

TEST(RedisClusterHarness, StartsThreeMastersCoveringEverySlot) {
  auto t0 = Clock::now();
  RedisCluster c;
  c.start();
  std::printf("[figures] 3-node cluster start to ok: %lld ms\n", ms_since(t0));
  ASSERT_EQ(c.size(), 3u);

  std::set<std::string> ids;
  std::string seeds;
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c.state(i), "ok");
    EXPECT_LE(c.port(i), 55535);
    EXPECT_EQ(c.command(i, {"CLUSTER", "MYID"}).str, c.node_id(i));
    ids.insert(c.node_id(i));
    seeds += (i ? "," : "") + ("127.0.0.1:" + std::to_string(c.port(i)));
    EXPECT_EQ(c.url(i), "redis://127.0.0.1:" + std::to_string(c.port(i)) + "/0");
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(c.seeds(), seeds);
  // `cluster create` splits the slots in three contiguous ranges, in node order.
  EXPECT_EQ(c.node_of_slot(0), 0u);
  EXPECT_EQ(c.node_of_slot(8000), 1u);
  EXPECT_EQ(c.node_of_slot(16383), 2u);
  auto info = c.command(0, {"CLUSTER", "INFO"});
  EXPECT_NE(info.str.find("cluster_slots_assigned:16384"), std::string::npos) << info.str;
  EXPECT_NE(info.str.find("cluster_known_nodes:3"), std::string::npos) << info.str;
}

TEST(RedisClusterHarness, KeysLiveOnDifferentNodesAndHashTagsKeepAChannelTogether) {
  RedisCluster c;
  c.start();
  // A channel's keys share the tag {channel}: one slot, one node.
  EXPECT_EQ(c.keyslot("ms:{orders.created}:log"), c.keyslot("ms:{orders.created}:retry:sub_1"));
  EXPECT_EQ(c.keyslot("ms:{orders.created}:log"), c.keyslot("orders.created"));

  std::set<std::size_t> owners;
  for (int i = 0; i < 30; ++i) {
    const std::string key = "ms:{ch" + std::to_string(i) + "}:log";
    ASSERT_EQ(c.command_on_owner({"XADD", key, "*", "e", "x"}, key).type, RedisReply::Type::string);
    const std::size_t owner = c.node_of_key(key);
    owners.insert(owner);
    EXPECT_EQ(c.command(owner, {"XLEN", key}).integer, 1);
    // Any other node redirects: -MOVED <slot> 127.0.0.1:<owner's port>.
    auto moved = c.command((owner + 1) % c.size(), {"XLEN", key});
    EXPECT_TRUE(moved.is_error()) << moved.debug_string();
    EXPECT_EQ(moved.str, "MOVED " + std::to_string(c.keyslot(key)) + " " + c.address(owner));
  }
  EXPECT_EQ(owners.size(), 3u) << "30 channels all on fewer than 3 nodes";
}

TEST(RedisClusterHarness, ReshardMovesSlotsAndTheirKeys) {
  RedisCluster c;
  c.start();
  auto keys = keys_below_slot(c, "rk", 100, 5);
  ASSERT_EQ(keys.size(), 5u);
  for (const auto& k : keys) {
    ASSERT_EQ(c.node_of_key(k), 0u);
    ASSERT_TRUE(c.command(0, {"SET", k, "v-" + k}).is_ok());
  }

  auto t0 = Clock::now();
  RunResult r = c.reshard(0, 1, 100);
  std::printf("[figures] reshard of 100 slots (5 keys) incl. wait_ok: %lld ms\n", ms_since(t0));
  EXPECT_EQ(r.exit_code, 0);
  for (int s = 0; s < 100; ++s) ASSERT_EQ(c.node_of_slot(s), 1u) << "slot " << s;
  EXPECT_EQ(c.node_of_slot(100), 0u);
  for (const auto& k : keys) {
    EXPECT_EQ(c.command(1, {"GET", k}).str, "v-" + k);
    EXPECT_EQ(c.command_on_owner({"GET", k}, k).str, "v-" + k);
    auto old = c.command(0, {"GET", k});
    EXPECT_EQ(old.str.rfind("MOVED ", 0), 0u) << old.debug_string();
  }
  EXPECT_EQ(c.command(0, {"DBSIZE"}).integer, 0);
}

TEST(RedisClusterHarness, ReshardInTheBackgroundWhileKeysAreWritten) {
  RedisCluster c;
  c.start();
  // Keys in node 0's first 300 slots, the ones the reshard will move.
  auto keys = keys_below_slot(c, "bg", 300, 60);
  ASSERT_EQ(keys.size(), 60u);
  for (std::size_t i = 0; i < keys.size() / 2; ++i) ASSERT_TRUE(c.command(0, {"SET", keys[i], "old"}).is_ok());

  auto t0 = Clock::now();
  ClusterJob job = c.reshard_async(0, 2, 300, /*pipeline=*/1);
  // Writes while the slots move: command_on_owner follows -MOVED and -ASK.
  for (std::size_t i = keys.size() / 2; i < keys.size(); ++i) {
    auto r = c.command_on_owner({"SET", keys[i], "new"}, keys[i]);
    ASSERT_TRUE(r.is_ok()) << keys[i] << ": " << r.debug_string();
  }
  RunResult done = job.wait(30s);
  ASSERT_EQ(done.exit_code, 0) << done.stdout_text << done.stderr_text;
  c.wait_ok();
  std::printf("[figures] background reshard of 300 slots (pipeline 1): %lld ms\n", ms_since(t0));
  for (int s : {0, 150, 299}) EXPECT_EQ(c.node_of_slot(s), 2u) << "slot " << s;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(c.command(2, {"GET", keys[i]}).str, i < keys.size() / 2 ? "old" : "new") << keys[i];
  }
}

TEST(RedisClusterHarness, CrashedAndStoppedNodesRejoinAndTheClusterIsOkAgain) {
  RedisClusterOptions o;
  o.node_timeout = 1000ms;  // failure detection in ~1-2 s rather than ~3 s
  RedisCluster c(o);
  c.start();
  const std::string key = "ms:{restart}:log";
  const std::size_t owner = c.node_of_key(key);
  ASSERT_EQ(c.command(owner, {"XADD", key, "*", "e", "1"}).type, RedisReply::Type::string);
  const std::size_t other = (owner + 1) % c.size();

  // SIGKILL: the others mark it failed, the cluster is down (full coverage required).
  auto t0 = Clock::now();
  c.kill9(owner);
  EXPECT_FALSE(c.running(owner));
  bool down = false;
  while (!down && ms_since(t0) < 10000) {
    down = c.state(other) == "fail";
    if (!down) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(down) << "the others never noticed the crash" << c.logs();
  std::printf("[figures] SIGKILL to cluster_state:fail (node timeout 1000 ms): %lld ms\n", ms_since(t0));

  t0 = Clock::now();
  c.start_node(owner);
  const auto pinged = ms_since(t0);
  c.wait_ok();
  std::printf("[figures] restart after SIGKILL: PING after %lld ms, all ok after %lld ms\n", pinged, ms_since(t0));
  EXPECT_EQ(c.node_of_key(key), owner) << "the node rejoined with its slots (nodes.conf kept)";
  EXPECT_EQ(c.command(owner, {"XLEN", key}).integer, 1) << "AOF kept the entry";
  const std::string id = c.node_id(owner);
  EXPECT_EQ(c.command(owner, {"CLUSTER", "MYID"}).str, id);

  // Graceful restart, back before anyone marks it failed.
  t0 = Clock::now();
  c.restart(other);
  std::printf("[figures] restart (SIGTERM) of a node to all ok: %lld ms\n", ms_since(t0));
  for (std::size_t i = 0; i < c.size(); ++i) EXPECT_EQ(c.state(i), "ok") << "node " << i;
}

TEST(RedisClusterHarness, AMoveStoppedHalfWayAnswersAskForMovedKeys) {
  RedisCluster c;
  c.start();
  // Three keys in one slot of node 0 (one hash tag).
  const std::string moved = "{half}:a", kept = "{half}:b", also_kept = "{half}:c";
  const int slot = c.keyslot(moved);
  const std::size_t from = c.node_of_slot(slot);
  const std::size_t to = (from + 1) % c.size();
  for (const auto& k : {moved, kept, also_kept}) ASSERT_TRUE(c.command(from, {"SET", k, "v" + k}).is_ok());
  // GETKEYSINSLOT returns keys in no promised order: find out which one moves.
  MoveSlotOptions half;
  half.finish = false;
  half.max_keys = 1;
  c.move_slot(slot, from, to, half);
  std::vector<std::string> on_target, on_source;
  for (const auto& k : {moved, kept, also_kept}) {
    (c.command(from, {"EXISTS", k}).integer == 1 ? on_source : on_target).push_back(k);
  }
  ASSERT_EQ(on_target.size(), 1u);
  ASSERT_EQ(on_source.size(), 2u);

  auto nodes = c.command(from, {"CLUSTER", "NODES"}).str;
  EXPECT_NE(nodes.find("[" + std::to_string(slot) + "->-" + c.node_id(to) + "]"), std::string::npos) << nodes;
  // The source still owns the slot: it serves what it has and sends the rest on with -ASK.
  EXPECT_EQ(c.command(from, {"GET", on_source[0]}).str, "v" + on_source[0]);
  auto ask = c.command(from, {"GET", on_target[0]});
  EXPECT_TRUE(ask.is_error());
  EXPECT_EQ(ask.str, "ASK " + std::to_string(slot) + " " + c.address(to));
  // The target serves it only after ASKING; without it, -MOVED back to the owner.
  auto no_asking = c.command(to, {"GET", on_target[0]});
  EXPECT_EQ(no_asking.str, "MOVED " + std::to_string(slot) + " " + c.address(from));
  EXPECT_EQ(c.command_on_owner({"GET", on_target[0]}, on_target[0]).str, "v" + on_target[0]);
  EXPECT_EQ(c.node_of_slot(slot), from);
  // A script over keys split between the two nodes: -TRYAGAIN on either side
  // (the target too: after ASKING, any missing key of a multi-key call is enough).
  auto split = c.command(from, {"EVAL", "return 1", "2", on_source[0], on_target[0]});
  EXPECT_EQ(split.str.rfind("TRYAGAIN", 0), 0u) << split.debug_string();
  RedisClient target = c.client(to);
  ASSERT_TRUE(target.command({"ASKING"}).is_ok());
  auto split_on_target = target.command({"EVAL", "return 1", "2", on_target[0], on_source[0]});
  EXPECT_EQ(split_on_target.str.rfind("TRYAGAIN", 0), 0u) << split_on_target.debug_string();

  // redis-cli refuses to reshard a cluster with an open slot.
  auto t0 = Clock::now();
  EXPECT_THROW(c.reshard(from, to, 10, 20s), std::runtime_error);
  std::printf("[figures] redis-cli reshard refusing an open slot: %lld ms\n", ms_since(t0));

  t0 = Clock::now();
  c.finish_move(slot, from, to);
  std::printf("[figures] finish_move incl. wait_ok: %lld ms\n", ms_since(t0));
  EXPECT_EQ(c.node_of_slot(slot), to);
  for (const auto& k : {moved, kept, also_kept}) EXPECT_EQ(c.command(to, {"GET", k}).str, "v" + k);
  EXPECT_EQ(c.command(from, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}).integer, 0);
  nodes = c.command(from, {"CLUSTER", "NODES"}).str;
  EXPECT_EQ(nodes.find("->-"), std::string::npos) << nodes;
}

}  // namespace
}  // namespace ms::test
