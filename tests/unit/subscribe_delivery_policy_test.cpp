#include "subscribe/delivery_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace ms::subscribe {
namespace {

using Action = Decision::Action;
using Kind = AttemptOutcome::Kind;

// Sun, 06 Nov 1994 08:49:00 GMT: 37 s before the RFC 9110 example date.
constexpr std::int64_t kNow = 784111740'000;
constexpr std::int64_t kExampleDate = 784111777'000;  // Sun, 06 Nov 1994 08:49:37 GMT

RandomUnit fixed(double r) {
  return [r] { return r; };
}
const RandomUnit kMid = fixed(0.5);  // no jitter
const RandomUnit kLow = fixed(0.0);
const RandomUnit kHigh = fixed(0.999);

AttemptOutcome response(int status) {
  AttemptOutcome o;
  o.kind = Kind::response;
  o.status = status;
  return o;
}

AttemptOutcome transport(Kind kind, std::string error = {}) {
  AttemptOutcome o;
  o.kind = kind;
  o.error = std::move(error);
  return o;
}

AttemptOutcome with_retry_after(int status, std::string value) {
  auto o = response(status);
  o.retry_after = std::move(value);
  return o;
}

Subscription sub() { return Subscription{}; }  // retry {8, 1000, 600000, 2.0, 0.2}

// --- backoff ---------------------------------------------------------------------

TEST(Backoff, DoublesFromInitialAndCapsAtMax) {
  RetryPolicy p;
  const std::int64_t expected[] = {1000,   2000,   4000,   8000,   16000,  32000, 64000,
                                   128000, 256000, 512000, 600000, 600000, 600000};
  for (std::uint32_t attempt = 1; attempt <= std::size(expected); ++attempt) {
    EXPECT_EQ(backoff_ms(p, attempt, kMid), expected[attempt - 1]) << "attempt " << attempt;
  }
  EXPECT_EQ(backoff_ms(p, 1000, kMid), 600000);
  EXPECT_EQ(backoff_ms(p, 0xFFFFFFFFu, kMid), 600000);
  EXPECT_EQ(backoff_ms(p, 0, kMid), 1000);  // treated as the first attempt
}

TEST(Backoff, JitterBounds) {
  RetryPolicy p;  // jitter 0.2
  EXPECT_EQ(backoff_ms(p, 1, kLow), 800);
  EXPECT_EQ(backoff_ms(p, 1, kHigh), 1200);  // 1000 * (1 + 0.2 * 0.998) = 1199.6
  EXPECT_EQ(backoff_ms(p, 1, fixed(0.25)), 900);
  EXPECT_EQ(backoff_ms(p, 3, kLow), 3200);
  EXPECT_EQ(backoff_ms(p, 3, kHigh), 4798);  // 4000 * 1.1996 = 4798.4
  // At the cap, max_backoff_ms stays a ceiling: jitter only spreads retries below it.
  EXPECT_EQ(backoff_ms(p, 20, kLow), 480000);
  EXPECT_EQ(backoff_ms(p, 20, kHigh), 600000);
}

TEST(Backoff, JitterStaysWithinBoundsForAnyRandomValue) {
  RetryPolicy p;
  for (std::uint32_t attempt = 1; attempt <= 12; ++attempt) {
    const double base = std::min(600000.0, 1000.0 * (1u << (attempt - 1)));
    for (double r = 0.0; r < 1.0; r += 0.01) {
      auto b = backoff_ms(p, attempt, fixed(r));
      EXPECT_GE(b, static_cast<std::int64_t>(base * 0.8)) << attempt << " " << r;
      EXPECT_LE(b, std::min<std::int64_t>(600000, static_cast<std::int64_t>(base * 1.2))) << attempt << " " << r;
    }
  }
}

TEST(Backoff, OutOfRangeRandomValuesAreClamped) {
  RetryPolicy p;
  EXPECT_EQ(backoff_ms(p, 1, fixed(-5.0)), 800);
  EXPECT_EQ(backoff_ms(p, 1, fixed(7.0)), 1200);
  EXPECT_EQ(backoff_ms(p, 1, fixed(std::nan(""))), 800);
  EXPECT_EQ(backoff_ms(p, 1, RandomUnit{}), 1000);  // no random source: no jitter
}

TEST(Backoff, ZeroAndFullJitter) {
  RetryPolicy p;
  p.jitter = 0;
  EXPECT_EQ(backoff_ms(p, 2, kLow), 2000);
  EXPECT_EQ(backoff_ms(p, 2, kHigh), 2000);
  p.jitter = 1;
  EXPECT_EQ(backoff_ms(p, 2, kLow), 1);  // never 0: at least 1 ms
  EXPECT_EQ(backoff_ms(p, 2, kHigh), 3996);
}

TEST(Backoff, OtherMultipliers) {
  RetryPolicy p;
  p.multiplier = 1.0;
  EXPECT_EQ(backoff_ms(p, 1, kMid), 1000);
  EXPECT_EQ(backoff_ms(p, 50, kMid), 1000);
  p.multiplier = 1.5;
  EXPECT_EQ(backoff_ms(p, 1, kMid), 1000);
  EXPECT_EQ(backoff_ms(p, 2, kMid), 1500);
  EXPECT_EQ(backoff_ms(p, 3, kMid), 2250);
  p.multiplier = 10;
  p.initial_backoff_ms = 1;
  p.max_backoff_ms = 86400000;
  EXPECT_EQ(backoff_ms(p, 1, kMid), 1);
  EXPECT_EQ(backoff_ms(p, 4, kMid), 1000);
  EXPECT_EQ(backoff_ms(p, 9, kMid), 86400000);
  EXPECT_EQ(backoff_ms(p, 100, kMid), 86400000);
}

TEST(Backoff, InitialEqualsMax) {
  RetryPolicy p;
  p.initial_backoff_ms = 5000;
  p.max_backoff_ms = 5000;
  EXPECT_EQ(backoff_ms(p, 1, kMid), 5000);
  EXPECT_EQ(backoff_ms(p, 7, kMid), 5000);
  EXPECT_EQ(backoff_ms(p, 7, kLow), 4000);
  EXPECT_EQ(backoff_ms(p, 7, kHigh), 5000);
}

// --- Retry-After -----------------------------------------------------------------

TEST(RetryAfter, DelaySeconds) {
  EXPECT_EQ(parse_retry_after("120", kNow), 120000);
  EXPECT_EQ(parse_retry_after("0", kNow), 0);
  EXPECT_EQ(parse_retry_after("007", kNow), 7000);
  EXPECT_EQ(parse_retry_after("  5\t", kNow), 5000);  // surrounding whitespace
  EXPECT_EQ(parse_retry_after("99999999999999999999999", kNow), 9223372036854775LL * 1000);  // saturates
}

TEST(RetryAfter, HttpDateForms) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kNow), 37000);  // IMF-fixdate
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", kNow), 37000);  // RFC 850
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", kNow), 37000);       // asctime
  EXPECT_EQ(parse_retry_after("Wed Nov 16 08:49:00 1994", kNow), 10LL * 86400 * 1000);
  EXPECT_EQ(parse_retry_after("sun, 06 nov 1994 08:49:37 gmt", kNow), 37000);  // names ignore case
  EXPECT_EQ(parse_retry_after(" Sun, 06 Nov 1994 08:50:00 GMT ", kNow), 60000);
  EXPECT_EQ(parse_retry_after("Mon, 07 Nov 1994 08:49:00 GMT", kNow), 86400000);
  // The day name is not checked against the date (RFC 9110 lets recipients ignore it).
  EXPECT_EQ(parse_retry_after("Mon, 06 Nov 1994 08:49:37 GMT", kNow), 37000);
}

