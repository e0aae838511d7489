#include "base/http_date.h"

#include <algorithm>
#include <array>
#include <chrono>

namespace ms {
namespace {

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

}  // namespace

std::optional<std::int64_t> retry_after_ms(std::string_view value, std::int64_t now_ms, std::int64_t max_ms) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  max_ms = std::max<std::int64_t>(0, max_ms);

  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // delay-seconds; absurdly large values saturate
    const std::int64_t max_seconds = max_ms / 1000;
    std::int64_t seconds = 0;
    for (char c : value) {
      seconds = seconds * 10 + (c - '0');
      if (seconds >= max_seconds) return max_seconds * 1000;
    }
    return seconds * 1000;
  }

  auto civil = parse_http_date(value, now_ms);
  if (!civil) return std::nullopt;
  auto at = to_unix_ms(*civil);
  if (!at) return std::nullopt;
  return std::clamp<std::int64_t>(*at - now_ms, 0, max_ms);
}

}  // namespace ms
