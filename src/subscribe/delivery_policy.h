// The delivery state machine as pure code: given what happened to an attempt,
// the subscription's policy, the clock and a random source, decide what to do
// next. No I/O here; the dispatcher carries the decisions out.
//
//   new → in flight → succeeded (ack)
//                   → retry scheduled (attempt recorded, due time) → in flight …
//                   → dead-lettered (after max_attempts, or when the endpoint asks)
//   explicit ack mode: 2xx → awaiting ack (deadline) → acked | expired = failed attempt
#pragma once

#include "subscribe/subscription.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace ms::subscribe {

// What one attempt produced, as the policy needs to see it.
struct AttemptOutcome {
  enum class Kind { response, timeout, connect_error, refused_address, other_error };
  Kind kind = Kind::response;
  int status = 0;                           // HTTP status when kind == response
  bool dead_letter_requested = false;       // 2xx with "webhook-delivery: dead-letter"
  std::string dead_letter_reason;           // "webhook-delivery-reason"
  std::optional<std::string> retry_after;   // Retry-After header value on 429/503
  std::string error;                        // text for last_error
};

struct Decision {
  enum class Action {
    ack,           // done: XACK
    await_ack,     // explicit mode: received, wait for ack until deadline_ms
    retry,         // failed attempt: deliver again at due_ms
    dead_letter,   // give up: move to the DLQ with reason
    disable,       // 410 Gone: disable the subscription, keep the message pending
  };
  Action action = Action::ack;
  std::int64_t due_ms = 0;       // retry: when; await_ack: the deadline
  std::string reason;            // dead_letter / disable / retry: the error text for last_error
  bool counts_as_failure = false;
  int last_status = 0;  // HTTP status of the attempt (0: none), for the dead-letter record
};

using RandomUnit = std::function<double()>;  // uniform in [0, 1)

// Backoff before attempt `attempt + 1` after `attempt` failures (attempt >= 1):
// min(max_backoff_ms, initial_backoff_ms * multiplier^(attempt-1)) ± jitter.
std::int64_t backoff_ms(const RetryPolicy& p, std::uint32_t attempt, const RandomUnit& rnd);

// Retry-After: delta seconds or an HTTP date; returns the delay in ms from now_ms.
std::optional<std::int64_t> parse_retry_after(std::string_view value, std::int64_t now_ms);

// `attempt` is the number of this attempt (1 for the first).
Decision decide(const Subscription& sub, std::uint32_t attempt, const AttemptOutcome& outcome, std::int64_t now_ms,
                const RandomUnit& rnd);

// An explicit-mode message whose ack deadline passed: a failed attempt.
Decision on_ack_deadline_expired(const Subscription& sub, std::uint32_t attempt, std::int64_t now_ms,
                                 const RandomUnit& rnd);

// A nack with delay_ms: a failed attempt retried after the delay (or dead-lettered
// when the attempts are used up).
Decision on_nack(const Subscription& sub, std::uint32_t attempt, std::uint64_t delay_ms, std::int64_t now_ms);

}  // namespace ms::subscribe
