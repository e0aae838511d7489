#include "redis/cluster_client.h"

#include "observe/log.h"
#include "redis/cluster_slots.h"
#include "redis/errors.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>

namespace ms::redis {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

namespace {
constexpr std::chrono::milliseconds kHealthPeriod{100};
constexpr std::chrono::milliseconds kMinRefreshGap{100};

std::string node_name(const std::string& host, std::uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }
}  // namespace

struct ClusterClient::Impl : std::enable_shared_from_this<ClusterClient::Impl> {
  asio::any_io_executor ex;
  ClusterOptions opts;
  std::map<std::string, std::unique_ptr<Connection>> nodes;  // "host:port" → connection
  std::map<const Connection*, Clock::time_point> born;        // when each node connection was made
  std::vector<Connection*> slots = std::vector<Connection*>(cluster::kSlotCount, nullptr);
  bool map_known = false;
  bool stopped = false;
  bool started = false;
  bool refreshing = false;
  bool refresh_wanted = false;
  Clock::time_point last_refresh{};
  std::uint64_t loads = 0;
  std::vector<Connection*> masters;  // the distinct owners in `slots`
  std::size_t uncovered = 0;         // slots without a master in the map
  std::size_t next_any = 0;  // rotates keyless commands over the nodes
  asio::steady_timer health_timer;
  std::vector<std::function<void()>> on_connect;
  std::atomic<bool> up{false};
  mutable std::mutex error_mu;
  std::string error = "cluster slot map not loaded yet";
  std::shared_ptr<spdlog::logger> log = observe::logger("redis");

  Impl(asio::any_io_executor e, ClusterOptions o) : ex(std::move(e)), opts(std::move(o)), health_timer(ex) {}

  void set_error(std::string e) {
    std::lock_guard lock(error_mu);
    error = std::move(e);
  }

  Connection* node(const std::string& host, std::uint16_t port) {
    auto name = node_name(host, port);
    auto it = nodes.find(name);
    if (it != nodes.end()) return it->second.get();
    ConnectionOptions co = opts.node;
    co.endpoint = opts.seeds.empty() ? Endpoint{} : opts.seeds.front();  // credentials
    co.endpoint.host = host;
    co.endpoint.port = port;
    co.endpoint.db = 0;  // a cluster has only database 0
    co.fallback_endpoints.clear();
    auto conn = std::make_unique<Connection>(ex, co);
    std::weak_ptr<Impl> weak = weak_from_this();
    conn->on_connect([weak] {
      if (auto self = weak.lock()) {
        if (!self->map_known) self->request_refresh();  // the first node up: learn the map now
        for (auto& fn : self->on_connect) fn();
      }
    });
    auto* raw = conn.get();
    born[raw] = Clock::now();
    nodes.emplace(name, std::move(conn));
    if (started && !stopped) raw->start();
    return raw;
  }

  // Any connected node, rotating, preferring masters of the map; nullptr if none.
  Connection* any_node() {
    if (nodes.empty()) return nullptr;
    std::vector<Connection*> up_nodes;
    for (auto& [name, c] : nodes) {
      if (c->connected()) up_nodes.push_back(c.get());
    }
    if (up_nodes.empty()) return nullptr;
    return up_nodes[next_any++ % up_nodes.size()];
  }

  asio::awaitable<bool> sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(ex, d);
    co_await t.async_wait(kUseTuple);
    co_return !stopped;
  }

  // Waits for a node that was just created (after MOVED / ASK) to connect.
  // (No co_await inside conditions here: g++ 12 miscompiles some of those.)
  asio::awaitable<bool> wait_connected(Connection* c, Clock::time_point deadline) {
    for (;;) {
      if (c->connected()) co_return true;
      if (stopped || Clock::now() >= deadline) co_return false;
      const bool alive = co_await sleep(std::chrono::milliseconds(5));
      if (!alive) co_return false;
    }
  }

  void request_refresh() {
    if (stopped) return;
    if (refreshing) {
      refresh_wanted = true;
      return;
    }
    refreshing = true;
    asio::co_spawn(ex, refresh_loop(), asio::detached);
  }

