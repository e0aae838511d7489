// bench_redis_pipeline: throughput of ms::redis::Connection's auto-pipelining
// against redis-benchmark's own pipelining, on the same private redis-server.
//
// Each round:
//   1. `concurrency` coroutines share ONE Connection and issue
//      XADD bench:stream * f <value> until `total` commands are done (or the
//      time limit passes); the Connection batches whatever is ready into one write.
//   2. redis-benchmark -c 1 -P <concurrency> -n <total> -q XADD bench:stream2 * f <value>
//      (one connection, batches of <concurrency> commands).
// Streams are deleted between runs. Reports per-round numbers and the medians.
//
//   bench_redis_pipeline [--total=500000] [--concurrency=64] [--rounds=3]
//                        [--value-size=100] [--time-limit=60] [--no-redis-benchmark]
//
// Starts its own redis-server (loopback, free port, temp dir, no persistence);
// redis-server and redis-benchmark are looked up on $PATH.
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "observe/log.h"
#include "redis/connection.h"

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Options {
  std::uint64_t total = 500000;
  int concurrency = 64;
  int rounds = 3;
  std::size_t value_size = 100;
  std::chrono::seconds time_limit{60};
  bool run_redis_benchmark = true;
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--total=N] [--concurrency=N] [--rounds=N] [--value-size=BYTES] [--time-limit=SECONDS] "
               "[--no-redis-benchmark]\n",
               argv0);
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> std::optional<long long> {
      std::string prefix = std::string(name) + "=";
      if (a.rfind(prefix, 0) != 0) return std::nullopt;
      char* end = nullptr;
      long long v = std::strtoll(a.c_str() + prefix.size(), &end, 10);
      if (*end != '\0' || v <= 0) usage(argv[0]);
      return v;
    };
    if (auto v = value("--total")) {
      o.total = static_cast<std::uint64_t>(*v);
    } else if (auto v = value("--concurrency")) {
      o.concurrency = static_cast<int>(*v);
    } else if (auto v = value("--rounds")) {
      o.rounds = static_cast<int>(*v);
    } else if (auto v = value("--value-size")) {
      o.value_size = static_cast<std::size_t>(*v);
    } else if (auto v = value("--time-limit")) {
      o.time_limit = std::chrono::seconds(*v);
    } else if (a == "--no-redis-benchmark") {
      o.run_redis_benchmark = false;
    } else {
      usage(argv[0]);
    }
  }
  return o;
}

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

std::uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind to a free port failed");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// fork + execv; the child's stdout goes to stdout_fd (or /dev/null if -1).
pid_t spawn(const std::vector<std::string>& argv, int stdout_fd, bool die_with_parent) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (die_with_parent) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(stdout_fd >= 0 ? stdout_fd : devnull, STDOUT_FILENO);
    ::dup2(devnull, STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// A sync hiredis context for setup and checks (not what is measured).
class SyncClient {
 public:
  SyncClient(std::uint16_t port) {
    timeval tv{2, 0};
    ctx_ = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (ctx_ == nullptr || ctx_->err) {
      std::string why = ctx_ ? ctx_->errstr : "out of memory";
      if (ctx_) redisFree(ctx_);
      ctx_ = nullptr;
      throw std::runtime_error("connect: " + why);
    }
    redisSetTimeout(ctx_, timeval{30, 0});
  }
  ~SyncClient() {
    if (ctx_) redisFree(ctx_);
  }
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  // The reply as text: status/bulk/error string, or the integer in decimal.
  std::string command(const std::vector<std::string>& argv) {
    std::vector<const char*> ptrs;
    std::vector<std::size_t> lens;
    for (const auto& a : argv) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(ctx_, static_cast<int>(argv.size()), ptrs.data(), lens.data()));
    if (r == nullptr) throw std::runtime_error("redis " + argv[0] + ": " + ctx_->errstr);
    std::string out = r->type == REDIS_REPLY_INTEGER ? std::to_string(r->integer)
                      : r->str != nullptr            ? std::string(r->str, r->len)
                                                     : std::string();
    freeReplyObject(r);
    return out;
  }

 private:
  redisContext* ctx_ = nullptr;
};

