// Wiring only: config → shards (io_context + Redis connection + components +
// HTTP server per core) → run → graceful shutdown on SIGTERM/SIGINT.
#include "api/access.h"
#include "api/context.h"
#include "api/errors.h"
#include "api/shard_sampler.h"
#include "config/config.h"
#include "http/server.h"
#include "http/ssrf_guard.h"
#include "http/webhook_client.h"
#include "messaging/redis_keys.h"
#include "observe/log.h"
#include "observe/metrics.h"
#include "observe/otlp_exporter.h"
#include "observe/tracer.h"
#include "publish/channel_reader.h"
#include "publish/event_publisher.h"
#include "redis/cluster_client.h"
#include "redis/connection.h"
#include "redis/redis_url.h"
#include "subscribe/acknowledgments.h"
#include "subscribe/dead_letter_queue.h"
#include "subscribe/dispatcher.h"
#include "subscribe/subscription_store.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdio>
#include <functional>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace ms;

// One core's worth of the service; everything in it runs on its own thread.
struct Shard {
  asio::io_context ioc{1};
  std::unique_ptr<redis::Client> redis;
  std::unique_ptr<publish::EventPublisher> publisher;
  std::unique_ptr<publish::ChannelReader> channels;
  std::unique_ptr<subscribe::SubscriptionStore> subscriptions;
  std::unique_ptr<subscribe::DeadLetterQueue> dead_letters;
  std::unique_ptr<subscribe::Acknowledgments> acks;
  std::unique_ptr<http::WebhookClient> webhooks;
  std::unique_ptr<subscribe::Dispatcher> dispatcher;
  std::unique_ptr<api::Context> ctx;
  http::Router router;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<api::ShardSampler> sampler;
};

// Once everything is closed, a shard's dispatcher tasks unwind within a few turns
// of its loop; this bounds that wait should one of them be stuck (a bug).
constexpr std::chrono::milliseconds kUnwindGrace{2000};

}  // namespace

