#include "auth/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace ms::auth {

RateLimiter::RateLimiter(std::uint32_t rate_per_second, std::uint32_t burst, std::size_t key_count,
                         std::size_t max_addresses)
    : rate_(rate_per_second),
      burst_(std::max<std::uint32_t>(burst, 1)),
      max_addresses_(std::max<std::size_t>(max_addresses, 1)),
      keys_(key_count, Bucket{static_cast<double>(std::max<std::uint32_t>(burst, 1)), Clock::time_point{}}) {}

std::optional<std::chrono::milliseconds> RateLimiter::take(Bucket& b, Clock::time_point now) {
  if (b.updated != Clock::time_point{} && now > b.updated) {
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  }
  if (b.updated == Clock::time_point{} || now > b.updated) b.updated = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  const double wait_s = (1.0 - b.tokens) / rate_;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(wait_s * 1000.0)));
}

std::optional<std::chrono::milliseconds> RateLimiter::take_for_key(std::size_t key_index, Clock::time_point now) {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mu_);
  if (key_index >= keys_.size()) return std::nullopt;
  return take(keys_[key_index], now);
}

void RateLimiter::forget_idle(Clock::time_point now) {
  std::erase_if(addresses_, [&](const auto& kv) {
    const double elapsed = std::chrono::duration<double>(now - kv.second.updated).count();
    return kv.second.tokens + elapsed * rate_ >= burst_;
  });
}

std::optional<std::chrono::milliseconds> RateLimiter::take_for_address(std::string_view address,
                                                                       Clock::time_point now) {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = addresses_.find(std::string(address));
  if (it == addresses_.end()) {
    if (addresses_.size() >= max_addresses_) forget_idle(now);
    // Still full of active callers: share one overflow bucket rather than grow.
    const std::string name = addresses_.size() >= max_addresses_ ? std::string("*") : std::string(address);
    it = addresses_.try_emplace(name, Bucket{burst_, now}).first;
  }
  return take(it->second, now);
}

std::size_t RateLimiter::tracked_addresses() const {
  std::lock_guard lock(mu_);
  return addresses_.size();
}

}  // namespace ms::auth
