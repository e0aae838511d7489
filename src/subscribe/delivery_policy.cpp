#include "subscribe/delivery_policy.h"

#include "base/http_date.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>

namespace ms::subscribe {
namespace {

constexpr std::int64_t kMaxMs = std::numeric_limits<std::int64_t>::max();

std::int64_t add_ms(std::int64_t now_ms, std::uint64_t delay_ms) {
  if (now_ms >= 0 && delay_ms > static_cast<std::uint64_t>(kMaxMs - now_ms)) return kMaxMs;
  return now_ms + static_cast<std::int64_t>(std::min<std::uint64_t>(delay_ms, kMaxMs));
}

// --- failed attempts -----------------------------------------------------------

std::string failure_text(const Subscription& sub, const AttemptOutcome& o) {
  using Kind = AttemptOutcome::Kind;
  if (o.kind == Kind::response) return "HTTP " + std::to_string(o.status);
  if (!o.error.empty()) return o.error;
  switch (o.kind) {
    case Kind::timeout:
      return "timeout after " + std::to_string(sub.timeout_ms) + " ms";
    case Kind::connect_error:
      return "connection to the endpoint failed";
    case Kind::refused_address:
      return "endpoint address is not allowed";
    default:
      return "delivery failed";
  }
}

// A failed attempt: dead-lettered once `attempt` reaches max_attempts, else retried
// after `delay_ms`.
Decision failed_attempt(const Subscription& sub, std::uint32_t attempt, std::string reason, std::uint64_t delay_ms,
                        std::int64_t now_ms) {
  Decision d;
  d.counts_as_failure = true;
  d.reason = std::move(reason);
  if (attempt >= sub.retry.max_attempts) {
    d.action = Decision::Action::dead_letter;
  } else {
    d.action = Decision::Action::retry;
    d.due_ms = add_ms(now_ms, delay_ms);
  }
  return d;
}

}  // namespace

// Jitter is applied after the cap, so the delay is uniform in backoff·(1 ± jitter),
// then clamped to [1, max_backoff_ms]: max_backoff_ms is a true ceiling (at the cap
// the jitter only spreads retries below it), and no retry is scheduled for "now".
std::int64_t backoff_ms(const RetryPolicy& p, std::uint32_t attempt, const RandomUnit& rnd) {
  const double ceiling = static_cast<double>(std::max<std::uint64_t>(1, std::min<std::uint64_t>(p.max_backoff_ms, kMaxMs / 2)));
  const std::uint32_t failures = std::max<std::uint32_t>(attempt, 1) - 1;
  double base = static_cast<double>(p.initial_backoff_ms) * std::pow(p.multiplier, static_cast<double>(failures));
  if (!(base <= ceiling)) base = ceiling;  // also catches NaN and infinity
  double r = rnd ? rnd() : 0.5;
  if (!(r >= 0.0)) r = 0.0;
  if (r > 1.0) r = 1.0;
  const double jitter = std::clamp(std::isnan(p.jitter) ? 0.0 : p.jitter, 0.0, 1.0);
  const double value = std::clamp(base * (1.0 + jitter * (2.0 * r - 1.0)), 1.0, ceiling);
  return static_cast<std::int64_t>(std::llround(value));
}

std::optional<std::int64_t> parse_retry_after(std::string_view value, std::int64_t now_ms) {
  return retry_after_ms(value, now_ms, kMaxMs);
}

namespace {

Decision decide_action(const Subscription& sub, std::uint32_t attempt, const AttemptOutcome& outcome,
                       std::int64_t now_ms, const RandomUnit& rnd) {
  using Action = Decision::Action;
  Decision d;
  if (outcome.kind == AttemptOutcome::Kind::response) {
    const int status = outcome.status;
    if (status >= 200 && status <= 299) {
      if (outcome.dead_letter_requested) {
        d.action = Action::dead_letter;
        d.reason = outcome.dead_letter_reason.empty() ? "rejected by endpoint"
                                                      : "rejected by endpoint: " + outcome.dead_letter_reason;
      } else if (sub.ack_mode == AckMode::explicit_ack) {
        d.action = Action::await_ack;
        d.due_ms = add_ms(now_ms, sub.ack_deadline_ms);
      } else {
        d.action = Action::ack;
      }
      return d;
    }
    if (status == 410) {
      // Not the message's fault: it waits (as when paused) and keeps its attempt count.
      d.action = Action::disable;
      d.reason = "endpoint answered 410 Gone";
      return d;
    }
    if ((status == 429 || status == 503) && outcome.retry_after) {
      if (auto after = parse_retry_after(*outcome.retry_after, now_ms)) {
        // Still a failed attempt (an endpoint that always answers 429 must not hold a
        // message forever). The delay is the larger of the endpoint's wish and our own
        // backoff, so a "Retry-After: 0" does not turn into a tight loop; the wish is
        // capped by max_backoff_ms as the contract says.
        const auto wish = std::min<std::uint64_t>(static_cast<std::uint64_t>(*after), sub.retry.max_backoff_ms);
        const auto own = static_cast<std::uint64_t>(backoff_ms(sub.retry, attempt, rnd));
        return failed_attempt(sub, attempt, failure_text(sub, outcome), std::max(wish, own), now_ms);
      }
    }
  }
  return failed_attempt(sub, attempt, failure_text(sub, outcome),
                        static_cast<std::uint64_t>(backoff_ms(sub.retry, attempt, rnd)), now_ms);
}

}  // namespace

Decision decide(const Subscription& sub, std::uint32_t attempt, const AttemptOutcome& outcome, std::int64_t now_ms,
                const RandomUnit& rnd) {
  Decision d = decide_action(sub, attempt, outcome, now_ms, rnd);
  d.last_status = outcome.kind == AttemptOutcome::Kind::response ? outcome.status : 0;
  return d;
}

Decision on_ack_deadline_expired(const Subscription& sub, std::uint32_t attempt, std::int64_t now_ms,
                                 const RandomUnit& rnd) {
  return failed_attempt(sub, attempt, "ack deadline of " + std::to_string(sub.ack_deadline_ms) + " ms expired",
                        static_cast<std::uint64_t>(backoff_ms(sub.retry, attempt, rnd)), now_ms);
}

Decision on_nack(const Subscription& sub, std::uint32_t attempt, std::uint64_t delay_ms, std::int64_t now_ms) {
  return failed_attempt(sub, attempt, "nacked", delay_ms, now_ms);
}

}  // namespace ms::subscribe