TEST(RetryAfter, DateInThePastIsZero) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:48:00 GMT", kNow), 0);
  EXPECT_EQ(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", kNow), 0);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kExampleDate + 1), 0);
}

TEST(RetryAfter, TwoDigitYears) {
  // now = 2026-01-01: "27" is next year, "77" would be 51 years ahead so it is 1977.
  constexpr std::int64_t k2026 = 1767225600'000;
  EXPECT_EQ(parse_retry_after("Friday, 01-Jan-27 00:00:00 GMT", k2026), 365LL * 86400 * 1000);
  EXPECT_EQ(parse_retry_after("Saturday, 01-Jan-77 00:00:00 GMT", k2026), 0);
  EXPECT_EQ(parse_retry_after("Thursday, 01-Jan-26 00:00:10 GMT", k2026), 10000);
}

TEST(RetryAfter, Garbage) {
  for (const char* bad : {
           "",
           "   ",
           "-1",
           "+5",
           "1.5",
           "5s",
           "1e3",
           "soon",
           "Sun, 06 Nov 1994 08:49:37",        // no zone
           "Sun, 06 Nov 1994 08:49:37 UTC",    // only GMT
           "Sun, 06 Nov 1994 08:49:37 GMT x",  // trailing text
           "Sun, 6 Nov 1994 08:49:37 GMT",     // day needs two digits
           "Sun, 06 November 1994 08:49:37 GMT",
           "Sun, 06 Nov 94 08:49:37 GMT",
           "Sun, 31 Feb 1994 08:49:37 GMT",  // no such day
           "Sun, 29 Feb 1993 08:49:37 GMT",  // not a leap year
           "Sun, 00 Nov 1994 08:49:37 GMT",
           "Sun, 06 Nov 1994 24:00:00 GMT",
           "Sun, 06 Nov 1994 08:60:00 GMT",
           "Sun, 06 Nov 1994 08:49:61 GMT",
           "Sun, 06 Nov 1994 8:49:37 GMT",
           "Xyz, 06 Nov 1994 08:49:37 GMT",
           "Sun,06 Nov 1994 08:49:37 GMT",
           "Sunday, 06-Nov-1994 08:49:37 GMT",
           "Sun, 06-Nov-94 08:49:37 GMT",
           "Sun Nov 6 08:49:37 1994",  // asctime pads the day with a space
           "Sun Nov  6 08:49:37 94",
           "Sun Nov  6 08:49:37 1994 GMT",
       }) {
    EXPECT_FALSE(parse_retry_after(bad, kNow)) << "'" << bad << "'";
  }
}

