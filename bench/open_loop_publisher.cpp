// open_loop_publisher: a load generator for the publish routes (Asio/Beast, one
// thread, N keep-alive HTTP/1.1 connections to 127.0.0.1 only).
//
// --mode=open (default): single publishes at a fixed rate on a schedule. Message i
//   is due at t0 + i/rate and goes out on connection i % N; a connection still busy
//   with its previous request sends as soon as it is free. Latency is measured from
//   the INTENDED send time (no coordinated omission). Body:
//     {"data":{"n":i,"s":"<size x's>","bench_t":<intended send time, Unix ns>}}
// --mode=batch: closed loop, exactly --total messages in batches of --batch, each
//   connection sending the next batch when the previous one was answered. Body:
//     {"messages":[{"channel":C,"data":{"n":i,"s":"...","bench_t":<send time>}}, ...]}
//   With a list of channels (--channel=a,b,c), batch b goes to channel b mod 3, so
//   every batch is one channel's (one Redis Cluster slot's) and they take turns.
//
// --target may list several instances (--target=127.0.0.1:P1,127.0.0.1:P2):
// connection c talks to target c mod count, so publishing is spread evenly over them.
//
//   open_loop_publisher --target=127.0.0.1:PORT[,...] [--path=/v1/channels/bench.e2e/messages]
//       [--mode=open --rate=1000 --duration=10 | --mode=batch --total=20000 --batch=100
//        --channel=bench.deliv[,...]] [--connections=50] [--size=100] [--max-seconds=60]
//
// Prints key=value lines: mode, sent, ok, non2xx, errors, start_ns, end_ns,
// elapsed_s, rate, late_1ms, lat_p50_us, lat_p90_us, lat_p99_us, lat_p999_us, lat_max_us.
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "histogram.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

std::int64_t realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Target {
  std::string host;
  unsigned short port = 0;
};

struct Options {
  std::vector<Target> targets;
  std::string path = "/v1/channels/bench.e2e/messages";
  bool batch_mode = false;
  double rate = 1000;
  double duration = 10;
  std::uint64_t total = 20000;
  std::uint64_t batch = 100;
  std::vector<std::string> channels{"bench.deliv"};
  int connections = 50;
  std::size_t size = 100;
  int max_seconds = 60;
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --target=127.0.0.1:PORT[,...] [--path=P] [--mode=open|batch] [--rate=R] [--duration=S] "
               "[--total=N] [--batch=B] [--channel=C[,...]] [--connections=N] [--size=BYTES] [--max-seconds=S]\n",
               argv0);
  std::exit(2);
}

// "a,b,c" → {"a", "b", "c"}; empty items are dropped.
std::vector<std::string> split_commas(const std::string& v) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (from <= v.size()) {
    auto comma = v.find(',', from);
    if (comma == std::string::npos) comma = v.size();
    if (comma > from) out.push_back(v.substr(from, comma - from));
    from = comma + 1;
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  bool duration_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto eq = a.find('=');
    if (a.rfind("--", 0) != 0 || eq == std::string::npos) usage(argv[0]);
    std::string k = a.substr(2, eq - 2), v = a.substr(eq + 1);
    auto num = [&] {
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || d < 0) usage(argv[0]);
      return d;
    };
    if (k == "target") {
      for (const auto& t : split_commas(v)) {
        auto c = t.rfind(':');
        if (c == std::string::npos) usage(argv[0]);
        o.targets.push_back({t.substr(0, c), static_cast<unsigned short>(std::atoi(t.c_str() + c + 1))});
      }
    } else if (k == "path") {
      o.path = v;
    } else if (k == "mode") {
      if (v != "open" && v != "batch") usage(argv[0]);
      o.batch_mode = v == "batch";
    } else if (k == "rate") {
      o.rate = num();
    } else if (k == "duration") {
      o.duration = num();
      duration_given = true;
    } else if (k == "total") {
      o.total = static_cast<std::uint64_t>(num());
    } else if (k == "batch") {
      o.batch = static_cast<std::uint64_t>(num());
    } else if (k == "channel") {
      o.channels = split_commas(v);
      if (o.channels.empty()) usage(argv[0]);
    } else if (k == "connections") {
      o.connections = static_cast<int>(num());
    } else if (k == "size") {
      o.size = static_cast<std::size_t>(num());
    } else if (k == "max-seconds") {
      o.max_seconds = static_cast<int>(num());
    } else {
      usage(argv[0]);
    }
  }
  // Loopback only: this tool must never send traffic anywhere else.
  if (o.targets.empty()) usage(argv[0]);
  for (const auto& t : o.targets) {
    if (t.host.rfind("127.", 0) != 0 || t.port == 0) {
      std::fprintf(stderr, "--target must be 127.x.x.x:PORT[,...]\n");
      std::exit(2);
    }
  }
  if (o.connections < 1 || o.rate <= 0 || o.batch < 1 || o.total < 1) usage(argv[0]);
  if (!duration_given && !o.batch_mode) o.duration = 10;
  if (!o.batch_mode && o.max_seconds < o.duration + 5) o.max_seconds = static_cast<int>(o.duration) + 5;
  return o;
}

