// What to do after one try of an export request: the OTLP/HTTP retry rules
// as a pure decision (no I/O, no clock of its own, injected randomness); the
// exporter's coroutine carries it out.
//
//   2xx                          → done
//   429, 502, 503, 504           → retry: after Retry-After when the collector sent
//   connection errors, timeouts     one (seconds or an HTTP date), else after an
//                                   exponential backoff with jitter
//   any other status             → give up (the collector will not take this batch)
//   tries used up, or the wait   → give up (the batch counts as failed)
//     would outlast the batch's
//     export timeout
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ms::observe {

struct OtlpRetryPolicy {
  int max_attempts = 5;                             // tries per batch, the first included
  std::chrono::milliseconds initial_backoff{1000};  // wait after the first failed try
  std::chrono::milliseconds max_backoff{5000};      // cap of one wait (before jitter)
  double multiplier = 2.0;                          // growth per failed try
  double jitter = 0.2;                              // each wait × (1 ± jitter), uniformly
};

// The outcome of one try.
struct ExportTry {
  bool responded = false;                  // false: no HTTP response (connect, TLS, timeout, broken connection)
  int status = 0;                          // when responded
  std::optional<std::string> retry_after;  // the Retry-After header, when responded with one
  std::string body;                        // the response body, when responded (a 2xx may report a partial success)
  std::string error;                       // when !responded: what went wrong
};

struct RetryStep {
  enum class Action { done, retry, give_up } action = Action::done;
  std::chrono::milliseconds delay{0};  // retry: wait this long before the next try
  // give_up because the collector's Retry-After reached past the batch's
  // budget: send nothing before this much time has passed.
  std::chrono::milliseconds hold_off{0};
  std::string reason;  // retry / give_up: why, one phrase for logs
};

using RandomUnit = std::function<double()>;  // uniform in [0, 1)

bool retryable_status(int status);  // 429, 502, 503, 504

// The wait after `failed_tries` failed tries (>= 1):
// min(max_backoff, initial_backoff × multiplier^(failed_tries - 1)) × (1 ± jitter).
std::chrono::milliseconds backoff_delay(const OtlpRetryPolicy& policy, int failed_tries, const RandomUnit& random);

// Retry-After as delay-seconds ("120") or an HTTP-date (base/http_date.h),
// relative to now_unix_ms (a date in the past gives 0), at most 24 h. nullopt
// when neither.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, std::int64_t now_unix_ms);

// `attempt`: the number of the try that gave `result` (1 for the first);
// `time_left`: what remains of the batch's export timeout now.
RetryStep next_step(const OtlpRetryPolicy& policy, int attempt, const ExportTry& result,
                    std::chrono::milliseconds time_left, std::int64_t now_unix_ms, const RandomUnit& random);

}  // namespace ms::observe