// --- decide: success -------------------------------------------------------------

TEST(Decide, AnyTwoHundredIsSuccess) {
  for (int status : {200, 201, 202, 204, 250, 299}) {
    auto d = decide(sub(), 1, response(status), kNow, kMid);
    EXPECT_EQ(d.action, Action::ack) << status;
    EXPECT_FALSE(d.counts_as_failure);
    EXPECT_TRUE(d.reason.empty());
  }
  // Even on the last allowed attempt.
  EXPECT_EQ(decide(sub(), 8, response(200), kNow, kMid).action, Action::ack);
}

TEST(Decide, ExplicitModeAwaitsAckUntilDeadline) {
  auto s = sub();
  s.ack_mode = AckMode::explicit_ack;
  s.ack_deadline_ms = 45000;
  auto d = decide(s, 3, response(204), kNow, kMid);
  EXPECT_EQ(d.action, Action::await_ack);
  EXPECT_EQ(d.due_ms, kNow + 45000);
  EXPECT_FALSE(d.counts_as_failure);
}

TEST(Decide, DeadLetterHeaderWithReason) {
  auto o = response(200);
  o.dead_letter_requested = true;
  o.dead_letter_reason = "unknown order type";
  auto d = decide(sub(), 1, o, kNow, kMid);
  EXPECT_EQ(d.action, Action::dead_letter);
  EXPECT_EQ(d.reason, "rejected by endpoint: unknown order type");
  EXPECT_FALSE(d.counts_as_failure);
}

TEST(Decide, DeadLetterHeaderWithoutReason) {
  auto o = response(202);
  o.dead_letter_requested = true;
  auto d = decide(sub(), 1, o, kNow, kMid);
  EXPECT_EQ(d.action, Action::dead_letter);
  EXPECT_EQ(d.reason, "rejected by endpoint");
}

TEST(Decide, DeadLetterHeaderWinsInExplicitMode) {
  auto s = sub();
  s.ack_mode = AckMode::explicit_ack;
  auto o = response(200);
  o.dead_letter_requested = true;
  EXPECT_EQ(decide(s, 1, o, kNow, kMid).action, Action::dead_letter);
}

