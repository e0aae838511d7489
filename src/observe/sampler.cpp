#include "observe/sampler.h"

#include <cmath>
#include <cstdint>

namespace ms::observe {

std::string_view to_string(SamplerKind kind) {
  switch (kind) {
    case SamplerKind::always_on:
      return "always_on";
    case SamplerKind::always_off:
      return "always_off";
    case SamplerKind::traceidratio:
      return "traceidratio";
    case SamplerKind::parentbased_always_on:
      return "parentbased_always_on";
    case SamplerKind::parentbased_always_off:
      return "parentbased_always_off";
    case SamplerKind::parentbased_traceidratio:
      return "parentbased_traceidratio";
  }
  return "unknown";
}

bool trace_id_ratio_sampled(double ratio, const TraceId& trace_id) {
  if (!(ratio > 0.0)) return false;  // also NaN
  if (ratio >= 1.0) return true;
  std::uint64_t low = 0;
  for (std::size_t i = 8; i < 16; ++i) low = (low << 8) | trace_id[i];
  // ratio < 1, so ratio × 2^64 < 2^64 and fits (a double just below 1 times
  // 2^64 is exact: doubles keep 53 bits).
  const auto bound = static_cast<std::uint64_t>(std::ldexp(ratio, 64));
  return low < bound;
}

bool should_sample(const SamplerConfig& config, const TraceId& trace_id, std::optional<bool> parent_sampled) {
  switch (config.kind) {
    case SamplerKind::always_on:
      return true;
    case SamplerKind::always_off:
      return false;
    case SamplerKind::traceidratio:
      return trace_id_ratio_sampled(config.ratio, trace_id);
    case SamplerKind::parentbased_always_on:
      return parent_sampled.value_or(true);
    case SamplerKind::parentbased_always_off:
      return parent_sampled.value_or(false);
    case SamplerKind::parentbased_traceidratio:
      if (parent_sampled) return *parent_sampled;
      return trace_id_ratio_sampled(config.ratio, trace_id);
  }
  return false;
}

}  // namespace ms::observe