  asio::awaitable<void> refresh_loop() {
    auto self = shared_from_this();
    do {
      refresh_wanted = false;
      auto gap = kMinRefreshGap - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_refresh);
      if (gap.count() > 0) {
        const bool alive = co_await sleep(gap);
        if (!alive) break;
      }
      co_await refresh_once();
      last_refresh = Clock::now();
    } while (refresh_wanted && !stopped);
    refreshing = false;
  }

  // Asks the connected nodes in turn for CLUSTER SLOTS until one answers.
  asio::awaitable<void> refresh_once() {
    std::vector<Connection*> asked;
    for (auto& [name, c] : nodes) {
      if (c->connected()) asked.push_back(c.get());
    }
    if (asked.empty()) {
      set_error("no cluster node reachable");
      co_return;
    }
    std::string why;
    for (Connection* c : asked) {
      Command cmd{"CLUSTER", "SLOTS"};
      auto r = co_await c->exec(std::move(cmd));
      if (stopped) co_return;
      if (!r) {
        why = r.error().message();
        continue;
      }
      auto ranges = cluster::parse_cluster_slots(*r, c->endpoint().host, &why);
      if (!ranges) continue;
      apply(*ranges);
      co_return;
    }
    log->warn("cluster slot map not refreshed: {}", why);
    set_error("cluster slot map: " + why);
  }

  void apply(const std::vector<cluster::SlotRange>& ranges) {
    std::vector<Connection*> fresh(cluster::kSlotCount, nullptr);
    std::vector<Connection*> distinct;
    for (const auto& r : ranges) {
      Connection* c = node(r.host, r.port);
      if (std::find(distinct.begin(), distinct.end(), c) == distinct.end()) distinct.push_back(c);
      std::fill(fresh.begin() + r.first, fresh.begin() + r.last + 1, c);
    }
    const bool had_map = map_known;
    const auto before = masters.size();
    uncovered = static_cast<std::size_t>(std::count(fresh.begin(), fresh.end(), nullptr));
    slots = std::move(fresh);
    map_known = true;
    masters = std::move(distinct);
    ++loads;
    if (!had_map || before != masters.size()) {
      log->info("cluster slot map: {} masters, {} ranges", masters.size(), ranges.size());
    }
    update_health();
  }

  void update_health() {
    std::string why;
    if (!map_known) {
      why = "cluster slot map not loaded yet";
    } else {
      auto it = std::find_if(masters.begin(), masters.end(), [](Connection* c) { return !c->connected(); });
      Connection* down = it == masters.end() ? nullptr : *it;
      if (down) {
        auto e = down->last_error();
        why = node_name(down->endpoint().host, down->endpoint().port) + ": " + (e.empty() ? "not connected" : e);
      } else if (uncovered > 0) {
        why = std::to_string(uncovered) + " slots have no master";
      }
    }
    up = why.empty();
    set_error(std::move(why));
  }

  asio::awaitable<void> health_loop() {
    auto self = shared_from_this();
    Clock::time_point last_periodic = Clock::now();
    while (!stopped) {
      health_timer.expires_after(kHealthPeriod);
      co_await health_timer.async_wait(kUseTuple);
      if (stopped) break;
      update_health();
      const auto now = Clock::now();
      if (!map_known || !up || now - last_periodic >= opts.refresh_interval) {
        if (now - last_periodic >= opts.refresh_interval) last_periodic = now;
        request_refresh();
      }
    }
  }

  static int slot_of(const Command& cmd) {
    const auto key = cluster::routing_key(cmd);
    return key ? cluster::key_slot(*key) : -1;
  }

  // One command with redirects and retries, on the master of `slot` (-1: any
  // node). `cmd` stays ours: it may be resent.
  asio::awaitable<Result<Reply>> run(const Command& cmd, int slot) {
    auto self = shared_from_this();
    const auto deadline = Clock::now() + opts.retry_budget;
    Connection* ask_target = nullptr;
    int redirects = 0;
    bool redirected = false;
    for (int attempt = 1;; ++attempt) {
      Connection* target = ask_target ? ask_target : (slot >= 0 ? slots[static_cast<std::size_t>(slot)] : any_node());
      if (!target) {
        request_refresh();
        co_return make_error_code(stopped ? errc::shutting_down : errc::not_connected);
      }
      if (!target->connected()) {
        // A node just made (named by a redirect or the new map) may still be
        // connecting: give it a moment. One that was up and is down fails fast,
        // as one Connection does.
        bool ready = false;
        if (redirected || Clock::now() - born[target] < opts.node.connect_timeout) {
          const auto until = std::min<Clock::time_point>(deadline, Clock::now() + opts.node.connect_timeout);
          ready = co_await wait_connected(target, until);
        }
        if (!ready) {
          request_refresh();
          co_return make_error_code(stopped ? errc::shutting_down : errc::not_connected);
        }
      }
      Result<Reply> r = make_error_code(errc::not_connected);
      if (ask_target) {
        std::vector<Command> pair{{"ASKING"}, cmd};
        auto both = co_await target->exec_many(std::move(pair));
        r = std::move(both[1]);
        ask_target = nullptr;
      } else {
        r = co_await target->exec_ref(cmd);
      }
      if (stopped) co_return r;
      if (!r) {
        request_refresh();
        co_return r;
      }
      if (!r->is_error()) co_return r;
      if (auto red = cluster::parse_redirect(r->str)) {
        if (++redirects > opts.max_redirects) co_return r;
        redirected = true;
        if (red->host.empty()) red->host = target->endpoint().host;
        Connection* to = node(red->host, red->port);
        if (red->kind == cluster::Redirect::Kind::moved) {
          slots[static_cast<std::size_t>(red->slot)] = to;
          request_refresh();
        } else {
          ask_target = to;
        }
        continue;
      }
      if ((starts_with(r->str, "TRYAGAIN") || starts_with(r->str, "CLUSTERDOWN")) && Clock::now() < deadline) {
        // A multi-key script in a slot half migrated, or a cluster healing.
        const bool alive = co_await sleep(std::chrono::milliseconds(std::min(10 * attempt, 100)));
        if (!alive) co_return r;
        if (starts_with(r->str, "CLUSTERDOWN")) request_refresh();
        continue;
      }
      co_return r;
    }
  }
};

