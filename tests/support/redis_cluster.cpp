#include "support/redis_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace ms::test {
namespace {

constexpr int kPortAttempts = 5;     // launches per node before giving up on clashes
constexpr int kPortCandidates = 200;  // free_port() draws per launch
constexpr std::uint16_t kBusOffset = 10000;  // Redis's cluster bus port = port + 10000
constexpr std::uint16_t kMaxPort = 65535 - kBusOffset;
constexpr std::chrono::milliseconds kPoll(50);

std::string log_tail(const std::string& text, size_t max = 3000) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

// Whether 127.0.0.1:port can be bound right now (no SO_REUSEADDR: stricter than
// redis-server, so a port in TIME_WAIT counts as taken).
bool port_is_free(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A port P that is free with P + 10000 free too, and neither clashing with the
// ports (and bus ports) of nodes already placed.
std::uint16_t free_cluster_port(const std::vector<std::uint16_t>& taken) {
  auto clashes = [&taken](std::uint16_t p) {
    return std::any_of(taken.begin(), taken.end(), [p](std::uint16_t t) {
      return p == t || p == t + kBusOffset || p + kBusOffset == t;
    });
  };
  for (int i = 0; i < kPortCandidates; ++i) {
    std::uint16_t p = free_port();
    if (p <= kMaxPort && !clashes(p) && port_is_free(static_cast<std::uint16_t>(p + kBusOffset))) return p;
  }
  throw std::runtime_error("RedisCluster: no free port P <= 55535 with P + 10000 free in " +
                           std::to_string(kPortCandidates) + " tries");
}

std::string ms_string(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

// ---- ClusterJob -------------------------------------------------------------------

RunResult ClusterJob::wait(std::chrono::milliseconds timeout) {
  RunResult result;
  if (auto status = child_.wait_for(timeout)) {
    result.exit_code = *status;
  } else {
    child_.kill9();
    result.timed_out = true;
  }
  result.stdout_text = read_file(dir_.file("stdout"));
  result.stderr_text = read_file(dir_.file("stderr"));
  return result;
}

std::string ClusterJob::output() const { return read_file(dir_.file("stdout")) + read_file(dir_.file("stderr")); }

// ---- RedisCluster -------------------------------------------------------------------

RedisCluster::RedisCluster(RedisClusterOptions options)
    : options_(std::move(options)),
      server_binary_(find_executable("redis-server", "/usr/bin/redis-server")),
      cli_binary_(find_executable("redis-cli", "/usr/bin/redis-cli")) {
  if (server_binary_.empty()) throw std::runtime_error("redis-server not found on PATH or at /usr/bin/redis-server");
  if (cli_binary_.empty()) throw std::runtime_error("redis-cli not found on PATH or at /usr/bin/redis-cli");
  if (options_.masters == 0) throw std::invalid_argument("RedisCluster needs at least one master");
}

RedisCluster::~RedisCluster() {
  {
    std::lock_guard lock(mu_);
    clients_.clear();
  }
  for (auto& n : nodes_) n.child.kill9();
}

std::string RedisCluster::address(std::size_t i) const { return "127.0.0.1:" + std::to_string(port(i)); }

std::string RedisCluster::url(std::size_t i) const { return "redis://" + address(i) + "/0"; }

std::string RedisCluster::seeds() const {
  std::string out;
  for (std::size_t i = 0; i < nodes_.size(); ++i) out += (i == 0 ? "" : ",") + address(i);
  return out;
}

std::string RedisCluster::log_text(std::size_t i) const { return read_file(nodes_.at(i).dir.file("redis.log")); }

std::string RedisCluster::logs() const {
  std::string out;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    out += "\n--- node " + std::to_string(i) + " (" + address(i) + ") log ---\n" + log_tail(log_text(i));
  }
  return out;
}

void RedisCluster::launch(std::size_t i) {
  Node& n = nodes_[i];
  std::vector<std::string> argv{server_binary_,
                                "--port", std::to_string(n.port),
                                "--bind", "127.0.0.1",
                                "--dir", n.dir.path(),
                                "--daemonize", "no",
                                "--logfile", "",
                                "--save", "",
                                "--cluster-enabled", "yes",
                                "--cluster-config-file", "nodes.conf",
                                "--cluster-node-timeout", std::to_string(options_.node_timeout.count()),
                                "--appendonly", options_.appendonly ? "yes" : "no",
                                "--appendfsync", options_.appendfsync_always ? "always" : "everysec",
                                "--enable-debug-command", "local"};
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  SpawnOptions spawn;
  spawn.stdout_path = n.dir.file("redis.log");
  spawn.stderr_path = spawn.stdout_path;
  spawn.working_dir = n.dir.path();
  n.child = ChildProcess::spawn(argv, spawn);
}

std::string RedisCluster::wait_ready(std::size_t i, bool& clash) {
  Node& n = nodes_[i];
  clash = false;
  auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  std::string last_error = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    if (!n.child.running()) {
      // Either port (client or bus) taken makes redis-server exit with this.
      clash = log_text(i).find("Address already in use") != std::string::npos;
      return "redis-server exited with status " + std::to_string(n.child.exit_status().value_or(-1));
    }
    try {
      RedisClient probe("127.0.0.1", n.port, std::chrono::milliseconds(500));
      RedisReply pong = probe.command({"PING"});
      if (pong.is_string() && pong.str == "PONG") {
        // Ours, not another redis-server on a reused port.
        RedisReply info = probe.command({"INFO", "server"});
        if (info.str.find("process_id:" + std::to_string(n.child.pid()) + "\r\n") != std::string::npos) return {};
        clash = true;
        return "another redis-server answers on port " + std::to_string(n.port);
      }
      last_error = "PING answered " + pong.debug_string();  // e.g. LOADING
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "no PONG within " + ms_string(options_.start_timeout) + " (" + last_error + ")";
}

void RedisCluster::start_first(std::size_t i, std::vector<std::uint16_t>& taken) {
  std::string why;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    nodes_[i].port = free_cluster_port(taken);
    launch(i);
    bool clash = false;
    why = wait_ready(i, clash);
    if (why.empty()) {
      taken.push_back(nodes_[i].port);
      return;
    }
    nodes_[i].child.kill9();
    if (!clash) break;
  }
  throw std::runtime_error("RedisCluster: node " + std::to_string(i) + " on port " + std::to_string(nodes_[i].port) +
                           " failed: " + why + "\n--- redis log ---\n" + log_tail(log_text(i)));
}

void RedisCluster::start() {
  if (!nodes_.empty()) throw std::logic_error("RedisCluster::start called twice; use start_node(i)");
  nodes_.reserve(options_.masters);
  for (std::size_t i = 0; i < options_.masters; ++i) nodes_.push_back(Node{TempDir("ms-cluster"), 0, {}, {}});
  {
    std::lock_guard lock(mu_);
    clients_.resize(nodes_.size());
  }
  std::vector<std::uint16_t> taken;
  for (std::size_t i = 0; i < nodes_.size(); ++i) start_first(i, taken);

  std::vector<std::string> create{cli_binary_, "--cluster", "create"};
  for (std::size_t i = 0; i < nodes_.size(); ++i) create.push_back(address(i));
  create.insert(create.end(), {"--cluster-replicas", "0", "--cluster-yes"});
  RunResult r = run_command(create, std::chrono::seconds(30));
  if (r.exit_code != 0) {
    throw std::runtime_error("redis-cli --cluster create exited " + std::to_string(r.exit_code) +
                             (r.timed_out ? " (timed out)" : "") + ":\n" + r.stdout_text + r.stderr_text + logs());
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    Reply id = command(i, {"CLUSTER", "MYID"});
    if (!id.is_string() || id.str.empty()) throw std::runtime_error("CLUSTER MYID answered " + id.debug_string());
    nodes_[i].id = id.str;
  }
  wait_ok();
}

// ---- commands -------------------------------------------------------------------------

void RedisCluster::reset_client(std::size_t i) {
  std::lock_guard lock(mu_);
  clients_.at(i).reset();
}

RedisReply RedisCluster::command(std::size_t i, const std::vector<std::string>& argv) {
  std::lock_guard lock(mu_);
  auto& c = clients_.at(i);
  if (!c) c.emplace("127.0.0.1", nodes_.at(i).port);
  return c->command(argv);
}

RedisClient RedisCluster::client(std::size_t i) const { return RedisClient("127.0.0.1", port(i)); }

RedisReply RedisCluster::expect_ok(std::size_t i, const std::vector<std::string>& argv) {
  Reply r = command(i, argv);
  if (r.is_error()) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    throw std::runtime_error(cmd + " on node " + std::to_string(i) + " answered " + r.debug_string());
  }
  return r;
}

std::size_t RedisCluster::any_running() {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].child.running()) return i;
  }
  throw std::runtime_error("RedisCluster: no node is running");
}

