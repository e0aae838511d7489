// Tracing (API.md "Operations", OpenTelemetry): span contexts that follow a
// message from its publish through every delivery attempt, sampling, and the
// hand-off of finished spans to the exporter.
//
// The context is always made (the webhook's traceparent continues the
// publisher's trace whether or not spans are exported); span data is only
// gathered when the Tracer exports and the context is sampled, so tracing off
// costs a few random numbers per message.
//
// Tracer::get() is process-wide: configure() it once before the shards start;
// after that every method is safe from any thread.
#pragma once

#include "observe/span.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ms::observe {

struct SpanContext {
  TraceId trace_id{};
  SpanId span_id{};
  std::uint8_t flags = 0;  // bit 0: sampled
  std::string trace_state;

  bool sampled() const { return (flags & 1) != 0; }
  bool valid() const;  // neither id all zero
};

// "00-<trace id>-<span id>-<flags>", the W3C traceparent of a context.
std::string to_traceparent(const SpanContext& ctx);
// The context of a W3C traceparent (and its tracestate); nullopt when invalid.
std::optional<SpanContext> from_traceparent(std::string_view traceparent, std::string_view tracestate = {});

class Tracer {
 public:
  using Sink = std::function<void(SpanData)>;  // e.g. OtlpExporter::export_span; must not block
  using Sampler = std::function<bool(const TraceId&, std::optional<bool> parent_sampled)>;

  static Tracer& get();

  // Before the shards start. An empty sink: nothing is exported (contexts are
  // still made and propagated). An empty sampler: parent-based, always on.
  void configure(Sink sink, Sampler sampler);
  bool exporting() const { return static_cast<bool>(sink_); }

  // A new span's context: in the parent's trace (sampled as the parent says, per
  // the sampler) or, without a valid parent, the root of a new trace.
  SpanContext child_of(const std::optional<SpanContext>& parent) const;

  void record(SpanData span) const;

 private:
  Sink sink_;
  Sampler sampler_;
};

// One span being timed. Inactive (every call a no-op) unless the tracer exports
// and the context is sampled.
class Span {
 public:
  Span() = default;
  // ctx: this span's own context (from child_of); parent: its parent's span id (zero for a root).
  Span(std::string name, SpanKind kind, const SpanContext& ctx, const SpanId& parent);

  bool recording() const { return recording_; }
  void set(std::string key, AttributeValue value);
  void set_error(std::string message);
  void set_ok();
  void end();  // once; later calls do nothing

 private:
  bool recording_ = false;
  SpanData data_;
};

std::uint64_t unix_ns_now();

}  // namespace ms::observe
