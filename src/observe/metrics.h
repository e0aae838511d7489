// Metrics (API.md "Operations"): one prometheus-cpp registry for the process,
// served as Prometheus text by our own /metrics route (no civetweb exposer).
//
// Each component declares its metrics in one struct (publish/publish_metrics.h,
// subscribe/delivery_metrics.h, ...), registered once on this registry; hot paths
// keep pointers to their series and count without registry lookups.
//
// Thread-safe: prometheus-cpp series are atomics, families lock on Add/Remove.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace ms::observe {

prometheus::Registry& metrics_registry();

// Buckets for latencies from 100 µs to 30 s (roughly ×2.5 steps).
prometheus::Histogram::BucketBoundaries latency_buckets();

// The exposition: every registered family, the `extra` families (values read at
// scrape time by the caller), and process metrics (CPU, memory, open fds, start
// time) read now.
std::string render_metrics(std::vector<prometheus::MetricFamily> extra = {});

// One-sample families for values read at scrape time (a counter kept elsewhere,
// e.g. in an atomic, is exposed as a counter without a prometheus::Counter).
prometheus::MetricFamily counter_family(std::string name, std::string help, double value);
prometheus::MetricFamily gauge_family(std::string name, std::string help, double value);

// The label value to use for a label whose distinct values are capped: the
// first `cap` distinct values pass as themselves, later ones become "other"
// (API.md: "a configurable cap on distinct channel labels"). Thread-safe.
class LabelCap {
 public:
  explicit LabelCap(std::size_t cap) : cap_(cap) {}
  void set_cap(std::size_t cap);
  std::string admit(std::string_view value);
  std::size_t distinct() const;

  static constexpr std::string_view kOther = "other";

 private:
  mutable std::mutex mu_;
  std::size_t cap_;
  std::unordered_set<std::string> seen_;
};

// The cap on distinct `channel` label values, shared by every component.
LabelCap& channel_labels();

}  // namespace ms::observe