std::size_t RedisCluster::index_of_port(std::uint16_t p) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].port == p) return i;
  }
  throw std::runtime_error("RedisCluster: no node on port " + std::to_string(p));
}

int RedisCluster::keyslot(const std::string& key) {
  Reply r = expect_ok(any_running(), {"CLUSTER", "KEYSLOT", key});
  return static_cast<int>(r.integer);
}

std::vector<int> RedisCluster::slot_owners(std::size_t i) {
  std::vector<int> owners(kSlots, -1);
  Reply r = expect_ok(i, {"CLUSTER", "SLOTS"});
  // [[start, end, [ip, port, id, {metadata}], replica...], ...]
  for (const auto& range : r.elements) {
    if (range.elements.size() < 3 || range.elements[2].elements.size() < 2) {
      throw std::runtime_error("unexpected CLUSTER SLOTS entry " + range.debug_string());
    }
    int owner = -1;
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      if (nodes_[n].port == range.elements[2].elements[1].integer) owner = static_cast<int>(n);
    }
    for (long long s = range.elements[0].integer; s <= range.elements[1].integer && s < kSlots; ++s) {
      owners[static_cast<std::size_t>(s)] = owner;
    }
  }
  return owners;
}

std::size_t RedisCluster::node_of_slot(int slot) {
  if (slot < 0 || slot >= kSlots) throw std::invalid_argument("slot out of range: " + std::to_string(slot));
  int owner = slot_owners(any_running())[static_cast<std::size_t>(slot)];
  if (owner < 0) throw std::runtime_error("slot " + std::to_string(slot) + " has no known owner");
  return static_cast<std::size_t>(owner);
}

