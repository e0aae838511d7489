// OTLP/HTTP JSON encoding of finished spans: the body of a POST to
// /v1/traces, an ExportTraceServiceRequest in the OTLP spec's JSON mapping
// (opentelemetry-proto, "JSON Protobuf Encoding"):
//
//   {"resourceSpans":[{"resource":{"attributes":[...]},
//                      "scopeSpans":[{"scope":{"name":"messaging_service","version":"0.1.0"},
//                                     "spans":[{...}, ...]}]}]}
//
// The mapping's rules, which differ from generic protobuf JSON:
// - traceId / spanId / parentSpanId are lowercase hex (32 / 16 characters),
//   not base64;
// - enums (kind, status.code) are integers;
// - 64-bit integers (startTimeUnixNano, endTimeUnixNano, intValue) are
//   decimal strings; flags (fixed32) is a number;
// - field names are lowerCamelCase.
// Fields at their default value are omitted where proto3 JSON omits them and
// collectors accept both: parentSpanId of a root span, an empty traceState,
// an empty status message. NaN and ±infinity double attributes are written as
// "NaN" / "Infinity" / "-Infinity" (proto3 JSON; JSON has no such numbers).
//
// Pure: no I/O, no globals; safe on any thread.
#pragma once

#include "observe/span.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ms::observe {

// The instrumentation scope of every span we produce.
inline constexpr std::string_view kScopeName = "messaging_service";

// Who produced the spans: the OTel resource. Built from the environment by
// otlp_config.h (resource_from_env); plain data here.
struct Resource {
  std::string service_name = "messaging_service";  // service.name, always sent
  // service.version when not empty; also the instrumentation scope's version
  // (the service instruments itself, so scope and service share a version).
  std::string service_version;
  // Every other resource attribute, in order (service.instance.id,
  // telemetry.sdk.*, what OTEL_RESOURCE_ATTRIBUTES added). No duplicates of the
  // two above and no duplicate keys.
  Attributes attributes;
};

// Lowercase hex of the bytes ("4bf92f3577b34da6a3ce929d0e0e4736").
std::string to_hex(const TraceId& id);
std::string to_hex(const SpanId& id);

// The ExportTraceServiceRequest JSON for one resource and one scope holding
// `spans` in the given order. An empty `spans` still gives a valid request
// (one resourceSpans with an empty spans array).
std::string encode_otlp_traces_json(const std::vector<SpanData>& spans, const Resource& resource);

// ExportTraceServiceResponse.partial_success: what a collector that answered
// 2xx did not accept after all.
struct PartialSuccess {
  std::int64_t rejected_spans = 0;
  std::string error_message;
};

// Reads a 2xx response body. An empty body, "{}", a body that is not JSON (a
// proxy's) or a malformed count all read as "nothing rejected": the request
// was accepted, and guessing otherwise would double-count.
PartialSuccess decode_otlp_traces_response(std::string_view body);

}  // namespace ms::observe
