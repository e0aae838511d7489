// The Redis client's metrics, declared once (observe/metrics.h). Process-wide.
#pragma once

#include "observe/metrics.h"

namespace ms::redis {

struct RedisMetrics {
  prometheus::Histogram& command_duration;  // messaging_redis_command_duration_seconds: queued → reply
  prometheus::Counter& reconnects;          // messaging_redis_reconnects_total
  prometheus::Counter& connection_errors;   // messaging_redis_connection_errors_total

  static RedisMetrics& get() {
    static RedisMetrics m = [] {
      auto& r = observe::metrics_registry();
      auto& duration = prometheus::BuildHistogram()
                           .Name("messaging_redis_command_duration_seconds")
                           .Help("From a Redis command being queued (pipelined) to its reply.")
                           .Register(r);
      auto& reconnects = prometheus::BuildCounter()
                             .Name("messaging_redis_reconnects_total")
                             .Help("Redis connections re-established after a loss.")
                             .Register(r);
      auto& errors = prometheus::BuildCounter()
                         .Name("messaging_redis_connection_errors_total")
                         .Help("Redis connections lost (closed, protocol errors, command timeouts).")
                         .Register(r);
      return RedisMetrics{duration.Add({}, observe::latency_buckets()), reconnects.Add({}), errors.Add({})};
    }();
    return m;
  }
};

}  // namespace ms::redis