RedisReply RedisCluster::command_on_owner(const std::vector<std::string>& argv, const std::string& key) {
  std::size_t owner = node_of_key(key);
  Reply r = command(owner, argv);
  if (!r.is_error()) return r;
  // "-ASK 3999 127.0.0.1:6381" / "-MOVED 3999 127.0.0.1:6381"
  const bool ask = r.str.rfind("ASK ", 0) == 0;
  if (!ask && r.str.rfind("MOVED ", 0) != 0) return r;
  auto colon = r.str.rfind(':');
  if (colon == std::string::npos) return r;
  std::size_t target = index_of_port(static_cast<std::uint16_t>(std::stoi(r.str.substr(colon + 1))));
  if (!ask) return command(target, argv);
  // ASKING holds for the next command on the same connection only: a private one.
  RedisClient c = client(target);
  Reply asking = c.command({"ASKING"});
  if (!asking.is_ok()) return asking;
  return c.command(argv);
}

std::string RedisCluster::state(std::size_t i) {
  try {
    Reply info = command(i, {"CLUSTER", "INFO"});
    const std::string tag = "cluster_state:";
    auto at = info.str.find(tag);
    if (at == std::string::npos) return "no cluster_state in " + info.debug_string();
    auto end = info.str.find_first_of("\r\n", at);
    return info.str.substr(at + tag.size(), end - at - tag.size());
  } catch (const std::exception& e) {
    return std::string("unreachable: ") + e.what();
  }
}

// ---- node lifecycle -------------------------------------------------------------------

bool RedisCluster::running(std::size_t i) { return nodes_.at(i).child.running(); }

void RedisCluster::stop(std::size_t i) {
  nodes_.at(i).child.terminate(std::chrono::seconds(10));
  reset_client(i);
}

void RedisCluster::kill9(std::size_t i) {
  nodes_.at(i).child.kill9();
  reset_client(i);
}

void RedisCluster::start_node(std::size_t i) {
  if (running(i)) return;
  reset_client(i);
  launch(i);
  bool clash = false;
  std::string why = wait_ready(i, clash);
  if (!why.empty()) {
    nodes_[i].child.kill9();
    throw std::runtime_error("RedisCluster: restart of node " + std::to_string(i) + " on port " +
                             std::to_string(nodes_[i].port) + " failed: " + why + "\n--- redis log ---\n" +
                             log_tail(log_text(i)));
  }
}

void RedisCluster::restart(std::size_t i) {
  if (running(i)) stop(i);
  start_node(i);
  wait_ok();
}

