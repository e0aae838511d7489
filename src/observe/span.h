// A finished span, as the tracer hands it to the exporter (OpenTelemetry's data
// model, the subset we use: no events or links). Plain data, no behaviour.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ms::observe {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

// OTLP's SpanKind values.
enum class SpanKind : int { internal = 1, server = 2, client = 3, producer = 4, consumer = 5 };
// OTLP's StatusCode values.
enum class StatusCode : int { unset = 0, ok = 1, error = 2 };

using AttributeValue = std::variant<std::string, std::int64_t, double, bool>;
using Attributes = std::vector<std::pair<std::string, AttributeValue>>;

struct SpanData {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // all zero: a root span
  std::string trace_state;  // W3C tracestate of the span's context, may be empty
  std::uint8_t flags = 1;   // W3C trace flags (bit 0: sampled)
  std::string name;
  SpanKind kind = SpanKind::internal;
  std::uint64_t start_unix_ns = 0;
  std::uint64_t end_unix_ns = 0;
  Attributes attributes;
  StatusCode status = StatusCode::unset;
  std::string status_message;
};

}  // namespace ms::observe
