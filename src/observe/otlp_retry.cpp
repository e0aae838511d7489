#include "observe/otlp_retry.h"

#include "base/http_date.h"

#include <algorithm>
#include <cmath>

namespace ms::observe {

namespace {

constexpr std::int64_t kMaxSeconds = 24LL * 3600;  // longer Retry-After values saturate

RetryStep give_up(std::string reason) {
  RetryStep s;
  s.action = RetryStep::Action::give_up;
  s.reason = std::move(reason);
  return s;
}

std::string what_failed(const ExportTry& t) {
  return t.responded ? "collector answered " + std::to_string(t.status) : t.error;
}

}  // namespace

bool retryable_status(int status) { return status == 429 || status == 502 || status == 503 || status == 504; }

std::chrono::milliseconds backoff_delay(const OtlpRetryPolicy& p, int failed_tries, const RandomUnit& random) {
  const double ceiling = static_cast<double>(std::max<std::int64_t>(1, p.max_backoff.count()));
  double base = static_cast<double>(p.initial_backoff.count()) * std::pow(p.multiplier, std::max(failed_tries, 1) - 1);
  if (!(base <= ceiling)) base = ceiling;  // also NaN and infinity
  if (!(base >= 0.0)) base = 0.0;
  double r = random ? random() : 0.5;
  r = std::isnan(r) ? 0.5 : std::clamp(r, 0.0, 1.0);
  const double jitter = std::isnan(p.jitter) ? 0.0 : std::clamp(p.jitter, 0.0, 1.0);
  return std::chrono::milliseconds(std::llround(base * (1.0 + jitter * (2.0 * r - 1.0))));
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, std::int64_t now_unix_ms) {
  auto ms = retry_after_ms(value, now_unix_ms, kMaxSeconds * 1000);
  if (!ms) return std::nullopt;
  return std::chrono::milliseconds(*ms);
}

RetryStep next_step(const OtlpRetryPolicy& policy, int attempt, const ExportTry& result,
                    std::chrono::milliseconds time_left, std::int64_t now_unix_ms, const RandomUnit& random) {
  if (result.responded && result.status >= 200 && result.status <= 299) return RetryStep{};
  if (result.responded && !retryable_status(result.status)) {
    return give_up("collector answered " + std::to_string(result.status) + " (not retryable)");
  }
  if (attempt >= policy.max_attempts) {
    return give_up(what_failed(result) + "; gave up after " + std::to_string(attempt) +
                   (attempt == 1 ? " try" : " tries"));
  }
  RetryStep step;
  step.action = RetryStep::Action::retry;
  step.reason = what_failed(result);
  std::optional<std::chrono::milliseconds> wish;
  if (result.responded && result.retry_after) wish = parse_retry_after(*result.retry_after, now_unix_ms);
  step.delay = wish ? *wish : backoff_delay(policy, attempt, random);
  if (step.delay >= time_left) {
    RetryStep out = give_up(what_failed(result) + "; the next try (in " + std::to_string(step.delay.count()) +
                            " ms) would pass the export timeout");
    if (wish) out.hold_off = *wish;
    return out;
  }
  return step;
}

}  // namespace ms::observe
