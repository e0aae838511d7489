// The delivery path's metrics, declared once (observe/metrics.h). Process-wide;
// each subscription's worker holds pointers to its own series (DeliverySeries),
// created when the worker starts and removed when the subscription is deleted.
#pragma once

#include "observe/metrics.h"

#include <string>

namespace ms::subscribe {

struct DeliveryMetrics {
  // messaging_deliveries_total{subscription,outcome}: one per attempt — success
  // (2xx), failure (other status, connection error, refused address), timeout —
  // and dead_lettered once per message moved to the DLQ.
  prometheus::Family<prometheus::Counter>& deliveries;
  prometheus::Histogram& attempt_duration;  // messaging_delivery_duration_seconds: one webhook request
  prometheus::Histogram& end_to_end;        // messaging_end_to_end_latency_seconds: published_at → 2xx
  // Set at scrape time from the subscriptions' stats (api/metrics_handler.cpp).
  prometheus::Family<prometheus::Gauge>& backlog;       // messaging_subscription_backlog{subscription}
  prometheus::Family<prometheus::Gauge>& dead_letters;  // messaging_dead_letters{subscription}
  prometheus::Family<prometheus::Gauge>& at_risk;       // messaging_subscription_at_risk{subscription}
  prometheus::Gauge& in_flight;                         // messaging_deliveries_in_flight (this process)

  static DeliveryMetrics& get();
};

// One subscription's counters.
struct DeliverySeries {
  prometheus::Counter* success = nullptr;
  prometheus::Counter* failure = nullptr;
  prometheus::Counter* timeout = nullptr;
  prometheus::Counter* dead_lettered = nullptr;

  static DeliverySeries add(const std::string& subscription_id);
  void remove();
};

inline DeliveryMetrics& DeliveryMetrics::get() {
  static DeliveryMetrics m = [] {
    auto& r = observe::metrics_registry();
    auto& deliveries = prometheus::BuildCounter()
                           .Name("messaging_deliveries_total")
                           .Help("Webhook delivery attempts by outcome (success, failure, timeout), and messages "
                                 "dead-lettered (dead_lettered).")
                           .Register(r);
    auto& duration = prometheus::BuildHistogram()
                         .Name("messaging_delivery_duration_seconds")
                         .Help("Duration of one webhook request, from sending to the response (or the failure).")
                         .Register(r);
    auto& e2e = prometheus::BuildHistogram()
                    .Name("messaging_end_to_end_latency_seconds")
                    .Help("From a message's published_at to its successful delivery (2xx).")
                    .Register(r);
    auto& backlog = prometheus::BuildGauge()
                        .Name("messaging_subscription_backlog")
                        .Help("Messages of the subscription's channels not yet delivered (read at scrape time).")
                        .Register(r);
    auto& dlq = prometheus::BuildGauge()
                    .Name("messaging_dead_letters")
                    .Help("Messages in the subscription's dead-letter queue (read at scrape time).")
                    .Register(r);
    auto& at_risk = prometheus::BuildGauge()
                        .Name("messaging_subscription_at_risk")
                        .Help("Messages owed to the subscription that retention has trimmed or is about to trim "
                              "(stats.at_risk, read at scrape time).")
                        .Register(r);
    auto& in_flight = prometheus::BuildGauge()
                          .Name("messaging_deliveries_in_flight")
                          .Help("Webhook deliveries this process has under way.")
                          .Register(r);
    return DeliveryMetrics{deliveries,
                           duration.Add({}, observe::latency_buckets()),
                           e2e.Add({}, observe::latency_buckets()),
                           backlog,
                           dlq,
                           at_risk,
                           in_flight.Add({})};
  }();
  return m;
}

inline DeliverySeries DeliverySeries::add(const std::string& id) {
  auto& f = DeliveryMetrics::get().deliveries;
  return DeliverySeries{&f.Add({{"subscription", id}, {"outcome", "success"}}),
                        &f.Add({{"subscription", id}, {"outcome", "failure"}}),
                        &f.Add({{"subscription", id}, {"outcome", "timeout"}}),
                        &f.Add({{"subscription", id}, {"outcome", "dead_lettered"}})};
}

inline void DeliverySeries::remove() {
  auto& f = DeliveryMetrics::get().deliveries;
  for (auto* c : {success, failure, timeout, dead_lettered}) {
    if (c) f.Remove(c);
  }
  *this = {};
}

}  // namespace ms::subscribe
