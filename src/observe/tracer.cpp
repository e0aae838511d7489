#include "observe/tracer.h"

#include "observe/trace_context.h"

#include <chrono>
#include <random>

namespace ms::observe {

namespace {

std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }()};
  return gen;
}

template <std::size_t N>
void fill_random(std::array<std::uint8_t, N>& out) {
  for (;;) {
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t v = rng()();
      for (std::size_t k = 0; k < 8 && i + k < N; ++k) out[i + k] = static_cast<std::uint8_t>(v >> (8 * k));
    }
    for (auto b : out) {
      if (b != 0) return;  // all-zero ids are invalid
    }
  }
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& a) {
  for (auto b : a) {
    if (b != 0) return false;
  }
  return true;
}

}  // namespace

std::optional<SpanContext> from_traceparent(std::string_view tp, std::string_view tracestate) {
  auto parsed = parse_traceparent(tp);  // the W3C rules, fuzzed (trace_context.h)
  if (!parsed) return std::nullopt;
  SpanContext ctx;
  ctx.trace_id = parsed->trace_id;
  ctx.span_id = parsed->span_id;
  ctx.flags = parsed->flags & kSampledFlag;
  // An invalid tracestate is dropped whole; a valid one is propagated, truncated as the spec allows.
  if (auto state = parse_tracestate(tracestate); state && !state->members.empty()) {
    truncate_tracestate(*state);
    ctx.trace_state = format_tracestate(*state);
  }
  return ctx;
}

bool SpanContext::valid() const { return !all_zero(trace_id) && !all_zero(span_id); }

std::string to_traceparent(const SpanContext& ctx) {
  TraceContext tc;
  tc.trace_id = ctx.trace_id;
  tc.span_id = ctx.span_id;
  tc.flags = ctx.flags;
  return format_traceparent(tc);
}

Tracer& Tracer::get() {
  static Tracer t;
  return t;
}

void Tracer::configure(Sink sink, Sampler sampler) {
  sink_ = std::move(sink);
  sampler_ = std::move(sampler);
}

SpanContext Tracer::child_of(const std::optional<SpanContext>& parent) const {
  SpanContext ctx;
  std::optional<bool> parent_sampled;
  if (parent && parent->valid()) {
    ctx.trace_id = parent->trace_id;
    ctx.trace_state = parent->trace_state;
    parent_sampled = parent->sampled();
  } else {
    fill_random(ctx.trace_id);
  }
  fill_random(ctx.span_id);
  const bool sampled = sampler_ ? sampler_(ctx.trace_id, parent_sampled) : parent_sampled.value_or(true);
  ctx.flags = sampled ? 1 : 0;
  return ctx;
}

void Tracer::record(SpanData span) const {
  if (sink_) sink_(std::move(span));
}

std::uint64_t unix_ns_now() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

Span::Span(std::string name, SpanKind kind, const SpanContext& ctx, const SpanId& parent) {
  if (!Tracer::get().exporting() || !ctx.sampled()) return;
  recording_ = true;
  data_.trace_id = ctx.trace_id;
  data_.span_id = ctx.span_id;
  data_.parent_span_id = parent;
  data_.trace_state = ctx.trace_state;
  data_.flags = ctx.flags;
  data_.name = std::move(name);
  data_.kind = kind;
  data_.start_unix_ns = unix_ns_now();
}

void Span::set(std::string key, AttributeValue value) {
  if (recording_) data_.attributes.emplace_back(std::move(key), std::move(value));
}

void Span::set_error(std::string message) {
  if (!recording_) return;
  data_.status = StatusCode::error;
  data_.status_message = std::move(message);
}

void Span::set_ok() {
  if (recording_) data_.status = StatusCode::ok;
}

void Span::end() {
  if (!recording_) return;
  recording_ = false;
  data_.end_unix_ns = unix_ns_now();
  Tracer::get().record(std::move(data_));
}

}  // namespace ms::observe
