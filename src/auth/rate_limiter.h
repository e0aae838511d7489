// Per-caller request rate limit (API.md "Security", 429 with Retry-After): one
// token bucket per API key, or per client address when no keys are configured.
//
// Shared by every shard's thread; one mutex guards the buckets (taken only when
// the limit is on: with rate 0 nothing is locked).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ms::auth {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // rate_per_second 0 = off. burst = bucket size (tokens), at least 1.
  // Address buckets are capped at max_addresses; when full, buckets that have
  // refilled completely (idle callers) are forgotten first.
  RateLimiter(std::uint32_t rate_per_second, std::uint32_t burst, std::size_t key_count,
              std::size_t max_addresses = 65536);

  bool enabled() const { return rate_ > 0; }

  // Takes one token. nullopt: allowed; otherwise the wait until one is available.
  std::optional<std::chrono::milliseconds> take_for_key(std::size_t key_index, Clock::time_point now = Clock::now());
  std::optional<std::chrono::milliseconds> take_for_address(std::string_view address,
                                                            Clock::time_point now = Clock::now());

  std::size_t tracked_addresses() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated{};
  };
  std::optional<std::chrono::milliseconds> take(Bucket& b, Clock::time_point now);
  void forget_idle(Clock::time_point now);

  double rate_;
  double burst_;
  std::size_t max_addresses_;
  mutable std::mutex mu_;
  std::vector<Bucket> keys_;
  std::unordered_map<std::string, Bucket> addresses_;
};

}  // namespace ms::auth