TEST(Decide, DeadLetterHeaderCountsOnlyOnTwoHundreds) {
  auto o = response(500);
  o.dead_letter_requested = true;
  auto d = decide(sub(), 1, o, kNow, kMid);
  EXPECT_EQ(d.action, Action::retry);
  EXPECT_EQ(d.reason, "HTTP 500");
}

// --- decide: 410 -----------------------------------------------------------------

TEST(Decide, GoneDisablesWithoutCountingAnAttempt) {
  for (std::uint32_t attempt : {1u, 8u, 20u}) {
    auto d = decide(sub(), attempt, response(410), kNow, kMid);
    EXPECT_EQ(d.action, Action::disable);
    EXPECT_EQ(d.reason, "endpoint answered 410 Gone");
    EXPECT_FALSE(d.counts_as_failure);
  }
}

// --- decide: failed attempts -----------------------------------------------------

TEST(Decide, EveryOtherStatusIsAFailedAttempt) {
  for (int status : {0, 100, 101, 199, 300, 301, 302, 304, 307, 400, 401, 403, 404, 405, 408, 409, 411, 413, 422,
                     429, 451, 500, 501, 502, 503, 504, 599, 600, 999}) {
    auto d = decide(sub(), 1, response(status), kNow, kMid);
    EXPECT_EQ(d.action, Action::retry) << status;
    EXPECT_EQ(d.due_ms, kNow + 1000) << status;
    EXPECT_EQ(d.reason, "HTTP " + std::to_string(status));
    EXPECT_TRUE(d.counts_as_failure);
  }
}

TEST(Decide, TransportErrorsAreFailedAttempts) {
  const std::pair<AttemptOutcome, std::string> cases[] = {
      {transport(Kind::timeout), "timeout after 10000 ms"},
      {transport(Kind::timeout, "timeout after 250 ms (reading headers)"), "timeout after 250 ms (reading headers)"},
      {transport(Kind::connect_error), "connection to the endpoint failed"},
      {transport(Kind::connect_error, "connect: Connection refused"), "connect: Connection refused"},
      {transport(Kind::refused_address), "endpoint address is not allowed"},
      {transport(Kind::refused_address, "10.0.0.1 is a private address"), "10.0.0.1 is a private address"},
      {transport(Kind::other_error), "delivery failed"},
      {transport(Kind::other_error, "TLS handshake failed"), "TLS handshake failed"},
  };
  for (const auto& [outcome, reason] : cases) {
    auto d = decide(sub(), 2, outcome, kNow, kMid);
    EXPECT_EQ(d.action, Action::retry) << reason;
    EXPECT_EQ(d.due_ms, kNow + 2000) << reason;
    EXPECT_EQ(d.reason, reason);
    EXPECT_TRUE(d.counts_as_failure);
  }
}

TEST(Decide, TimeoutTextUsesTheSubscriptionsTimeout) {
  auto s = sub();
  s.timeout_ms = 2500;
  EXPECT_EQ(decide(s, 1, transport(Kind::timeout), kNow, kMid).reason, "timeout after 2500 ms");
}

TEST(Decide, RetryScheduleFollowsTheBackoffSequence) {
  const std::int64_t expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 64000};
  for (std::uint32_t attempt = 1; attempt <= 7; ++attempt) {
    auto d = decide(sub(), attempt, response(500), kNow, kMid);
    ASSERT_EQ(d.action, Action::retry);
    EXPECT_EQ(d.due_ms - kNow, expected[attempt - 1]) << attempt;
  }
}

TEST(Decide, RetryScheduleCapsAtMaxBackoff) {
  auto s = sub();
  s.retry.max_attempts = 100;
  EXPECT_EQ(decide(s, 10, response(500), kNow, kMid).due_ms - kNow, 512000);
  EXPECT_EQ(decide(s, 11, response(500), kNow, kMid).due_ms - kNow, 600000);
  EXPECT_EQ(decide(s, 99, response(500), kNow, kMid).due_ms - kNow, 600000);
}

TEST(Decide, RetryUsesJitter) {
  EXPECT_EQ(decide(sub(), 1, response(500), kNow, kLow).due_ms, kNow + 800);
  EXPECT_EQ(decide(sub(), 1, response(500), kNow, kHigh).due_ms, kNow + 1200);
}

