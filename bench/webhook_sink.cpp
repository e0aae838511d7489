// webhook_sink: a fast webhook receiver for the delivery benchmarks.
//
// POST to any path except /reset and /config: answers 200 at once (keep-alive) and
// counts it — or, for the share of attempts set by fail_percent, answers 500 and
// counts a failure. Which attempts fail is decided by a hash of (x-subscription-id,
// webhook-id, x-delivery-attempt), so it does not depend on arrival order, and a
// message failing one attempt may fail the next one too, independently.
// For each successful request it takes the arrival time (CLOCK_REALTIME) and, from the body,
//   - "published_at":"YYYY-MM-DDTHH:MM:SS.mmmZ" (the envelope's, millisecond
//     resolution) → latency "pub" = arrival - published_at;
//   - "bench_t":<Unix ns> (put into `data` by open_loop_publisher: the intended
//     send time of the publish) → latency "send" = arrival - bench_t;
//   - "id":"..." with the x-subscription-id header → duplicate (sub, id) pairs
//     and the number of distinct subscriptions seen.
// Both latencies go into log-linear histograms (bench/histogram.h).
//
//   GET  /stats  → text, one key=value a line: count (2xx answers), failed (500
//                  answers), retried_ok (2xx on an attempt > 1), first_ns, last_ns,
//                  dups, subs, min_per_sub, pub_n, pub_p50_us ... pub_max_us,
//                  send_n, send_p50_us ...
//   GET  /dist?name=send|pub → the latency distribution: "percentile value_us" lines
//                  at 1 - 10^(-k/10) (k = 0, 1, ...) while the count resolves them
//   POST /reset  → clears the counters and histograms (keeps fail_percent)
//   POST /config?fail_percent=N → from now on, answer 500 to about N % of attempts
//   GET  /last   → a recent body received
//
//   webhook_sink [--port=0] [--threads=2] [--max-seconds=1800] [--fail-percent=0]
//
// Prints "port <N>" on stdout once listening on 127.0.0.1.
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "bench_server.h"
#include "histogram.h"

namespace {

std::int64_t realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return true;
}

// "2026-12-01T18:00:00.123Z" → Unix ms; -1 when it does not parse.
std::int64_t parse_rfc3339_ms(std::string_view s) {
  unsigned y, mo, d, h, mi, se, ms = 0;
  if (!digits(s, 0, 4, y) || !digits(s, 5, 2, mo) || !digits(s, 8, 2, d) || !digits(s, 11, 2, h) ||
      !digits(s, 14, 2, mi) || !digits(s, 17, 2, se))
    return -1;
  if (s.size() > 20 && s[19] == '.' && !digits(s, 20, 3, ms)) return -1;
  return ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + static_cast<std::int64_t>(se) * 1000 + ms;
}

std::string_view string_field(std::string_view body, std::string_view key) {
  auto p = body.find(key);
  if (p == std::string_view::npos) return {};
  p += key.size();
  auto e = body.find('"', p);
  if (e == std::string_view::npos) return {};
  return body.substr(p, e - p);
}

std::string_view header(const bench::Request& req, std::string_view name) {
  if (auto it = req.find(name); it != req.end()) return it->value();
  return {};
}