struct State {
  Options o;
  asio::io_context ioc{1};
  std::vector<tcp::endpoint> eps;  // one per target
  std::string pad;
  Clock::time_point t0;
  std::int64_t t0_real = 0;
  std::uint64_t total = 0;  // messages (open) or batches (batch)
  std::uint64_t next_batch = 0;
  std::uint64_t sent = 0, ok = 0, non2xx = 0, errors = 0, late = 0;
  int running = 0;
  Clock::time_point end;
  bench::Histogram lat;
  bool stopped = false;
};

void append_data(std::string& b, const State& st, std::uint64_t n, std::int64_t t_ns) {
  b += "{\"n\":";
  b += std::to_string(n);
  b += ",\"s\":\"";
  b += st.pad;
  b += "\",\"bench_t\":";
  b += std::to_string(t_ns);
  b += '}';
}

asio::awaitable<bool> connect(const tcp::endpoint& ep, tcp::socket& s) {
  boost::system::error_code ignored;
  s.close(ignored);
  auto [ec] = co_await s.async_connect(ep, kUseTuple);
  if (ec) co_return false;
  s.set_option(tcp::no_delay(true));
  co_return true;
}

// One request on the connection; false when the connection failed (reconnect).
asio::awaitable<bool> exchange(State& st, tcp::socket& s, beast::flat_buffer& buf, std::string body) {
  http::request<http::string_body> req{http::verb::post, st.o.path, 11};
  req.set(http::field::host, st.o.targets.front().host);
  req.set(http::field::content_type, "application/json");
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();
  ++st.sent;
  auto [wec, wn] = co_await http::async_write(s, req, kUseTuple);
  if (wec) {
    ++st.errors;
    co_return false;
  }
  http::response<http::string_body> res;
  auto [rec, rn] = co_await http::async_read(s, buf, res, kUseTuple);
  if (rec) {
    ++st.errors;
    co_return false;
  }
  if (res.result_int() / 100 == 2) {
    ++st.ok;
  } else {
    if (st.non2xx++ < 3) std::fprintf(stderr, "status %u: %.200s\n", res.result_int(), res.body().c_str());
  }
  co_return res.keep_alive();
}

asio::awaitable<void> run_open(State& st, int c) {
  tcp::socket s(st.ioc);
  beast::flat_buffer buf;
  asio::steady_timer timer(st.ioc);
  const tcp::endpoint& ep = st.eps[static_cast<std::size_t>(c) % st.eps.size()];
  bool connected = co_await connect(ep, s);
  const double period_ns = 1e9 / st.o.rate;
  for (std::uint64_t i = static_cast<std::uint64_t>(c); i < st.total && !st.stopped;
       i += static_cast<std::uint64_t>(st.o.connections)) {
    auto offset = std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(i) * period_ns));
    auto intended = st.t0 + offset;
    auto now = Clock::now();
    if (now < intended) {
      timer.expires_at(intended);
      co_await timer.async_wait(kUseTuple);
    } else if (now - intended > std::chrono::milliseconds(1)) {
      ++st.late;
    }
    if (st.stopped) break;
    if (!connected) connected = co_await connect(ep, s);
    if (!connected) {
      ++st.errors;
      continue;
    }
    std::string body = "{\"data\":";
    append_data(body, st, i, st.t0_real + offset.count());
    body += '}';
    connected = co_await exchange(st, s, buf, std::move(body));
    st.lat.record(static_cast<std::uint64_t>(std::chrono::nanoseconds(Clock::now() - intended).count()));
  }
  if (--st.running == 0) {
    st.end = Clock::now();
    st.ioc.stop();
  }
}

