// The publish path's metrics, declared once (observe/metrics.h). Process-wide;
// EventPublisher keeps per-shard pointers to the per-channel series.
#pragma once

#include "observe/metrics.h"

namespace ms::publish {

struct PublishMetrics {
  prometheus::Family<prometheus::Counter>& published;  // messaging_messages_published_total{channel}
  prometheus::Counter& duplicates;                     // idempotent repeats answered with the first result
  prometheus::Family<prometheus::Counter>& failures;   // messaging_publish_failures_total{reason}
  prometheus::Counter& unavailable;                    //   reason="unavailable" (Redis down, overload)
  prometheus::Counter& failed;                         //   reason="error" (Redis refused the script)
  prometheus::Histogram& duration;                     // messaging_publish_duration_seconds, per request

  static PublishMetrics& get();
};

inline PublishMetrics& PublishMetrics::get() {
  static PublishMetrics m = [] {
    auto& r = observe::metrics_registry();
    auto& published = prometheus::BuildCounter()
                          .Name("messaging_messages_published_total")
                          .Help("Messages persisted, by channel (beyond the channel label cap: \"other\").")
                          .Register(r);
    auto& dup = prometheus::BuildCounter()
                    .Name("messaging_publish_duplicates_total")
                    .Help("Publishes answered from an idempotency key's first result, storing nothing new.")
                    .Register(r);
    auto& failures = prometheus::BuildCounter()
                         .Name("messaging_publish_failures_total")
                         .Help("Messages not persisted, by reason.")
                         .Register(r);
    auto& duration = prometheus::BuildHistogram()
                         .Name("messaging_publish_duration_seconds")
                         .Help("Time from a publish request (one or a batch) reaching the publisher to Redis confirming it.")
                         .Register(r);
    return PublishMetrics{published,
                          dup.Add({}),
                          failures,
                          failures.Add({{"reason", "unavailable"}}),
                          failures.Add({{"reason", "error"}}),
                          duration.Add({}, observe::latency_buckets())};
  }();
  return m;
}

}  // namespace ms::publish
