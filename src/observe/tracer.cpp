#include "observe/tracer.h"

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

template <std::size_t N>
void append_hex(std::string& out, const std::array<std::uint8_t, N>& a) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (auto b : a) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is invalid in traceparent
}

template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

}  // namespace

std::optional<SpanContext> from_traceparent(std::string_view tp, std::string_view tracestate) {
  // version 00 exactly; a later version may append fields after a '-'.
  if (tp.size() < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-') return std::nullopt;
  std::array<std::uint8_t, 1> version{}, flags{};
  if (!parse_hex(tp.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0 && tp.size() != 55) return std::nullopt;
  if (tp.size() > 55 && tp[55] != '-') return std::nullopt;
  SpanContext ctx;
  if (!parse_hex(tp.substr(3, 32), ctx.trace_id) || !parse_hex(tp.substr(36, 16), ctx.span_id) ||
      !parse_hex(tp.substr(53, 2), flags) || !ctx.valid()) {
    return std::nullopt;
  }
  ctx.flags = flags[0];
  ctx.trace_state = std::string(tracestate);
  return ctx;
}

bool SpanContext::valid() const { return !all_zero(trace_id) && !all_zero(span_id); }

std::string to_traceparent(const SpanContext& ctx) {
  std::string out;
  out.reserve(55);
  out += "00-";
  append_hex(out, ctx.trace_id);
  out += '-';
  append_hex(out, ctx.span_id);
  out += '-';
  static constexpr char kHex[] = "0123456789abcdef";
  out += kHex[ctx.flags >> 4];
  out += kHex[ctx.flags & 0xf];
  return out;
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