// FNV-1a over the parts, then the splitmix64 finalizer, for the deterministic choice
// of failing attempts. Without the finalizer, attempts 1 and 2 of one message (which
// differ in the last byte only) fail together about twice as often as independent
// draws would.
std::uint64_t attempt_hash(std::initializer_list<std::string_view> parts) {
  std::uint64_t h = 14695981039346656037ull;
  for (auto part : parts) {
    for (char c : part) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  }
  h += 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

struct Sink {
  std::atomic<int> fail_percent{0};
  std::mutex mu;
  std::uint64_t count = 0;
  std::uint64_t failed = 0;
  std::uint64_t retried_ok = 0;
  std::int64_t first_ns = 0;
  std::int64_t last_ns = 0;
  std::uint64_t dups = 0;
  std::unordered_map<std::string, std::uint64_t> per_sub;
  std::unordered_set<std::string> seen;
  bench::Histogram pub;
  bench::Histogram send;
  std::string last_body;

  // Whether this attempt is one of the fail_percent % answered with 500.
  bool should_fail(const bench::Request& req) const {
    int pct = fail_percent.load(std::memory_order_relaxed);
    if (pct <= 0) return false;
    std::string_view id = header(req, "webhook-id");
    if (id.empty()) id = string_field(req.body(), "\"id\":\"");
    auto h = attempt_hash({header(req, "x-subscription-id"), id, header(req, "x-delivery-attempt")});
    return static_cast<int>(h % 100) < pct;
  }

  void on_failure() {
    std::lock_guard lock(mu);
    ++failed;
  }

  void on_delivery(const bench::Request& req) {
    const std::int64_t now = realtime_ns();
    std::string_view body = req.body();
    std::string_view attempt = header(req, "x-delivery-attempt");
    const bool retry = !attempt.empty() && attempt != "1";
    std::int64_t pub_lat = -1, send_lat = -1;
    auto pa = string_field(body, "\"published_at\":\"");
    if (!pa.empty()) {
      std::int64_t ms = parse_rfc3339_ms(pa);
      if (ms >= 0) pub_lat = std::max<std::int64_t>(0, now - ms * 1000000);
    }
    auto bt = body.find("\"bench_t\":");
    if (bt != std::string_view::npos) {
      long long t = std::strtoll(body.data() + bt + 10, nullptr, 10);
      if (t > 0) send_lat = std::max<std::int64_t>(0, now - t);
    }
    std::string_view sub = header(req, "x-subscription-id");
    std::lock_guard lock(mu);
    if (count++ == 0) first_ns = now;
    if (retry) ++retried_ok;
    last_ns = std::max(last_ns, now);
    if (pub_lat >= 0) pub.record(static_cast<std::uint64_t>(pub_lat));
    if (send_lat >= 0) send.record(static_cast<std::uint64_t>(send_lat));
    if (!sub.empty()) {
      ++per_sub[std::string(sub)];
      auto id = string_field(body, "\"id\":\"");
      std::string key(sub);
      key += ' ';
      key += id;
      if (!seen.insert(std::move(key)).second) ++dups;
    }
    if ((count & 1023) == 1) last_body.assign(body);
  }

  static void percentiles(std::string& out, const char* name, const bench::Histogram& h) {
    char line[512];
    auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
    std::snprintf(line, sizeof line,
                  "%s_n=%llu\n%s_p50_us=%.1f\n%s_p90_us=%.1f\n%s_p99_us=%.1f\n%s_p999_us=%.1f\n%s_max_us=%.1f\n", name,
                  static_cast<unsigned long long>(h.count()), name, us(h.percentile(50)), name,
                  us(h.percentile(90)), name, us(h.percentile(99)), name, us(h.percentile(99.9)), name,
                  us(h.max()));
    out += line;
  }

  std::string stats() {
    std::lock_guard lock(mu);
    std::uint64_t min_per_sub = 0;
    bool firsts = true;
    for (auto& [k, v] : per_sub) {
      if (firsts || v < min_per_sub) min_per_sub = v;
      firsts = false;
    }
    char head[512];
    std::snprintf(head, sizeof head,
                  "count=%llu\nfailed=%llu\nretried_ok=%llu\nfirst_ns=%lld\nlast_ns=%lld\ndups=%llu\nsubs=%zu\n"
                  "min_per_sub=%llu\n",
                  static_cast<unsigned long long>(count), static_cast<unsigned long long>(failed),
                  static_cast<unsigned long long>(retried_ok), static_cast<long long>(first_ns),
                  static_cast<long long>(last_ns), static_cast<unsigned long long>(dups), per_sub.size(),
                  static_cast<unsigned long long>(min_per_sub));
    std::string out = head;
    percentiles(out, "pub", pub);
    percentiles(out, "send", send);
    return out;
  }

  // The distribution as "percentile value_us" lines, for plotting: percentiles
  // 1 - 10^(-k/10) while at least one recorded value lies beyond them, then 100.
  std::string distribution(std::string_view name) {
    std::lock_guard lock(mu);
    const bench::Histogram& h = name == "pub" ? pub : send;
    std::string out;
    char line[64];
    if (h.count() == 0) return out;
    for (int k = 0; k <= 60; ++k) {
      double tail = std::pow(10.0, -k / 10.0);  // 1 - q
      if (tail * static_cast<double>(h.count()) < 1.0) break;
      double q = 100.0 * (1.0 - tail);
      std::snprintf(line, sizeof line, "%.6f %.1f\n", q, static_cast<double>(h.percentile(q)) / 1000.0);
      out += line;
    }
    std::snprintf(line, sizeof line, "%.6f %.1f\n", 100.0, static_cast<double>(h.max()) / 1000.0);
    out += line;
    return out;
  }

  void reset() {
    std::lock_guard lock(mu);
    count = 0;
    failed = 0;
    retried_ok = 0;
    first_ns = last_ns = 0;
    dups = 0;
    per_sub.clear();
    seen.clear();
    pub.reset();
    send.reset();
  }
};

}  // namespace

int main(int argc, char** argv) {
  bench::ServerOptions o;
  o.threads = 2;
  auto sink = std::make_unique<Sink>();
  for (int i = 1; i < argc; ++i) {
    if (auto f = bench::flag_value(argv[i], "fail-percent")) {
      sink->fail_percent = static_cast<int>(std::min(100ll, *f));
    } else if (!bench::parse_server_flag(argv[i], o)) {
      std::fprintf(stderr, "usage: %s [--port=N] [--threads=N] [--max-seconds=N] [--fail-percent=N]\n", argv[0]);
      return 2;
    }
  }
  auto handler = [&sink](bench::Request& req, bench::Response& res) {
    namespace http = bench::http;
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    if (req.method() == http::verb::post && path != "/reset" && path != "/config") {
      if (sink->should_fail(req)) {
        sink->on_failure();
        res.result(http::status::internal_server_error);
        return;
      }
      sink->on_delivery(req);
      return;  // 200, empty body
    }
    res.set(http::field::content_type, "text/plain");
    if (path == "/stats") {
      res.body() = sink->stats();
    } else if (path == "/dist") {
      res.body() = sink->distribution(target.find("name=pub") != std::string_view::npos ? "pub" : "send");
    } else if (path == "/config") {
      auto p = target.find("fail_percent=");
      if (p == std::string_view::npos) {
        res.result(http::status::bad_request);
        res.body() = "want ?fail_percent=N\n";
      } else {
        int pct = std::atoi(std::string(target.substr(p + 13)).c_str());
        sink->fail_percent = std::clamp(pct, 0, 100);
        res.body() = "fail_percent=" + std::to_string(sink->fail_percent.load()) + "\n";
      }
    } else if (path == "/reset") {
      sink->reset();
      res.body() = "ok\n";
    } else if (path == "/last") {
      std::lock_guard lock(sink->mu);
      res.body() = sink->last_body;
    } else {
      res.result(http::status::not_found);
    }
  };
  return bench::run_server(o, handler);
}
