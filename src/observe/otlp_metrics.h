// The trace exporter's metrics, declared once (observe/metrics.h). Process-wide:
// every OtlpExporter counts into the same series.
#pragma once

#include "observe/metrics.h"

namespace ms::observe {

struct OtlpMetrics {
  prometheus::Counter& exported;                     // messaging_trace_spans_exported_total
  prometheus::Family<prometheus::Counter>& dropped;  // messaging_trace_spans_dropped_total{reason}
  prometheus::Counter& dropped_queue_full;           //   reason="queue_full": the queue was at max_queue_size
  prometheus::Counter& dropped_export_failed;        //   reason="export_failed": in a batch given up
  prometheus::Counter& dropped_rejected;             //   reason="rejected": 2xx with partialSuccess.rejectedSpans
  prometheus::Counter& dropped_shutdown;             //   reason="shutdown": queued at the shutdown deadline, or after
  prometheus::Counter& export_failures;              // messaging_trace_export_failures_total: batches given up

  static OtlpMetrics& get();
};

inline OtlpMetrics& OtlpMetrics::get() {
  static OtlpMetrics m = [] {
    auto& r = metrics_registry();
    auto& exported = prometheus::BuildCounter()
                         .Name("messaging_trace_spans_exported_total")
                         .Help("Spans accepted by the OTLP collector.")
                         .Register(r);
    auto& dropped = prometheus::BuildCounter()
                        .Name("messaging_trace_spans_dropped_total")
                        .Help("Finished spans that were not exported, by reason.")
                        .Register(r);
    auto& failures = prometheus::BuildCounter()
                         .Name("messaging_trace_export_failures_total")
                         .Help("OTLP export batches given up after their tries (their spans count as dropped).")
                         .Register(r);
    return OtlpMetrics{exported.Add({}),
                       dropped,
                       dropped.Add({{"reason", "queue_full"}}),
                       dropped.Add({{"reason", "export_failed"}}),
                       dropped.Add({{"reason", "rejected"}}),
                       dropped.Add({{"reason", "shutdown"}}),
                       failures.Add({})};
  }();
  return m;
}

}  // namespace ms::observe