ClusterClient::ClusterClient(asio::any_io_executor ex, ClusterOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options))) {}

ClusterClient::~ClusterClient() { stop(); }

void ClusterClient::start() {
  auto& i = *impl_;
  if (i.started) return;
  i.started = true;
  for (const auto& s : i.opts.seeds) i.node(s.host, s.port);  // started as they are made
  asio::co_spawn(i.ex, i.health_loop(), asio::detached);
}

void ClusterClient::stop() {
  auto& i = *impl_;
  if (i.stopped) return;
  i.stopped = true;
  i.up = false;
  i.health_timer.cancel();
  for (auto& [name, c] : i.nodes) c->stop();
}

bool ClusterClient::connected() const { return impl_->up.load(std::memory_order_relaxed); }

std::string ClusterClient::last_error() const {
  std::lock_guard lock(impl_->error_mu);
  return impl_->error;
}

ConnectionStats ClusterClient::stats() const {
  ConnectionStats sum;
  for (const auto& [name, c] : impl_->nodes) {
    auto s = c->stats();
    sum.commands += s.commands;
    sum.writes += s.writes;
    sum.reconnects += s.reconnects;
  }
  return sum;
}

void ClusterClient::on_connect(std::function<void()> fn) { impl_->on_connect.push_back(std::move(fn)); }

std::size_t ClusterClient::master_count() const { return impl_->masters.size(); }
std::uint64_t ClusterClient::slot_map_loads() const { return impl_->loads; }

asio::awaitable<Result<Reply>> ClusterClient::exec(Command cmd) {
  auto impl = impl_;
  auto r = co_await impl->run(cmd, Impl::slot_of(cmd));
  co_return r;
}

void ClusterClient::exec_async(Command cmd, std::function<void(Result<Reply>)> done) {
  auto impl = impl_;
  asio::co_spawn(
      impl->ex,
      [impl, cmd = std::move(cmd)]() -> asio::awaitable<Result<Reply>> {
        auto r = co_await impl->run(cmd, Impl::slot_of(cmd));
        co_return r;
      },
      [done = std::move(done)](std::exception_ptr e, Result<Reply> r) {
        done(e ? Result<Reply>(make_error_code(errc::protocol_error)) : std::move(r));
      });
}

asio::awaitable<std::vector<Result<Reply>>> ClusterClient::exec_many(std::vector<Command> cmds) {
  using Results = std::vector<Result<Reply>>;
  auto impl = impl_;
  // Each command runs on its own (routed, redirected); they are spawned in order,
  // so the commands for one node still leave in one write, in order. A keyless
  // command goes where the command before it goes: HSET then PUBLISH "changed"
  // stay in order on one connection, as on a single server.
  auto initiate = [impl](auto handler, std::vector<Command> cs) {
    struct Gather {
      std::vector<Command> cmds;
      std::vector<int> slots;
      Results results;
      std::size_t remaining = 0;
      std::optional<decltype(handler)> done;
    };
    auto g = std::make_shared<Gather>();
    g->cmds = std::move(cs);
    for (const auto& c : g->cmds) {
      const int slot = Impl::slot_of(c);
      g->slots.push_back(slot >= 0 || g->slots.empty() ? slot : g->slots.back());
    }
    g->results.assign(g->cmds.size(), Result<Reply>(make_error_code(errc::not_connected)));
    g->remaining = g->cmds.size();
    g->done.emplace(std::move(handler));
    auto finish = [impl](std::shared_ptr<Gather> gather) {
      asio::post(impl->ex, [gather]() mutable { std::move(*gather->done)(std::move(gather->results)); });
    };
    if (g->cmds.empty()) {
      finish(g);
      return;
    }
    for (std::size_t i = 0; i < g->cmds.size(); ++i) {
      asio::co_spawn(
          impl->ex,
          [impl, g, i]() -> asio::awaitable<Result<Reply>> {
            auto r = co_await impl->run(g->cmds[i], g->slots[i]);
            co_return r;
          },
          [g, i, finish](std::exception_ptr e, Result<Reply> r) {
            g->results[i] = e ? Result<Reply>(make_error_code(errc::protocol_error)) : std::move(r);
            if (--g->remaining == 0) finish(g);
          });
    }
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Results)>(initiate, asio::use_awaitable,
                                                                                       std::move(cmds));
}

}  // namespace ms::redis
