// webhook_sink: a fast webhook receiver for the delivery benchmarks.
//
// POST to any path except /reset: answers 200 at once (keep-alive) and counts it.
// For each request it takes the arrival time (CLOCK_REALTIME) and, from the body,
//   - "published_at":"YYYY-MM-DDTHH:MM:SS.mmmZ" (the envelope's, millisecond
//     resolution) → latency "pub" = arrival - published_at;
//   - "bench_t":<Unix ns> (put into `data` by open_loop_publisher: the intended
//     send time of the publish) → latency "send" = arrival - bench_t;
//   - "id":"..." with the x-subscription-id header → duplicate (sub, id) pairs
//     and the number of distinct subscriptions seen.
// Both latencies go into log-linear histograms (bench/histogram.h).
//
//   GET  /stats  → text, one key=value a line: count, first_ns, last_ns, dups, subs,
//                  min_per_sub, pub_n, pub_p50_us ... pub_max_us, send_n, send_p50_us ...
//   POST /reset  → clears everything
//   GET  /last   → the last body received
//
//   webhook_sink [--port=0] [--threads=2] [--max-seconds=1800]
//
// Prints "port <N>" on stdout once listening on 127.0.0.1.
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
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

struct Sink {
  std::mutex mu;
  std::uint64_t count = 0;
  std::int64_t first_ns = 0;
  std::int64_t last_ns = 0;
  std::uint64_t dups = 0;
  std::unordered_map<std::string, std::uint64_t> per_sub;
  std::unordered_set<std::string> seen;
  bench::Histogram pub;
  bench::Histogram send;
  std::string last_body;

  void on_delivery(const bench::Request& req) {
    const std::int64_t now = realtime_ns();
    std::string_view body = req.body();
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
    std::string_view sub;
    if (auto it = req.find("x-subscription-id"); it != req.end()) sub = it->value();
    std::lock_guard lock(mu);
    if (count++ == 0) first_ns = now;
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
    std::snprintf(head, sizeof head, "count=%llu\nfirst_ns=%lld\nlast_ns=%lld\ndups=%llu\nsubs=%zu\nmin_per_sub=%llu\n",
                  static_cast<unsigned long long>(count), static_cast<long long>(first_ns),
                  static_cast<long long>(last_ns), static_cast<unsigned long long>(dups), per_sub.size(),
                  static_cast<unsigned long long>(min_per_sub));
    std::string out = head;
    percentiles(out, "pub", pub);
    percentiles(out, "send", send);
    return out;
  }

  void reset() {
    std::lock_guard lock(mu);
    count = 0;
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
  for (int i = 1; i < argc; ++i) {
    if (!bench::parse_server_flag(argv[i], o)) {
      std::fprintf(stderr, "usage: %s [--port=N] [--threads=N] [--max-seconds=N]\n", argv[0]);
      return 2;
    }
  }
  auto sink = std::make_unique<Sink>();
  auto handler = [&sink](bench::Request& req, bench::Response& res) {
    namespace http = bench::http;
    std::string_view target = req.target();
    if (req.method() == http::verb::post && target != "/reset") {
      sink->on_delivery(req);
      return;  // 200, empty body
    }
    res.set(http::field::content_type, "text/plain");
    if (target == "/stats") {
      res.body() = sink->stats();
    } else if (target == "/reset") {
      sink->reset();
      res.body() = "ok\n";
    } else if (target == "/last") {
      std::lock_guard lock(sink->mu);
      res.body() = sink->last_body;
    } else {
      res.result(http::status::not_found);
    }
  };
  return bench::run_server(o, handler);
}
