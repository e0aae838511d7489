#include "subscribe/delivery_policy.h"

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

// --- Retry-After ---------------------------------------------------------------

constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// A left-to-right reader over the three HTTP-date forms of RFC 9110 section 5.6.7.
struct DateReader {
  std::string_view s;
  std::size_t i = 0;

  bool done() const { return i == s.size(); }
  bool literal(std::string_view lit) {
    if (s.substr(i, lit.size()) != lit) return false;
    i += lit.size();
    return true;
  }
  bool digits(std::size_t n, int& out) {
    if (s.size() - i < n) return false;
    int v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += n;
    out = v;
    return true;
  }
  template <std::size_t N>
  bool name(const std::array<std::string_view, N>& names, int& index) {
    for (std::size_t k = 0; k < N; ++k) {
      if (iequals(s.substr(i, names[k].size()), names[k])) {
        i += names[k].size();
        index = static_cast<int>(k);
        return true;
      }
    }
    return false;
  }
  // "HH:MM:SS"
  bool time_of_day(int& h, int& m, int& sec) {
    return digits(2, h) && literal(":") && digits(2, m) && literal(":") && digits(2, sec) && h <= 23 && m <= 59 &&
           sec <= 60;  // 60: a leap second, as the grammar allows
  }
  bool gmt() {
    if (!iequals(s.substr(i, 3), "GMT")) return false;
    i += 3;
    return true;
  }
};

struct CivilTime {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

std::optional<CivilTime> parse_http_date(std::string_view s, std::int64_t now_ms) {
  DateReader r{s};
  CivilTime t;
  int index = 0;
  if (s.size() > 3 && s[3] == ',') {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (!(r.name(kDays, index) && r.literal(", ") && r.digits(2, t.day) && r.literal(" ") &&
          r.name(kMonths, t.month) && r.literal(" ") && r.digits(4, t.year) && r.literal(" ") &&
          r.time_of_day(t.hour, t.minute, t.second) && r.literal(" ") && r.gmt() && r.done())) {
      return std::nullopt;
    }
  } else if (s.find(',') != std::string_view::npos) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    int yy = 0;
    if (!(r.name(kLongDays, index) && r.literal(", ") && r.digits(2, t.day) && r.literal("-") &&
          r.name(kMonths, t.month) && r.literal("-") && r.digits(2, yy) && r.literal(" ") &&
          r.time_of_day(t.hour, t.minute, t.second) && r.literal(" ") && r.gmt() && r.done())) {
      return std::nullopt;
    }
    // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
    using namespace std::chrono;
    const int now_year =
        static_cast<int>(year_month_day{floor<days>(sys_time<milliseconds>(milliseconds(now_ms)))}.year());
    t.year = now_year / 100 * 100 + yy;
    if (t.year > now_year + 50) t.year -= 100;
  } else {
    // asctime: "Sun Nov  6 08:49:37 1994"
    if (!(r.name(kDays, index) && r.literal(" ") && r.name(kMonths, t.month) && r.literal(" "))) return std::nullopt;
    if (!(r.literal(" ") ? r.digits(1, t.day) : r.digits(2, t.day))) return std::nullopt;
    if (!(r.literal(" ") && r.time_of_day(t.hour, t.minute, t.second) && r.literal(" ") && r.digits(4, t.year) &&
          r.done())) {
      return std::nullopt;
    }
  }
  t.month += 1;
  return t;
}

std::optional<std::int64_t> to_unix_ms(const CivilTime& t) {
  using namespace std::chrono;
  year_month_day ymd{year{t.year}, month{static_cast<unsigned>(t.month)}, day{static_cast<unsigned>(t.day)}};
  if (!ymd.ok()) return std::nullopt;
  const std::int64_t day_count = sys_days{ymd}.time_since_epoch().count();
  return ((day_count * 24 + t.hour) * 60 + t.minute) * 60 * 1000 + std::int64_t{t.second} * 1000;
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
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;

  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // delay-seconds; absurdly large values saturate (the caller caps them anyway)
    constexpr std::int64_t kMaxSeconds = kMaxMs / 1000;
    std::int64_t seconds = 0;
    for (char c : value) {
      seconds = seconds * 10 + (c - '0');
      if (seconds >= kMaxSeconds) return kMaxSeconds * 1000;
    }
    return seconds * 1000;
  }

  auto civil = parse_http_date(value, now_ms);
  if (!civil) return std::nullopt;
  auto at = to_unix_ms(*civil);
  if (!at) return std::nullopt;
  return std::max<std::int64_t>(0, *at - now_ms);
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