void RedisCluster::wait_ok(std::optional<std::chrono::milliseconds> timeout) {
  const auto limit = timeout.value_or(options_.ok_timeout);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string why;
  for (;;) {
    why.clear();
    std::optional<std::vector<int>> first;
    for (std::size_t i = 0; i < nodes_.size() && why.empty(); ++i) {
      if (!nodes_[i].child.running()) continue;
      std::string s = state(i);
      if (s != "ok") {
        why = "node " + std::to_string(i) + " cluster_state:" + s;
        break;
      }
      try {
        std::vector<int> owners = slot_owners(i);
        auto hole = std::find(owners.begin(), owners.end(), -1);
        if (hole != owners.end()) {
          why = "node " + std::to_string(i) + " sees slot " + std::to_string(hole - owners.begin()) + " uncovered";
        } else if (!first) {
          first = std::move(owners);
        } else if (owners != *first) {
          why = "node " + std::to_string(i) + " disagrees about the slot owners";
        }
      } catch (const std::exception& e) {
        why = "node " + std::to_string(i) + ": " + e.what();
      }
    }
    if (why.empty() && !first) why = "no node is running";
    if (why.empty()) return;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPoll);
  }
  throw std::runtime_error("RedisCluster: not ok within " + ms_string(limit) + ": " + why + logs());
}

// ---- resharding -------------------------------------------------------------------------

std::vector<std::string> RedisCluster::reshard_argv(std::size_t from, std::size_t to, int slots, int pipeline) {
  return {cli_binary_,
          "--cluster", "reshard", address(any_running()),
          "--cluster-from", node_id(from),
          "--cluster-to", node_id(to),
          "--cluster-slots", std::to_string(slots),
          "--cluster-pipeline", std::to_string(pipeline),
          "--cluster-yes"};
}

RunResult RedisCluster::reshard(std::size_t from, std::size_t to, int slots, std::chrono::milliseconds timeout) {
  RunResult r = run_command(reshard_argv(from, to, slots, 10), timeout);
  if (r.exit_code != 0) {
    throw std::runtime_error("redis-cli --cluster reshard exited " + std::to_string(r.exit_code) +
                             (r.timed_out ? " (timed out)" : "") + ":\n" + log_tail(r.stdout_text + r.stderr_text));
  }
  wait_ok();
  return r;
}

ClusterJob RedisCluster::reshard_async(std::size_t from, std::size_t to, int slots, int pipeline) {
  TempDir dir("ms-reshard");
  SpawnOptions spawn;
  spawn.stdout_path = dir.file("stdout");
  spawn.stderr_path = dir.file("stderr");
  ChildProcess child = ChildProcess::spawn(reshard_argv(from, to, slots, pipeline), spawn);
  return ClusterJob(std::move(child), std::move(dir));
}

std::size_t RedisCluster::migrate_keys(int slot, std::size_t from, std::size_t to, std::size_t max_keys) {
  constexpr std::size_t kBatch = 100;
  std::size_t moved = 0;
  while (moved < max_keys) {
    std::size_t want = std::min(kBatch, max_keys - moved);
    Reply keys = expect_ok(from, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), std::to_string(want)});
    if (keys.elements.empty()) break;
    std::vector<std::string> migrate{"MIGRATE", "127.0.0.1", std::to_string(port(to)), "", "0", "5000", "KEYS"};
    for (const auto& k : keys.elements) migrate.push_back(k.str);
    expect_ok(from, migrate);
    moved += keys.elements.size();
  }
  return moved;
}

void RedisCluster::move_slot(int slot, std::size_t from, std::size_t to, MoveSlotOptions options) {
  const std::string s = std::to_string(slot);
  // Target first, as redis-cli does: from the moment the source says MIGRATING,
  // its -ASK redirects must find a target that accepts ASKING.
  expect_ok(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", node_id(from)});
  expect_ok(from, {"CLUSTER", "SETSLOT", s, "MIGRATING", node_id(to)});
  migrate_keys(slot, from, to, options.max_keys);
  if (options.finish) finish_move(slot, from, to);
}

void RedisCluster::finish_move(int slot, std::size_t from, std::size_t to) {
  const std::string s = std::to_string(slot);
  migrate_keys(slot, from, to, std::numeric_limits<std::size_t>::max());
  // Target, then source, then the others (the order redis-cli uses), so that no
  // node redirects to a node that does not yet think it owns the slot.
  expect_ok(to, {"CLUSTER", "SETSLOT", s, "NODE", node_id(to)});
  expect_ok(from, {"CLUSTER", "SETSLOT", s, "NODE", node_id(to)});
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (i != from && i != to && running(i)) expect_ok(i, {"CLUSTER", "SETSLOT", s, "NODE", node_id(to)});
  }
  wait_ok();
}

}  // namespace ms::test
