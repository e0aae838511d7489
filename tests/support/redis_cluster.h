// A private Redis Cluster for one test: N masters (no replicas), each a
// redis-server on its own loopback port with its own temp directory.
//
//   RedisCluster cluster;              // nothing runs yet
//   cluster.start();                   // 3 masters, `redis-cli --cluster create`, waits for state ok
//   ServiceProcess svc("", {.args = {"--redis-cluster-nodes", cluster.seeds()}});
//   cluster.command_on_owner({"XLEN", "ms:{orders}:log"}, "ms:{orders}:log");
//   cluster.reshard(0, 1, 100);        // redis-cli --cluster reshard: 100 slots from node 0 to 1
//   cluster.kill9(2); cluster.start_node(2); cluster.wait_ok();   // crash and rejoin
//
// Nodes are numbered 0..size()-1 in the order `cluster create` got them, so the
// initial slot ranges are contiguous and ascending (node 0 owns slot 0). A node's
// port, directory, nodes.conf and node id stay the same across restarts.
//
// Owned by the test thread (create it there: children die with the thread that
// forked them). command() is thread-safe. The destructor SIGKILLs every node and
// removes the directories.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/redis_client.h"

namespace ms::test {

struct RedisClusterOptions {
  std::size_t masters = 3;
  std::chrono::milliseconds node_timeout = std::chrono::milliseconds(2000);  // --cluster-node-timeout
  bool appendonly = true;               // --appendonly yes|no
  bool appendfsync_always = false;      // --appendfsync always (crash tests) instead of everysec
  std::vector<std::string> extra_args;  // more redis-server flags for every node
  std::chrono::milliseconds start_timeout = std::chrono::seconds(5);  // per node, until PING answers
  std::chrono::milliseconds ok_timeout = std::chrono::seconds(15);    // until every node says cluster_state:ok
};

// A `redis-cli --cluster ...` run in the background (reshard_async): the test can
// keep publishing while slots move. Move-only; the destructor SIGKILLs it.
class ClusterJob {
 public:
  ClusterJob(ChildProcess child, TempDir dir) : dir_(std::move(dir)), child_(std::move(child)) {}
  ClusterJob(ClusterJob&&) noexcept = default;
  ClusterJob& operator=(ClusterJob&&) noexcept = default;

  bool running() { return child_.running(); }
  pid_t pid() const { return child_.pid(); }
  // Waits for the exit (SIGKILL after `timeout`, then timed_out is set) and
  // returns the exit code and everything redis-cli printed.
  RunResult wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  std::string output() const;  // stdout + stderr so far

 private:
  TempDir dir_;
  ChildProcess child_;
};

struct MoveSlotOptions {
  // false: stop half-way — keys moved, but the slot stays MIGRATING on the source
  // and IMPORTING on the target (the source answers -ASK for moved keys, the target
  // serves them only after ASKING). finish_move() completes it.
  bool finish = true;
  // How many of the slot's keys to MIGRATE before stopping or finishing
  // (finish_move moves the rest).
  std::size_t max_keys = std::numeric_limits<std::size_t>::max();
};

class RedisCluster {
 public:
  using Reply = RedisReply;
  static constexpr int kSlots = 16384;

  explicit RedisCluster(RedisClusterOptions options = {});
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // Starts the nodes on free ports (P <= 55535 and bus port P + 10000 free,
  // retrying on a clash), creates the cluster and waits (ok_timeout) until every
  // node reports cluster_state:ok and the same owner for each of the 16384 slots.
  // Throws std::runtime_error with the nodes' logs on failure.
  void start();

  std::size_t size() const { return nodes_.size(); }
  std::uint16_t port(std::size_t i) const { return nodes_.at(i).port; }
  std::string address(std::size_t i) const;  // 127.0.0.1:<port>
  std::string url(std::size_t i) const;      // redis://127.0.0.1:<port>/0
  std::string seeds() const;                 // "127.0.0.1:P1,127.0.0.1:P2,..." for --redis-cluster-nodes
  const std::string& dir(std::size_t i) const { return nodes_.at(i).dir.path(); }
  pid_t pid(std::size_t i) const { return nodes_.at(i).child.pid(); }
  std::string log_text(std::size_t i) const;  // node i's redis-server output, all runs
  std::string logs() const;                   // the tail of every node's log, for failure messages

