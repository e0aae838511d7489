#include "auth/rate_limiter.h"

#include <gtest/gtest.h>

namespace ms::auth {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;

TEST(RateLimiter, OffLetsEverythingThrough) {
  RateLimiter r(0, 0, 1);
  EXPECT_FALSE(r.enabled());
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(r.take_for_key(0));
  EXPECT_EQ(r.tracked_addresses(), 0u);
}

TEST(RateLimiter, BurstThenRefillAtTheRate) {
  RateLimiter r(10, 3, 1);  // 10/s, bucket of 3
  const auto t0 = Clock::now();
  EXPECT_FALSE(r.take_for_key(0, t0));
  EXPECT_FALSE(r.take_for_key(0, t0));
  EXPECT_FALSE(r.take_for_key(0, t0));
  auto wait = r.take_for_key(0, t0);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 100ms);  // one token per 100 ms
  EXPECT_TRUE(r.take_for_key(0, t0 + 50ms));
  EXPECT_FALSE(r.take_for_key(0, t0 + 100ms));
  EXPECT_TRUE(r.take_for_key(0, t0 + 100ms));
  // A long pause refills up to the burst, not beyond.
  const auto t1 = t0 + 10s;
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(r.take_for_key(0, t1)) << i;
  EXPECT_TRUE(r.take_for_key(0, t1));
}

TEST(RateLimiter, KeysHaveTheirOwnBuckets) {
  RateLimiter r(1, 1, 2);
  const auto t = Clock::now();
  EXPECT_FALSE(r.take_for_key(0, t));
  EXPECT_TRUE(r.take_for_key(0, t));
  EXPECT_FALSE(r.take_for_key(1, t));
  EXPECT_FALSE(r.take_for_key(7, t));  // no such key: not limited here (authentication refuses it)
}

TEST(RateLimiter, AddressesHaveTheirOwnBucketsAndIdleOnesAreForgottenWhenFull) {
  RateLimiter r(1, 1, 0, /*max_addresses=*/2);
  const auto t = Clock::now();
  EXPECT_FALSE(r.take_for_address("10.0.0.1", t));
  EXPECT_TRUE(r.take_for_address("10.0.0.1", t));
  EXPECT_FALSE(r.take_for_address("10.0.0.2", t));
  EXPECT_EQ(r.tracked_addresses(), 2u);
  // Full of active callers: a third shares the overflow bucket instead of growing the map.
  EXPECT_FALSE(r.take_for_address("10.0.0.3", t));
  EXPECT_TRUE(r.take_for_address("10.0.0.4", t));
  EXPECT_LE(r.tracked_addresses(), 3u);
  // Later, the idle ones have refilled and make room.
  EXPECT_FALSE(r.take_for_address("10.0.0.5", t + 5s));
  EXPECT_LE(r.tracked_addresses(), 2u);
}

TEST(RateLimiter, RetryAfterIsRoundedUpToWholeMilliseconds) {
  RateLimiter r(3, 1, 1);
  const auto t = Clock::now();
  EXPECT_FALSE(r.take_for_key(0, t));
  auto wait = r.take_for_key(0, t);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 334ms);
}

}  // namespace
}  // namespace ms::auth
