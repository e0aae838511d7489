// A small HdrHistogram-style latency histogram: log-linear buckets, fixed memory,
// no averages. Values are unsigned integers in whatever unit the caller picks
// (the bench programs record nanoseconds).
//
// Layout: values below 2*S (S = 2^kSubBits = 128) get one bucket each; above that,
// every power-of-two range [2^k, 2^(k+1)) is split into S equal sub-buckets. The
// relative error of a reported value is therefore below 1/S (< 0.8 %), over the
// whole 64-bit range, in 7,424 counters (58 KiB).
//
// percentile(q) returns the highest value that is equivalent (same bucket) to the
// value at rank ceil(q/100 * count), clamped to the largest value recorded, like
// HdrHistogram's getValueAtPercentile.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

namespace bench {

class Histogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr std::uint64_t kSub = 1ull << kSubBits;  // 128
  static constexpr std::size_t kBuckets = 2 * kSub + (64 - kSubBits - 1) * kSub;

  void record(std::uint64_t v, std::uint64_t n = 1) {
    counts_[index(v)] += n;
    count_ += n;
    if (count_ == n || v < min_) min_ = v;
    if (v > max_) max_ = v;
  }

  void merge(const Histogram& o) {
    if (o.count_ == 0) return;
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    min_ = count_ == 0 ? o.min_ : std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
    count_ += o.count_;
  }

  void reset() { *this = Histogram{}; }

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  std::uint64_t max() const { return max_; }

  // q in [0, 100]; 0 gives the minimum, 100 the maximum.
  std::uint64_t percentile(double q) const {
    if (count_ == 0) return 0;
    if (q <= 0) return min();
    if (q >= 100) return max_;
    auto rank = static_cast<std::uint64_t>(std::ceil(q / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(highest_equivalent(i), max_);
    }
    return max_;
  }

  // Bucket index of a value; exposed for tests.
  static std::size_t index(std::uint64_t v) {
    if (v < 2 * kSub) return static_cast<std::size_t>(v);
    int msb = 63 - std::countl_zero(v);  // >= kSubBits + 1
    int shift = msb - kSubBits;          // >= 1
    std::uint64_t top = v >> shift;      // in [kSub, 2*kSub)
    return static_cast<std::size_t>(2 * kSub + static_cast<std::uint64_t>(shift - 1) * kSub + (top - kSub));
  }

  // The largest value that lands in bucket i.
  static std::uint64_t highest_equivalent(std::size_t i) {
    if (i < 2 * kSub) return i;
    std::size_t j = i - 2 * kSub;
    int shift = static_cast<int>(j / kSub) + 1;
    std::uint64_t top = kSub + j % kSub;
    if (shift + kSubBits + 1 >= 64 && top == 2 * kSub - 1) return UINT64_MAX;
    return ((top + 1) << shift) - 1;
  }

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace bench