TEST(Decide, DeadLettersExactlyAtMaxAttempts) {
  auto s = sub();  // max_attempts 8
  auto before = decide(s, 7, response(500), kNow, kMid);
  EXPECT_EQ(before.action, Action::retry);
  auto last = decide(s, 8, response(500), kNow, kMid);
  EXPECT_EQ(last.action, Action::dead_letter);
  EXPECT_EQ(last.reason, "HTTP 500");
  EXPECT_TRUE(last.counts_as_failure);
  EXPECT_EQ(decide(s, 9, response(500), kNow, kMid).action, Action::dead_letter);
  auto timeout = decide(s, 8, transport(Kind::timeout), kNow, kMid);
  EXPECT_EQ(timeout.action, Action::dead_letter);
  EXPECT_EQ(timeout.reason, "timeout after 10000 ms");
}

TEST(Decide, SingleAttemptDeadLettersOnFirstFailure) {
  auto s = sub();
  s.retry.max_attempts = 1;
  EXPECT_EQ(decide(s, 1, response(502), kNow, kMid).action, Action::dead_letter);
  EXPECT_EQ(decide(s, 1, transport(Kind::connect_error), kNow, kMid).action, Action::dead_letter);
  EXPECT_EQ(decide(s, 1, response(200), kNow, kMid).action, Action::ack);
}

// --- decide: 429 / 503 with Retry-After ---------------------------------------

TEST(Decide, RetryAfterSecondsIsHonoured) {
  for (int status : {429, 503}) {
    auto d = decide(sub(), 1, with_retry_after(status, "30"), kNow, kMid);
    EXPECT_EQ(d.action, Action::retry) << status;
    EXPECT_EQ(d.due_ms, kNow + 30000) << status;
    EXPECT_EQ(d.reason, "HTTP " + std::to_string(status));
    EXPECT_TRUE(d.counts_as_failure);
  }
}

TEST(Decide, RetryAfterDateIsHonoured) {
  auto d = decide(sub(), 1, with_retry_after(503, "Sun, 06 Nov 1994 08:49:37 GMT"), kNow, kMid);
  EXPECT_EQ(d.action, Action::retry);
  EXPECT_EQ(d.due_ms, kExampleDate);
}

TEST(Decide, RetryAfterIsCappedByMaxBackoff) {
  auto d = decide(sub(), 1, with_retry_after(429, "86400"), kNow, kMid);
  EXPECT_EQ(d.due_ms, kNow + 600000);
  d = decide(sub(), 1, with_retry_after(429, "Mon, 07 Nov 1994 08:49:00 GMT"), kNow, kMid);
  EXPECT_EQ(d.due_ms, kNow + 600000);
}

TEST(Decide, RetryAfterShorterThanBackoffUsesBackoff) {
  // Attempt 5: backoff 16 s is longer than the 10 s asked for.
  EXPECT_EQ(decide(sub(), 5, with_retry_after(429, "10"), kNow, kMid).due_ms, kNow + 16000);
  EXPECT_EQ(decide(sub(), 1, with_retry_after(503, "0"), kNow, kMid).due_ms, kNow + 1000);
  EXPECT_EQ(decide(sub(), 1, with_retry_after(503, "Sun, 06 Nov 1994 08:00:00 GMT"), kNow, kMid).due_ms,
            kNow + 1000);
  // Jitter applies to the backoff it falls back to.
  EXPECT_EQ(decide(sub(), 1, with_retry_after(503, "0"), kNow, kLow).due_ms, kNow + 800);
  // ... and not to the endpoint's own delay.
  EXPECT_EQ(decide(sub(), 1, with_retry_after(503, "30"), kNow, kLow).due_ms, kNow + 30000);
}

TEST(Decide, WithoutUsableRetryAfterItIsAnOrdinaryFailure) {
  for (int status : {429, 503}) {
    EXPECT_EQ(decide(sub(), 2, response(status), kNow, kMid).due_ms, kNow + 2000);
    EXPECT_EQ(decide(sub(), 2, with_retry_after(status, "later"), kNow, kMid).due_ms, kNow + 2000);
    EXPECT_EQ(decide(sub(), 2, with_retry_after(status, ""), kNow, kMid).due_ms, kNow + 2000);
  }
}