asio::awaitable<void> run_batch(State& st, int c) {
  tcp::socket s(st.ioc);
  beast::flat_buffer buf;
  const tcp::endpoint& ep = st.eps[static_cast<std::size_t>(c) % st.eps.size()];
  bool connected = co_await connect(ep, s);
  while (!st.stopped && st.next_batch < st.total) {
    std::uint64_t b = st.next_batch++;
    if (!connected) connected = co_await connect(ep, s);
    if (!connected) {
      ++st.errors;
      continue;
    }
    auto start = Clock::now();
    std::int64_t t_ns = realtime_ns();
    std::string body = "{\"messages\":[";
    std::uint64_t first = b * st.o.batch;
    std::uint64_t last = std::min(first + st.o.batch, st.o.total);
    const std::string& channel = st.o.channels[b % st.o.channels.size()];
    for (std::uint64_t n = first; n < last; ++n) {
      if (n != first) body += ',';
      body += "{\"channel\":\"";
      body += channel;
      body += "\",\"data\":";
      append_data(body, st, n, t_ns);
      body += '}';
    }
    body += "]}";
    connected = co_await exchange(st, s, buf, std::move(body));
    st.lat.record(static_cast<std::uint64_t>(std::chrono::nanoseconds(Clock::now() - start).count()));
  }
  if (--st.running == 0) {
    st.end = Clock::now();
    st.ioc.stop();
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  auto st = std::make_unique<State>();
  st->o = parse(argc, argv);
  const Options& o = st->o;
  for (const auto& t : o.targets) st->eps.emplace_back(asio::ip::make_address(t.host), t.port);
  st->pad.assign(o.size, 'x');
  if (o.batch_mode) {
    st->total = (o.total + o.batch - 1) / o.batch;
  } else {
    st->total = static_cast<std::uint64_t>(o.rate * o.duration);
  }
  int conns = o.connections;
  if (o.batch_mode && static_cast<std::uint64_t>(conns) > st->total) conns = static_cast<int>(st->total);
  if (!o.batch_mode && static_cast<std::uint64_t>(conns) > st->total) st->o.connections = conns = static_cast<int>(st->total);

  // Start a little in the future so every connection is up when message 0 is due.
  st->t0 = Clock::now() + std::chrono::milliseconds(50);
  st->t0_real = realtime_ns() + 50000000;
  st->running = conns;
  for (int c = 0; c < conns; ++c) {
    if (o.batch_mode) {
      asio::co_spawn(st->ioc, run_batch(*st, c), asio::detached);
    } else {
      asio::co_spawn(st->ioc, run_open(*st, c), asio::detached);
    }
  }
  asio::steady_timer limit(st->ioc, std::chrono::seconds(o.max_seconds));
  limit.async_wait([&](auto ec) {
    if (ec) return;
    std::fprintf(stderr, "max-seconds reached, stopping\n");
    st->stopped = true;
    st->end = Clock::now();
    st->ioc.stop();
  });
  auto start_steady = Clock::now();
  std::int64_t start_ns = realtime_ns();
  if (!o.batch_mode) {
    start_steady = st->t0;
    start_ns = st->t0_real;
  }
  st->ioc.run();
  auto elapsed = std::chrono::duration<double>(st->end - start_steady).count();
  std::int64_t end_ns = start_ns + static_cast<std::int64_t>(elapsed * 1e9);
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  const auto& h = st->lat;
  std::printf(
      "mode=%s\nsent=%llu\nok=%llu\nnon2xx=%llu\nerrors=%llu\nstart_ns=%lld\nend_ns=%lld\nelapsed_s=%.3f\nrate=%.1f\n"
      "late_1ms=%llu\nlat_n=%llu\nlat_p50_us=%.1f\nlat_p90_us=%.1f\nlat_p99_us=%.1f\nlat_p999_us=%.1f\nlat_max_us=%.1f\n",
      o.batch_mode ? "batch" : "open", static_cast<unsigned long long>(st->sent),
      static_cast<unsigned long long>(st->ok), static_cast<unsigned long long>(st->non2xx),
      static_cast<unsigned long long>(st->errors), static_cast<long long>(start_ns), static_cast<long long>(end_ns),
      elapsed, elapsed > 0 ? static_cast<double>(st->sent) / elapsed : 0.0, static_cast<unsigned long long>(st->late),
      static_cast<unsigned long long>(h.count()), us(h.percentile(50)), us(h.percentile(90)), us(h.percentile(99)),
      us(h.percentile(99.9)), us(h.max()));
  return st->errors == 0 && st->non2xx == 0 ? 0 : 1;
}
