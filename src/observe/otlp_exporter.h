// The OTLP/HTTP JSON trace exporter: a batching span processor and exporter in
// one (the OTel SDK's BatchSpanProcessor + OTLP HTTP exporter, the parts we use).
//
//   auto cfg = otlp_config_from_env(process_environment(), {...});
//   if (cfg.enabled()) exporter = std::make_unique<OtlpExporter>(cfg);
//   ... exporter->export_span(std::move(finished_span));   // from any shard
//   ... exporter->shutdown(std::chrono::steady_clock::now() + 5s);
//
// Threading: the exporter owns one thread running its own io_context; every
// network operation, timer and retry happens there, so shards never wait on
// the collector. export_span() is the only hot-path call: a mutex-guarded push
// onto a bounded deque, no I/O (once per full batch it posts a wake-up to the
// exporter's thread). Beyond
// max_queue_size the span is dropped and counted
// (messaging_trace_spans_dropped_total{reason="queue_full"}), never waited for.
//
// Sending: one batch in flight at a time, of up to max_export_batch_size spans,
// as soon as that many are queued or schedule_delay after the previous export.
// A POST of application/json to the endpoint with the configured headers, over
// one keep-alive connection (reopened when the collector closes it). Retries
// follow otlp_retry.h (429/502/503/504 and connection errors, exponential
// backoff with jitter, Retry-After honoured), bounded by the retry policy's
// tries and the batch's export_timeout; a batch given up counts in
// messaging_trace_export_failures_total and its spans as dropped.
//
// Lifetime: shutdown(deadline) stops taking spans, sends what is queued until
// the deadline, then stops the thread; what is left counts as dropped
// (reason="shutdown"). The destructor does shutdown(now) if not done: call
// shutdown yourself to flush. Beast and Asio stay inside otlp_exporter.cpp.
#pragma once

#include "observe/otlp_config.h"
#include "observe/otlp_retry.h"
#include "observe/span.h"

#include <chrono>
#include <cstddef>
#include <memory>

namespace ms::observe {

class OtlpExporter {
 public:
  // Starts the thread. Throws std::invalid_argument when !config.enabled(),
  // std::runtime_error when config.ca_file cannot be loaded.
  explicit OtlpExporter(const OtlpConfig& config, OtlpRetryPolicy retry = {});
  ~OtlpExporter();
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  // Thread-safe; never blocks on I/O. After shutdown() the span is dropped.
  void export_span(SpanData span);

  // Spans waiting in the queue (not counting a batch being sent). Thread-safe.
  std::size_t queued() const;

  // Flushes what is queued until `deadline`, then stops the thread (at most a
  // short grace period past the deadline). True when everything queued was
  // sent (each batch accepted or given up) in time. Idempotent; call from one
  // thread. (A DNS lookup still running then cannot be interrupted: the
  // destructor waits for the resolver's thread to return from it.)
  bool shutdown(std::chrono::steady_clock::time_point deadline);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ms::observe
