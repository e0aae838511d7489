// observe/otlp_retry.h: the OTLP/HTTP retry decision, with the clock and the
// random source injected.
#include "observe/otlp_retry.h"

#include <gtest/gtest.h>

namespace ms::observe {
namespace {

using namespace std::chrono_literals;
using Action = RetryStep::Action;

// Sun, 06 Nov 1994 08:49:00 GMT: 37 s before RFC 9110's example date.
constexpr std::int64_t kNow = 784111740'000;

RandomUnit fixed(double r) {
  return [r] { return r; };
}
const RandomUnit kMid = fixed(0.5);  // no jitter

ExportTry response(int status, std::optional<std::string> retry_after = std::nullopt) {
  ExportTry t;
  t.responded = true;
  t.status = status;
  t.retry_after = std::move(retry_after);
  return t;
}

ExportTry transport(std::string error) {
  ExportTry t;
  t.error = std::move(error);
  return t;
}

TEST(OtlpRetry, SuccessIsDone) {
  for (int status : {200, 202, 204}) {
    EXPECT_EQ(next_step({}, 1, response(status), 30s, kNow, kMid).action, Action::done) << status;
  }
}

TEST(OtlpRetry, RetryableStatuses) {
  for (int status : {429, 502, 503, 504}) {
    EXPECT_TRUE(retryable_status(status));
    RetryStep s = next_step({}, 1, response(status), 30s, kNow, kMid);
    EXPECT_EQ(s.action, Action::retry) << status;
    EXPECT_EQ(s.delay, 1000ms) << status;
    EXPECT_NE(s.reason.find(std::to_string(status)), std::string::npos);
  }
}

TEST(OtlpRetry, OtherStatusesGiveUpAtOnce) {
  for (int status : {400, 401, 403, 404, 413, 500, 501, 301}) {
    EXPECT_FALSE(retryable_status(status));
    RetryStep s = next_step({}, 1, response(status), 30s, kNow, kMid);
    EXPECT_EQ(s.action, Action::give_up) << status;
    EXPECT_NE(s.reason.find("not retryable"), std::string::npos);
  }
}

TEST(OtlpRetry, TransportErrorsRetry) {
  RetryStep s = next_step({}, 1, transport("connect to 127.0.0.1:9 failed: connection refused"), 30s, kNow, kMid);
  EXPECT_EQ(s.action, Action::retry);
  EXPECT_NE(s.reason.find("connection refused"), std::string::npos);
}

TEST(OtlpRetry, ExponentialBackoffCapped) {
  OtlpRetryPolicy p;  // 1 s × 2^n, capped at 5 s
  EXPECT_EQ(backoff_delay(p, 1, kMid), 1000ms);
  EXPECT_EQ(backoff_delay(p, 2, kMid), 2000ms);
  EXPECT_EQ(backoff_delay(p, 3, kMid), 4000ms);
  EXPECT_EQ(backoff_delay(p, 4, kMid), 5000ms);
  EXPECT_EQ(backoff_delay(p, 60, kMid), 5000ms);
  EXPECT_EQ(backoff_delay(p, 0, kMid), 1000ms);
}

TEST(OtlpRetry, Jitter) {
  OtlpRetryPolicy p;  // ±20 %
  EXPECT_EQ(backoff_delay(p, 1, fixed(0.0)), 800ms);
  EXPECT_EQ(backoff_delay(p, 1, fixed(1.0)), 1200ms);
  EXPECT_EQ(backoff_delay(p, 4, fixed(1.0)), 6000ms);  // the cap is before jitter
  p.jitter = 0;
  EXPECT_EQ(backoff_delay(p, 1, fixed(0.0)), 1000ms);
}

TEST(OtlpRetry, GivesUpAfterMaxAttempts) {
  OtlpRetryPolicy p;
  p.max_attempts = 3;
  EXPECT_EQ(next_step(p, 2, response(503), 30s, kNow, kMid).action, Action::retry);
  RetryStep s = next_step(p, 3, response(503), 30s, kNow, kMid);
  EXPECT_EQ(s.action, Action::give_up);
  EXPECT_NE(s.reason.find("3 tries"), std::string::npos);
}

TEST(OtlpRetry, GivesUpWhenTheWaitOutlastsTheBudget) {
  RetryStep s = next_step({}, 1, response(503), 999ms, kNow, kMid);
  EXPECT_EQ(s.action, Action::give_up);
  EXPECT_NE(s.reason.find("export timeout"), std::string::npos);
  EXPECT_EQ(s.hold_off, 0ms);  // our own backoff: nothing to hold off for
  EXPECT_EQ(next_step({}, 1, response(503), 1001ms, kNow, kMid).action, Action::retry);
}

TEST(OtlpRetry, RetryAfterSecondsIsHonoured) {
  RetryStep s = next_step({}, 1, response(429, "3"), 30s, kNow, kMid);
  EXPECT_EQ(s.action, Action::retry);
  EXPECT_EQ(s.delay, 3000ms);
  s = next_step({}, 1, response(503, "0"), 30s, kNow, kMid);
  EXPECT_EQ(s.delay, 0ms);
  s = next_step({}, 1, response(503, "garbage"), 30s, kNow, kMid);  // unreadable: our backoff
  EXPECT_EQ(s.delay, 1000ms);
}

TEST(OtlpRetry, RetryAfterDate) {
  RetryStep s = next_step({}, 1, response(503, "Sun, 06 Nov 1994 08:49:37 GMT"), 60s, kNow, kMid);
  EXPECT_EQ(s.action, Action::retry);
  EXPECT_EQ(s.delay, 37000ms);
}

TEST(OtlpRetry, RetryAfterBeyondTheBudgetHoldsOff) {
  RetryStep s = next_step({}, 1, response(503, "120"), 30s, kNow, kMid);
  EXPECT_EQ(s.action, Action::give_up);
  EXPECT_EQ(s.hold_off, 120s);
}

TEST(OtlpRetry, ParseRetryAfter) {
  EXPECT_EQ(parse_retry_after(" 42 ", kNow), 42s);
  EXPECT_EQ(parse_retry_after("99999999999999999999", kNow), std::chrono::hours(24));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kNow), 37s);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:48:00 GMT", kNow), 0s);  // in the past
  EXPECT_EQ(parse_retry_after("", kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after("-1", kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after("1.5", kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", kNow), 37s);  // obsolete forms: RFC 9110 says accept them
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT trailing", kNow), std::nullopt);
}

}  // namespace
}  // namespace ms::observe