int main(int argc, char** argv) {
  auto parsed = config::parse(argc, argv, [](const char* name) -> const char* { return std::getenv(name); });
  if (!parsed.config) {
    (parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.output << (parsed.output.empty() ? "" : "\n");
    return parsed.exit_code;
  }
  const config::Config cfg = std::move(*parsed.config);
  observe::init_logging(cfg.log_level, cfg.log_format);
  auto log = observe::logger("main");

  auto endpoint = redis::parse_redis_url(cfg.redis_url);
  if (!endpoint) {
    std::cerr << "messaging_service: --redis-url: cannot parse '" << cfg.redis_url << "'\n";
    return 2;
  }

  // Cluster mode: the seeds, with the credentials of --redis-url.
  std::vector<redis::Endpoint> cluster_seeds;
  for (const auto& node : cfg.redis_cluster_nodes) {
    auto seed = redis::parse_redis_url("redis://" + node);
    if (!seed) {
      std::cerr << "messaging_service: --redis-cluster-nodes: cannot parse '" << node << "'\n";
      return 2;
    }
    redis::Endpoint e = *endpoint;
    e.host = seed->host;
    e.port = seed->port;
    cluster_seeds.push_back(std::move(e));
  }
  if (!cluster_seeds.empty() && endpoint->db != 0) {
    std::cerr << "messaging_service: --redis-url selects database " << endpoint->db
              << ", but a Redis Cluster has only database 0\n";
    return 2;
  }

  // Tracing: OTEL_* variables (docs/observability.md); no endpoint, no exporter.
  auto otel = observe::otlp_config_from_env(observe::process_environment(),
                                            {std::string(config::kVersion), cfg.instance_id});
  for (const auto& w : otel.warnings) log->warn("tracing: {}", w);
  std::unique_ptr<observe::OtlpExporter> exporter;
  if (otel.enabled()) {
    try {
      exporter = std::make_unique<observe::OtlpExporter>(otel);
    } catch (const std::exception& e) {
      std::cerr << "messaging_service: tracing: " << e.what() << "\n";
      return 2;
    }
    log->info("tracing: exporting spans to {}", otel.endpoint->url);
  }
  observe::Tracer::Sink sink;
  if (exporter) sink = [e = exporter.get()](observe::SpanData span) { e->export_span(std::move(span)); };
  observe::Tracer::get().configure(std::move(sink),
                                   [sampler = otel.sampler](const observe::TraceId& id, std::optional<bool> parent) {
                                     return observe::should_sample(sampler, id, parent);
                                   });

  api::ProcessState process;
  subscribe::DispatcherCounters delivery_counters;
  std::shared_ptr<const http::SsrfGuard> guard;
  try {
    guard = std::make_shared<const http::SsrfGuard>(cfg.endpoint_allow);
  } catch (const std::exception& e) {
    std::cerr << "messaging_service: --endpoint-allow: " << e.what() << "\n";
    return 2;
  }
  const api::AccessGate access(cfg);
  http::ServerCounters counters;
  process.server = &counters;
  observe::channel_labels().set_cap(cfg.metrics_max_channels);
  std::vector<std::unique_ptr<Shard>> shards;
  std::uint16_t port = cfg.listen_port;
  for (unsigned i = 0; i < cfg.threads; ++i) {
    auto s = std::make_unique<Shard>();
    redis::ConnectionOptions ro;
    ro.endpoint = *endpoint;
    ro.command_timeout = std::chrono::milliseconds(cfg.redis_timeout_ms);
    ro.client_name = "messaging_service:" + cfg.instance_id;
    auto pubsub_opts = ro;
    pubsub_opts.client_name = ro.client_name + ":pubsub";
    if (cluster_seeds.empty()) {
      s->redis = std::make_unique<redis::Connection>(s->ioc.get_executor(), ro);
    } else {
      redis::ClusterOptions co;
      co.seeds = cluster_seeds;
      co.node = ro;
      s->redis = std::make_unique<redis::ClusterClient>(s->ioc.get_executor(), co);
      // Classic pub/sub reaches every node of a cluster: one connection to any
      // node serves it, the next seed taking over when that node is gone. Each
      // shard starts at another seed to spread the pub/sub connections.
      pubsub_opts.endpoint = cluster_seeds[i % cluster_seeds.size()];
      for (std::size_t k = 1; k < cluster_seeds.size(); ++k) {
        pubsub_opts.fallback_endpoints.push_back(cluster_seeds[(i + k) % cluster_seeds.size()]);
      }
    }
    messaging::RedisKeys keys(cfg.key_prefix);
    publish::PublisherOptions po;
    po.compress_min_bytes = cfg.compress_min_bytes;
    po.idempotency_window_ms = cfg.idempotency_window_ms;
    po.retention_max_messages = cfg.retention_max_messages;
    po.retention_max_age_ms = cfg.retention_max_age_ms;
    po.max_inflight = cfg.max_inflight_publishes;
    s->publisher = std::make_unique<publish::EventPublisher>(*s->redis, keys, po, process.inflight_publishes);
    s->channels = std::make_unique<publish::ChannelReader>(*s->redis, keys, cfg.max_body_bytes);
    s->subscriptions = std::make_unique<subscribe::SubscriptionStore>(*s->redis, keys, cfg.retention_max_messages);
    s->dead_letters = std::make_unique<subscribe::DeadLetterQueue>(*s->redis, keys, cfg.instance_id);
    s->acks = std::make_unique<subscribe::Acknowledgments>(*s->redis, keys);
    http::WebhookClientOptions wo;
    wo.max_connections_per_origin = cfg.webhook_pool_size;
    wo.ca_file = cfg.webhook_ca_file;
    wo.guard = guard;
    s->webhooks = std::make_unique<http::WebhookClient>(s->ioc.get_executor(), wo);
    subscribe::DispatcherOptions dopts;
    dopts.instance_id = cfg.instance_id;
    dopts.shard_index = i;
    dopts.shard_count = cfg.threads;
    dopts.max_message_bytes = cfg.max_body_bytes;
    dopts.lease = std::chrono::milliseconds(cfg.delivery_lease_ms);
    dopts.instance_timeout = std::chrono::milliseconds(cfg.instance_timeout_ms);
    s->dispatcher = std::make_unique<subscribe::Dispatcher>(s->ioc.get_executor(), *s->redis, pubsub_opts, keys,
                                                            *s->webhooks, dopts, delivery_counters);
    s->ctx = std::make_unique<api::Context>(api::Context{cfg, *s->redis, process, s->publisher.get(),
                                                         s->channels.get(), s->subscriptions.get(),
                                                         s->dead_letters.get(), s->acks.get(), guard.get(), &access});
    api::add_routes(s->router, *s->ctx);
    http::ServerOptions so;
    so.host = cfg.listen_host;
    so.port = port;
    so.max_body_bytes = cfg.max_body_bytes;
    so.request_timeout = std::chrono::milliseconds(cfg.request_timeout_ms);
    so.idle_timeout = std::chrono::milliseconds(cfg.idle_timeout_ms);
    so.max_connections = cfg.max_connections;
    so.max_header_count = cfg.max_header_count;
    so.max_url_bytes = cfg.max_url_bytes;
    so.error_response = [](int status, std::string_view msg) { return api::error_response(status, msg); };
    s->server = std::make_unique<http::Server>(s->ioc.get_executor(), so, s->router, counters);
    auto bound = s->server->listen();
    if (!bound) {
      std::cerr << "messaging_service: cannot listen on " << cfg.listen_host << ":" << port << ": "
                << bound.error().message() << "\n";
      return 1;
    }
    port = *bound;  // with port 0, the other shards share the one the kernel chose
    s->sampler = std::make_unique<api::ShardSampler>(s->ioc.get_executor(), *s->webhooks, i);
    process.shard_redis.push_back(s->redis.get());
    shards.push_back(std::move(s));
  }
  const std::string redis_where =
      cluster_seeds.empty() ? "redis " + endpoint->host + ":" + std::to_string(endpoint->port)
                            : "redis cluster (" + std::to_string(cluster_seeds.size()) + " seeds)";
  log->info("listening on {}:{} with {} thread(s), {}, instance {}", cfg.listen_host, port, cfg.threads, redis_where,
            cfg.instance_id);

  for (auto& s : shards) {
    s->redis->start();
    s->server->start();
    s->dispatcher->start();
    s->sampler->start();
  }

  // Shutdown: stop accepting and reading; in-flight requests and deliveries finish
  // (deliveries acknowledged in Redis); then each shard closes everything and stops
  // once its dispatcher's tasks have ended. The deadline cuts the first part short.
  auto& main_ioc = shards[0]->ioc;
  asio::signal_set signals(main_ioc, SIGINT, SIGTERM);
  asio::steady_timer deadline(main_ioc);
  auto remaining = std::make_shared<std::atomic<std::size_t>>(shards.size());
  bool closing = false;  // main_ioc only
  auto stop_all = [&shards, &closing, &log] {
    if (closing) return;
    closing = true;
    for (auto& s : shards) {
      asio::post(s->ioc, [sp = s.get(), &log] {
        sp->server->abort();
        sp->sampler->stop();
        sp->dispatcher->cancel();   // deliveries still in flight are abandoned (their leases bring them back)
        sp->webhooks->close_all();  // so their requests fail now
        sp->redis->stop();          // and so do their Redis calls
        auto grace = std::make_shared<asio::steady_timer>(sp->ioc, kUnwindGrace);
        grace->async_wait([sp, grace, &log](boost::system::error_code ec) {
          if (ec) return;
          log->warn("delivery tasks still running {} ms after close; stopping anyway", kUnwindGrace.count());
          sp->ioc.stop();
        });
        sp->dispatcher->stop([sp, grace] {
          grace->cancel();
          sp->ioc.stop();
        });
      });
    }
  };
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    log->info("signal {}: shutting down (deadline {} ms)", sig, cfg.shutdown_timeout_ms);
    process.shutting_down = true;
    deadline.expires_after(std::chrono::milliseconds(cfg.shutdown_timeout_ms));
    deadline.async_wait([&](boost::system::error_code dec) {
      if (!dec) {
        log->warn("shutdown deadline reached, closing remaining connections");
        stop_all();
      }
    });
    for (auto& s : shards) {
      asio::post(s->ioc, [&, sp = s.get()] {
        // The shard is idle once both its server and its dispatcher are (shard thread only).
        auto parts = std::make_shared<int>(2);
        auto part_done = [&, parts] {
          if (--*parts == 0 && remaining->fetch_sub(1) == 1) asio::post(main_ioc, [&] {
              deadline.cancel();
              stop_all();
            });
        };
        sp->dispatcher->stop(part_done);  // reads nothing new; in-flight deliveries finish and acknowledge
        sp->server->shutdown(part_done);
      });
    }
  });

  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < shards.size(); ++i) {
    threads.emplace_back([s = shards[i].get()] { s->ioc.run(); });
  }
  main_ioc.run();
  for (auto& t : threads) t.join();
  if (exporter) {
    observe::Tracer::get().configure({}, {});
    exporter->shutdown(std::chrono::steady_clock::now() + std::chrono::seconds(2));  // flush what is queued
  }
  log->info("stopped");
  return 0;
}
