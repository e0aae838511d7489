// GET /metrics: the Prometheus text exposition (API.md "Operations").
//
// Counters and histograms are kept by the components as they work; what lives in
// Redis (each subscription's backlog and dead letters, shared by every instance)
// is read at scrape time through the same SubscriptionStore::stats the API's
// subscription stats use, so the two agree.
#include "api/handlers.h"
#include "http/server.h"
#include "observe/metrics.h"
#include "subscribe/delivery_metrics.h"
#include "subscribe/subscription_store.h"

#include <mutex>
#include <set>

namespace ms::api {

namespace {

// Which subscriptions have gauges, so deleted ones lose theirs. Any shard may scrape.
struct ReportedSubscriptions {
  std::mutex mu;
  std::set<std::string> ids;
};
ReportedSubscriptions& reported() {
  static ReportedSubscriptions r;
  return r;
}

void set_subscription_gauges(const std::vector<std::pair<std::string, subscribe::SubscriptionStats>>& stats) {
  auto& m = subscribe::DeliveryMetrics::get();
  auto& r = reported();
  std::lock_guard lock(r.mu);
  std::set<std::string> now;
  for (const auto& [id, st] : stats) {
    m.backlog.Add({{"subscription", id}}).Set(static_cast<double>(st.backlog));
    m.dead_letters.Add({{"subscription", id}}).Set(static_cast<double>(st.dead_lettered));
    m.at_risk.Add({{"subscription", id}}).Set(static_cast<double>(st.at_risk));
    now.insert(id);
  }
  for (const auto& id : r.ids) {
    if (now.contains(id)) continue;
    m.backlog.Remove(&m.backlog.Add({{"subscription", id}}));
    m.dead_letters.Remove(&m.dead_letters.Add({{"subscription", id}}));
    m.at_risk.Remove(&m.at_risk.Add({{"subscription", id}}));
  }
  r.ids = std::move(now);
}

}  // namespace

Reply metrics(Context& ctx, http::RouteRequest) {
  bool redis_up = !ctx.process.shard_redis.empty();
  for (const auto* c : ctx.process.shard_redis) redis_up = redis_up && c->connected();
  if (ctx.subscriptions != nullptr && redis_up) {
    auto all = co_await ctx.subscriptions->load_all();
    if (all.value) {
      std::vector<std::pair<std::string, subscribe::SubscriptionStats>> stats;
      stats.reserve(all.value->size());
      bool complete = true;
      for (const auto& s : *all.value) {
        auto st = co_await ctx.subscriptions->stats(s);
        if (!st.value) {
          complete = false;  // keep the last values rather than drop series on a Redis hiccup
          break;
        }
        stats.emplace_back(s.id, *st.value);
      }
      if (complete) set_subscription_gauges(stats);
    }
  }
  std::vector<prometheus::MetricFamily> extra;
  extra.push_back(observe::gauge_family("messaging_redis_up", "1 when every Redis connection of this process is up.",
                                        redis_up ? 1 : 0));
  if (const auto* c = ctx.process.server) {
    extra.push_back(observe::gauge_family("messaging_http_connections", "HTTP connections open now.",
                                          static_cast<double>(c->connections.load())));
    extra.push_back(observe::counter_family("messaging_http_connections_accepted_total", "HTTP connections accepted.",
                                            static_cast<double>(c->accepted.load())));
    extra.push_back(observe::counter_family("messaging_http_connections_rejected_total",
                                            "HTTP connections closed at accept: --max-connections reached.",
                                            static_cast<double>(c->rejected.load())));
    extra.push_back(observe::counter_family("messaging_http_requests_total", "HTTP requests read.",
                                            static_cast<double>(c->requests.load())));
  }
  http::Response res;
  res.status = 200;
  res.content_type = "text/plain; version=0.0.4; charset=utf-8";
  res.body = observe::render_metrics(std::move(extra));
  co_return res;
}

}  // namespace ms::api
