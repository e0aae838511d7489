// A Redis Cluster client: one auto-pipelined Connection per master, each command
// (and script) sent to the master of its key's slot.
//
// The slot map comes from CLUSTER SLOTS, asked of any reachable node: at start,
// every `refresh_interval`, and soon after a MOVED reply or a lost node. MOVED
// re-points the slot at once and resends; ASK resends once to the named node
// behind ASKING (a slot being migrated); TRYAGAIN and CLUSTERDOWN are retried
// with a short backoff for up to `retry_budget`. Each node connection reconnects
// by itself, so a node that goes away and comes back is used again.
//
// A command that fails in transport (connection lost, timeout) is not resent: it
// may have run. Callers see the same errors as with one Connection.
//
// Threading: as Connection (one ClusterClient per shard, on its executor).
#pragma once

#include "redis/client.h"
#include "redis/connection.h"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <memory>
#include <vector>

namespace ms::redis {

struct ClusterOptions {
  std::vector<Endpoint> seeds;  // where to learn the slot map first (credentials apply to every node)
  ConnectionOptions node;       // timeouts, backoff and client name of each node connection
  std::chrono::milliseconds refresh_interval{5000};
  std::chrono::milliseconds retry_budget{2000};  // for TRYAGAIN / CLUSTERDOWN / a node still connecting
  int max_redirects = 5;
};

class ClusterClient final : public Client {
 public:
  ClusterClient(boost::asio::any_io_executor ex, ClusterOptions options);
  ~ClusterClient() override;
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  void start() override;
  void stop() override;
  // The slot map is known and every master in it is connected.
  bool connected() const override;
  std::string last_error() const override;
  ConnectionStats stats() const override;  // summed over the nodes
  void on_connect(std::function<void()> fn) override;

  boost::asio::awaitable<Result<Reply>> exec(Command cmd) override;
  boost::asio::awaitable<std::vector<Result<Reply>>> exec_many(std::vector<Command> cmds) override;
  void exec_async(Command cmd, std::function<void(Result<Reply>)> done) override;

  // For tests and /readyz: how many masters the slot map names, and how often it
  // was loaded.
  std::size_t master_count() const;
  std::uint64_t slot_map_loads() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ms::redis