  // Synchronous command on node i's shared connection (thread-safe; no redirects
  // followed: a moved key answers -MOVED / -ASK). Throws if i is unreachable.
  Reply command(std::size_t i, const std::vector<std::string>& argv);
  RedisClient client(std::size_t i) const;  // a separate connection to node i

  // CLUSTER MYID, cached at start (a node keeps its id in nodes.conf).
  const std::string& node_id(std::size_t i) const { return nodes_.at(i).id; }
  int keyslot(const std::string& key);                 // CLUSTER KEYSLOT on a running node
  std::size_t node_of_slot(int slot);                  // owner per CLUSTER SLOTS of a running node
  std::size_t node_of_key(const std::string& key) { return node_of_slot(keyslot(key)); }
  // Runs argv on the owner of key's slot; follows one -ASK (ASKING + argv on the
  // target) or -MOVED, so it also works while that slot is being moved.
  Reply command_on_owner(const std::vector<std::string>& argv, const std::string& key);
  // cluster_state of CLUSTER INFO on node i ("ok", "fail"), or why it is unknown.
  std::string state(std::size_t i);

  void stop(std::size_t i);        // SIGTERM and wait (SIGKILL after 10 s): nodes.conf and AOF flushed
  void kill9(std::size_t i);       // SIGKILL and reap
  void start_node(std::size_t i);  // same port, dir and nodes.conf; waits for PING only
  void restart(std::size_t i);     // stop() if running, start_node(), wait_ok()
  bool running(std::size_t i);
  // Until every running node says cluster_state:ok and all of them agree on the
  // owner of every slot (which must all be covered). Throws with the logs on timeout.
  // A restarted master stays "fail" for about 2 s after it starts (Redis's
  // rejoin delay), so this takes at least that after start_node().
  void wait_ok(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // `redis-cli --cluster reshard <any node> --cluster-from <id> --cluster-to <id>
  // --cluster-slots <n> --cluster-yes`: moves `slots` slots (the lowest-numbered
  // ones `from` owns) with their keys. Throws (with redis-cli's output) unless it
  // exits 0 within `timeout`; then waits for wait_ok().
  RunResult reshard(std::size_t from, std::size_t to, int slots,
                    std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // The same in the background; `pipeline` is --cluster-pipeline (keys per
  // MIGRATE, redis-cli's default 10). Call wait() on the job, then wait_ok().
  ClusterJob reshard_async(std::size_t from, std::size_t to, int slots, int pipeline = 10);

  // The manual slot migration, step by step: SETSLOT IMPORTING on `to`, SETSLOT
  // MIGRATING on `from`, MIGRATE of the slot's keys (up to max_keys), then — with
  // options.finish — finish_move(). Throws on any unexpected reply.
  void move_slot(int slot, std::size_t from, std::size_t to, MoveSlotOptions options = {});
  // MIGRATEs the keys still on `from`, then SETSLOT NODE <to> on `to`, `from` and
  // every other running node, and waits until they all agree.
  void finish_move(int slot, std::size_t from, std::size_t to);

 private:
  struct Node {
    TempDir dir;
    std::uint16_t port = 0;
    ChildProcess child;
    std::string id;
  };

  void launch(std::size_t i);
  // Empty on success, else why it failed; sets `clash` when the port was taken.
  std::string wait_ready(std::size_t i, bool& clash);
  void start_first(std::size_t i, std::vector<std::uint16_t>& taken);
  std::size_t any_running();
  // Owner index of every slot as node i sees it (-1: unassigned or unknown node).
  std::vector<int> slot_owners(std::size_t i);
  std::size_t index_of_port(std::uint16_t port) const;  // throws if no node has it
  Reply expect_ok(std::size_t i, const std::vector<std::string>& argv);
  std::size_t migrate_keys(int slot, std::size_t from, std::size_t to, std::size_t max_keys);
  std::vector<std::string> reshard_argv(std::size_t from, std::size_t to, int slots, int pipeline);
  void reset_client(std::size_t i);

  RedisClusterOptions options_;
  std::string server_binary_;
  std::string cli_binary_;
  std::vector<Node> nodes_;
  std::mutex mu_;  // guards clients_
  std::vector<std::optional<RedisClient>> clients_;
};

}  // namespace ms::test
