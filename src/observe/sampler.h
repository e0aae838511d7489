// Head sampling: the OpenTelemetry SDK's built-in samplers, chosen by
// OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (parsed in otlp_config.cpp),
// as a pure decision on the trace id and the parent's sampled flag.
//
//   always_on, always_off          every trace / none
//   traceidratio                   TraceIdRatioBased(ratio) for every span
//   parentbased_always_on          the default: follow the parent; roots sampled
//   parentbased_always_off         follow the parent; roots dropped
//   parentbased_traceidratio       follow the parent; roots by TraceIdRatioBased(ratio)
//
// TraceIdRatioBased: bytes 8..15 of the trace id read as a big-endian uint64
// are sampled when below ratio × 2^64. This is the lower half of the id, which
// W3C Trace Context level 2 makes the random part, compared the way OTel Go
// (bytes 8..15 >> 1 against ratio × 2^63) and Java (the lower long against
// ratio × Long.MAX_VALUE) do, so every service of a trace using these SDKs with
// the same ratio takes the same decision on the same trace id. ratio >= 1
// samples everything, ratio <= 0 nothing.
//
// Pure: no state, any thread.
#pragma once

#include "observe/span.h"

#include <optional>
#include <string_view>

namespace ms::observe {

enum class SamplerKind {
  always_on,
  always_off,
  traceidratio,
  parentbased_always_on,
  parentbased_always_off,
  parentbased_traceidratio,
};

struct SamplerConfig {
  SamplerKind kind = SamplerKind::parentbased_always_on;  // OTEL_TRACES_SAMPLER, the spec's default
  double ratio = 1.0;  // OTEL_TRACES_SAMPLER_ARG for the *traceidratio kinds, in [0, 1]
};

// The OTEL_TRACES_SAMPLER spelling: "always_on", "parentbased_traceidratio", ...
std::string_view to_string(SamplerKind kind);

// True when TraceIdRatioBased(ratio) samples this trace id.
bool trace_id_ratio_sampled(double ratio, const TraceId& trace_id);

// Whether to record and export a new span. `parent_sampled`: the parent
// context's sampled flag (W3C trace-flags bit 0, local or remote parent), or
// nullopt for a root span. Non-parentbased kinds ignore the parent.
bool should_sample(const SamplerConfig& config, const TraceId& trace_id, std::optional<bool> parent_sampled);

}  // namespace ms::observe
