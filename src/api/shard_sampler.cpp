#include "api/shard_sampler.h"

#include "observe/metrics.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <string>

namespace ms::api {

namespace asio = boost::asio;

namespace {
struct PoolGauges {
  prometheus::Family<prometheus::Gauge>& connections;
  prometheus::Family<prometheus::Gauge>& waiting;
  prometheus::Family<prometheus::Gauge>& origins;

  static PoolGauges& get() {
    static PoolGauges g = [] {
      auto& r = observe::metrics_registry();
      return PoolGauges{prometheus::BuildGauge()
                            .Name("messaging_webhook_connections")
                            .Help("Webhook client connections per shard: open (busy or idle) and idle (pooled).")
                            .Register(r),
                        prometheus::BuildGauge()
                            .Name("messaging_webhook_waiting")
                            .Help("Deliveries waiting for a webhook connection (per-origin pool cap reached).")
                            .Register(r),
                        prometheus::BuildGauge()
                            .Name("messaging_webhook_origins")
                            .Help("Webhook origins (scheme, host, port) with connections or waiters.")
                            .Register(r)};
    }();
    return g;
  }
};
}  // namespace

struct ShardSampler::Impl : std::enable_shared_from_this<Impl> {
  const http::WebhookClient& webhooks;
  asio::steady_timer timer;
  bool stopped = false;
  prometheus::Gauge& open;
  prometheus::Gauge& idle;
  prometheus::Gauge& waiting;
  prometheus::Gauge& origins;

  Impl(asio::any_io_executor ex, const http::WebhookClient& w, unsigned shard)
      : webhooks(w),
        timer(ex),
        open(PoolGauges::get().connections.Add({{"shard", std::to_string(shard)}, {"state", "open"}})),
        idle(PoolGauges::get().connections.Add({{"shard", std::to_string(shard)}, {"state", "idle"}})),
        waiting(PoolGauges::get().waiting.Add({{"shard", std::to_string(shard)}})),
        origins(PoolGauges::get().origins.Add({{"shard", std::to_string(shard)}})) {}

  void sample() {
    const auto s = webhooks.stats();
    open.Set(static_cast<double>(s.open));
    idle.Set(static_cast<double>(s.idle));
    waiting.Set(static_cast<double>(s.waiting));
    origins.Set(static_cast<double>(s.origins));
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    while (!stopped) {
      sample();
      timer.expires_after(std::chrono::seconds(1));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
};

ShardSampler::ShardSampler(asio::any_io_executor ex, const http::WebhookClient& webhooks, unsigned shard)
    : impl_(std::make_shared<Impl>(std::move(ex), webhooks, shard)) {}

ShardSampler::~ShardSampler() { stop(); }

void ShardSampler::start() { asio::co_spawn(impl_->timer.get_executor(), impl_->run(), asio::detached); }

void ShardSampler::stop() {
  impl_->stopped = true;
  impl_->timer.cancel();
}

}  // namespace ms::api