TEST(Decide, RetryAfterOnOtherStatusesIsIgnored) {
  for (int status : {500, 502, 504, 408}) {
    EXPECT_EQ(decide(sub(), 1, with_retry_after(status, "30"), kNow, kMid).due_ms, kNow + 1000) << status;
  }
}

TEST(Decide, RetryAfterStillCountsTowardMaxAttempts) {
  auto d = decide(sub(), 8, with_retry_after(429, "30"), kNow, kMid);
  EXPECT_EQ(d.action, Action::dead_letter);
  EXPECT_EQ(d.reason, "HTTP 429");
  EXPECT_TRUE(d.counts_as_failure);
}

TEST(Decide, LastStatusIsTheResponseStatus) {
  EXPECT_EQ(decide(sub(), 1, response(200), kNow, kMid).last_status, 200);
  EXPECT_EQ(decide(sub(), 1, response(410), kNow, kMid).last_status, 410);
  EXPECT_EQ(decide(sub(), 1, response(500), kNow, kMid).last_status, 500);
  EXPECT_EQ(decide(sub(), 8, response(502), kNow, kMid).last_status, 502);
  EXPECT_EQ(decide(sub(), 1, with_retry_after(429, "5"), kNow, kMid).last_status, 429);
  auto o = response(200);
  o.dead_letter_requested = true;
  EXPECT_EQ(decide(sub(), 1, o, kNow, kMid).last_status, 200);
  auto t = transport(Kind::timeout);
  t.status = 504;  // ignored: no response
  EXPECT_EQ(decide(sub(), 1, t, kNow, kMid).last_status, 0);
  EXPECT_EQ(on_ack_deadline_expired(sub(), 1, kNow, kMid).last_status, 0);
  EXPECT_EQ(on_nack(sub(), 1, 0, kNow).last_status, 0);
}

// --- ack deadline and nack -----------------------------------------------------

TEST(AckDeadline, ExpiryIsAFailedAttempt) {
  auto s = sub();
  s.ack_mode = AckMode::explicit_ack;
  auto d = on_ack_deadline_expired(s, 1, kNow, kMid);
  EXPECT_EQ(d.action, Action::retry);
  EXPECT_EQ(d.due_ms, kNow + 1000);
  EXPECT_EQ(d.reason, "ack deadline of 30000 ms expired");
  EXPECT_TRUE(d.counts_as_failure);
  EXPECT_EQ(on_ack_deadline_expired(s, 3, kNow, kMid).due_ms, kNow + 4000);
  EXPECT_EQ(on_ack_deadline_expired(s, 1, kNow, kLow).due_ms, kNow + 800);
}

TEST(AckDeadline, ExpiryOnLastAttemptDeadLetters) {
  auto s = sub();
  s.ack_mode = AckMode::explicit_ack;
  s.ack_deadline_ms = 1000;
  auto d = on_ack_deadline_expired(s, 8, kNow, kMid);
  EXPECT_EQ(d.action, Action::dead_letter);
  EXPECT_EQ(d.reason, "ack deadline of 1000 ms expired");
}

TEST(Nack, RetriesAfterTheGivenDelay) {
  auto d = on_nack(sub(), 1, 0, kNow);
  EXPECT_EQ(d.action, Action::retry);
  EXPECT_EQ(d.due_ms, kNow);
  EXPECT_EQ(d.reason, "nacked");
  EXPECT_TRUE(d.counts_as_failure);
  EXPECT_EQ(on_nack(sub(), 7, 5000, kNow).due_ms, kNow + 5000);
  // The delay is the caller's: not capped by max_backoff_ms, but never overflows.
  EXPECT_EQ(on_nack(sub(), 1, 3600000, kNow).due_ms, kNow + 3600000);
  EXPECT_EQ(on_nack(sub(), 1, ~std::uint64_t{0}, kNow).due_ms, std::numeric_limits<std::int64_t>::max());
}

TEST(Nack, DeadLettersWhenAttemptsAreUsedUp) {
  auto d = on_nack(sub(), 8, 1000, kNow);
  EXPECT_EQ(d.action, Action::dead_letter);
  EXPECT_EQ(d.reason, "nacked");
  EXPECT_TRUE(d.counts_as_failure);
}

}  // namespace
}  // namespace ms::subscribe
