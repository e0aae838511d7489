// observe/sampler.h: the built-in samplers' decisions, and TraceIdRatioBased's
// threshold on the lower 8 bytes of the trace id.
#include "observe/sampler.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cmath>
#include <optional>
#include <random>

namespace ms::observe {
namespace {

// A trace id whose bytes 8..15 are `low` (big-endian); the upper half is noise
// that must not matter.
TraceId with_low(std::uint64_t low) {
  TraceId id{};
  for (int i = 0; i < 8; ++i) id[i] = static_cast<std::uint8_t>(0xA5 ^ i);
  for (int i = 15; i >= 8; --i) {
    id[i] = static_cast<std::uint8_t>(low & 0xFF);
    low >>= 8;
  }
  return id;
}

constexpr std::uint64_t kHalf = 0x8000'0000'0000'0000ULL;  // 0.5 × 2^64

TEST(Sampler, Names) {
  EXPECT_EQ(to_string(SamplerKind::always_on), "always_on");
  EXPECT_EQ(to_string(SamplerKind::parentbased_traceidratio), "parentbased_traceidratio");
}

TEST(Sampler, AlwaysOnAndOffIgnoreTheParent) {
  const TraceId id = with_low(1);
  for (std::optional<bool> parent : {std::optional<bool>(), std::optional<bool>(true), std::optional<bool>(false)}) {
    EXPECT_TRUE(should_sample({SamplerKind::always_on, 1.0}, id, parent));
    EXPECT_FALSE(should_sample({SamplerKind::always_off, 1.0}, id, parent));
  }
}

TEST(Sampler, ParentBasedFollowsTheParent) {
  const TraceId id = with_low(~0ULL);  // never sampled by a ratio below 1
  for (SamplerKind k : {SamplerKind::parentbased_always_on, SamplerKind::parentbased_always_off,
                        SamplerKind::parentbased_traceidratio}) {
    EXPECT_TRUE(should_sample({k, 0.0}, id, true)) << to_string(k);
    EXPECT_FALSE(should_sample({k, 1.0}, id, false)) << to_string(k);
  }
}

TEST(Sampler, ParentBasedRoots) {
  const TraceId id = with_low(kHalf - 1);
  EXPECT_TRUE(should_sample({SamplerKind::parentbased_always_on, 1.0}, id, std::nullopt));
  EXPECT_FALSE(should_sample({SamplerKind::parentbased_always_off, 1.0}, id, std::nullopt));
  EXPECT_TRUE(should_sample({SamplerKind::parentbased_traceidratio, 0.5}, id, std::nullopt));
  EXPECT_FALSE(should_sample({SamplerKind::parentbased_traceidratio, 0.5}, with_low(kHalf), std::nullopt));
}

TEST(Sampler, TraceIdRatioIgnoresTheParent) {
  EXPECT_FALSE(should_sample({SamplerKind::traceidratio, 0.5}, with_low(kHalf), true));
  EXPECT_TRUE(should_sample({SamplerKind::traceidratio, 0.5}, with_low(0), false));
}

TEST(Sampler, RatioThresholdOnTheLowerEightBytes) {
  EXPECT_TRUE(trace_id_ratio_sampled(0.5, with_low(kHalf - 1)));
  EXPECT_FALSE(trace_id_ratio_sampled(0.5, with_low(kHalf)));
  EXPECT_TRUE(trace_id_ratio_sampled(0.25, with_low(0x3FFF'FFFF'FFFF'FFFFULL)));
  EXPECT_FALSE(trace_id_ratio_sampled(0.25, with_low(0x4000'0000'0000'0000ULL)));
  // Bytes 0..7 do not matter.
  TraceId id = with_low(kHalf - 1);
  id[0] = 0xFF;
  id[7] = 0x00;
  EXPECT_TRUE(trace_id_ratio_sampled(0.5, id));
}

TEST(Sampler, RatioEdges) {
  EXPECT_TRUE(trace_id_ratio_sampled(1.0, with_low(~0ULL)));
  EXPECT_TRUE(trace_id_ratio_sampled(2.0, with_low(~0ULL)));
  EXPECT_FALSE(trace_id_ratio_sampled(0.0, with_low(0)));
  EXPECT_FALSE(trace_id_ratio_sampled(-1.0, with_low(0)));
  EXPECT_FALSE(trace_id_ratio_sampled(std::nan(""), with_low(0)));
  EXPECT_TRUE(trace_id_ratio_sampled(1e-18, with_low(0)));  // the smallest ids still pass a tiny ratio
  EXPECT_FALSE(trace_id_ratio_sampled(1e-18, with_low(100)));
  EXPECT_TRUE(trace_id_ratio_sampled(std::nextafter(1.0, 0.0), with_low(~0ULL - 4096)));
  EXPECT_FALSE(trace_id_ratio_sampled(std::nextafter(1.0, 0.0), with_low(~0ULL)));
}

TEST(Sampler, RatioSamplesAboutThatShare) {
  std::mt19937_64 rng(42);
  int sampled = 0;
  constexpr int kN = 100000;
  for (int i = 0; i < kN; ++i) sampled += trace_id_ratio_sampled(0.1, with_low(rng()));
  EXPECT_NEAR(static_cast<double>(sampled) / kN, 0.1, 0.005);
}

}  // namespace
}  // namespace ms::observe