// A private redis-server: loopback, free port, temp dir, no persistence.
class RedisProcess {
 public:
  RedisProcess() {
    std::string binary = find_on_path("redis-server");
    if (binary.empty()) throw std::runtime_error("redis-server not found on PATH");
    std::string tmpl = (std::filesystem::temp_directory_path() / "ms-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_loopback_port();
      pid_ = spawn({binary, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--dir", dir_, "--save", "",
                    "--appendonly", "no", "--daemonize", "no", "--logfile", dir_ + "/redis.log"},
                   -1, true);
      if (wait_ready()) return;
      stop();
    }
    throw std::runtime_error("redis-server did not start (see " + dir_ + "/redis.log)");
  }
  ~RedisProcess() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  bool wait_ready() {
    auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;  // exited, e.g. port taken
      }
      try {
        SyncClient c(port_);
        if (c.command({"PING"}) == "PONG") return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

struct ClientRun {
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  double seconds = 0;
  double depth = 0;  // commands per write
  double ops_per_sec() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
};

// `concurrency` coroutines on one Connection, each looping on XADD.
ClientRun run_client(std::uint16_t port, const Options& o, const std::string& value) {
  asio::io_context ioc(1);
  ms::redis::ConnectionOptions co;
  co.endpoint.host = "127.0.0.1";
  co.endpoint.port = port;
  co.command_timeout = 10s;
  ms::redis::Connection conn(ioc.get_executor(), co);
  conn.start();
  auto connect_deadline = Clock::now() + 5s;
  while (!conn.connected() && Clock::now() < connect_deadline) ioc.run_one_for(10ms);
  if (!conn.connected()) throw std::runtime_error("Connection did not connect: " + conn.last_error());

  const ms::redis::Command xadd{"XADD", "bench:stream", "*", "f", value};
  const auto stats_before = conn.stats();
  std::uint64_t issued = 0;
  int running = o.concurrency;
  ClientRun result;
  const auto start = Clock::now();
  const auto deadline = start + o.time_limit;
  Clock::time_point end;
  for (int i = 0; i < o.concurrency; ++i) {
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          while (issued < o.total) {
            // Checking the clock every 64 commands keeps it off the measured path.
            if (issued % 64 == 0 && Clock::now() >= deadline) break;
            ++issued;
            ms::redis::Command c = xadd;  // a caller builds its command each time
            auto r = co_await conn.exec(std::move(c));
            if (r && r->is_string()) {
              ++result.ok;
            } else {
              ++result.failed;
            }
          }
          if (--running == 0) {
            end = Clock::now();
            conn.stop();
          }
        },
        asio::detached);
  }
  ioc.run_for(o.time_limit + 10s);
  if (running != 0) end = Clock::now();
  result.seconds = std::chrono::duration<double>(end - start).count();
  const auto& s = conn.stats();
  auto writes = s.writes - stats_before.writes;
  result.depth = writes ? static_cast<double>(s.commands - stats_before.commands) / static_cast<double>(writes) : 0;
  return result;
}

// Runs redis-benchmark and parses "...: 653803.94 requests per second, ..." (-q output).
std::optional<double> run_redis_benchmark(const std::string& binary, std::uint16_t port, const Options& o,
                                          const std::string& value, std::string& raw) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> argv{binary, "-h", "127.0.0.1", "-p", std::to_string(port), "-n", std::to_string(o.total),
                                "-P", std::to_string(o.concurrency), "-c", "1", "-q",
                                "XADD", "bench:stream2", "*", "f", value};
  pid_t pid = spawn(argv, fds[1], true);
  ::close(fds[1]);
  auto deadline = Clock::now() + o.time_limit + 60s;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000))) <= 0) continue;
    auto n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  auto at = raw.rfind(" requests per second");
  if (at == std::string::npos) return std::nullopt;
  auto colon = raw.rfind(": ", at);
  if (colon == std::string::npos) return std::nullopt;
  return std::strtod(raw.c_str() + colon + 2, nullptr);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  ms::observe::init_logging("warn", "text");
  try {
    const std::string redis_benchmark = o.run_redis_benchmark ? find_on_path("redis-benchmark") : "";
    if (o.run_redis_benchmark && redis_benchmark.empty()) throw std::runtime_error("redis-benchmark not found on PATH");
    RedisProcess redis;
    SyncClient admin(redis.port());
    const std::string value(o.value_size, 'v');
    std::printf("redis-server on 127.0.0.1:%u; %llu x XADD (%zu-byte value), %d coroutines on one Connection vs "
                "redis-benchmark -c 1 -P %d; %d rounds\n",
                redis.port(), static_cast<unsigned long long>(o.total), o.value_size, o.concurrency, o.concurrency,
                o.rounds);
    std::fflush(stdout);

    std::vector<double> ours, theirs, ratios;
    for (int round = 1; round <= o.rounds; ++round) {
      admin.command({"DEL", "bench:stream", "bench:stream2"});
      ClientRun run = run_client(redis.port(), o, value);
      std::string xlen = admin.command({"XLEN", "bench:stream"});
      std::printf("round %d: ms::redis   %10.0f ops/s  (%llu ok, %llu failed, %.2f s, %.1f commands/write, XLEN %s)\n",
                  round, run.ops_per_sec(), static_cast<unsigned long long>(run.ok),
                  static_cast<unsigned long long>(run.failed), run.seconds, run.depth, xlen.c_str());
      ours.push_back(run.ops_per_sec());
      admin.command({"DEL", "bench:stream"});
      if (o.run_redis_benchmark) {
        std::string raw;
        auto rate = run_redis_benchmark(redis_benchmark, redis.port(), o, value, raw);
        if (!rate) {
          std::fprintf(stderr, "could not parse redis-benchmark output:\n%s\n", raw.c_str());
          return 1;
        }
        std::printf("round %d: redis-bench %10.0f ops/s  ratio %.2f\n", round, *rate, run.ops_per_sec() / *rate);
        theirs.push_back(*rate);
        ratios.push_back(run.ops_per_sec() / *rate);
      }
      std::fflush(stdout);
    }
    admin.command({"DEL", "bench:stream", "bench:stream2"});
    std::printf("median: ms::redis %.0f ops/s", median(ours));
    if (o.run_redis_benchmark) {
      std::printf(", redis-benchmark %.0f ops/s, ratio %.2f (median of per-round ratios %.2f)", median(theirs),
                  median(ours) / median(theirs), median(ratios));
    }
    std::printf("\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_redis_pipeline: %s\n", e.what());
    return 1;
  }
  return 0;
}
