#include "support/redis_server.h"

#include <stdexcept>
#include <thread>

namespace ms::test {
namespace {

constexpr int kPortAttempts = 5;

std::string log_tail(const std::string& text, size_t max = 4000) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

}  // namespace

RedisServer::RedisServer(RedisServerOptions options)
    : options_(std::move(options)),
      binary_(find_executable("redis-server", "/usr/bin/redis-server")),
      dir_("ms-redis") {
  if (binary_.empty()) throw std::runtime_error("redis-server not found on PATH or at /usr/bin/redis-server");
}

RedisServer::~RedisServer() {
  {
    std::lock_guard lock(mu_);
    client_.reset();
  }
  child_.kill9();
}

std::string RedisServer::url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

std::string RedisServer::log_text() const { return read_file(dir_.file("redis.log")); }

bool RedisServer::running() { return child_.running(); }

void RedisServer::launch() {
  std::vector<std::string> argv{binary_,
                                "--port", std::to_string(port_),
                                "--bind", "127.0.0.1",
                                "--dir", dir_.path(),
                                "--daemonize", "no",
                                "--logfile", "",
                                "--save", "",
                                "--appendonly", options_.appendonly ? "yes" : "no",
                                "--appendfsync", options_.appendfsync_always ? "always" : "everysec",
                                "--enable-debug-command", "local"};
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  SpawnOptions spawn;
  spawn.stdout_path = dir_.file("redis.log");
  spawn.stderr_path = spawn.stdout_path;
  spawn.working_dir = dir_.path();
  child_ = ChildProcess::spawn(argv, spawn);
}

std::string RedisServer::wait_ready(bool& clash) {
  clash = false;
  auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  std::string last_error = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    if (!child_.running()) {
      std::string log = log_text();
      clash = log.find("Address already in use") != std::string::npos;
      return "redis-server exited with status " + std::to_string(child_.exit_status().value_or(-1));
    }
    try {
      RedisClient probe("127.0.0.1", port_, std::chrono::milliseconds(500));
      RedisReply pong = probe.command({"PING"});
      if (pong.is_string() && pong.str == "PONG") {
        // Make sure the server answering is ours and not someone else's on a reused port.
        RedisReply info = probe.command({"INFO", "server"});
        std::string pid_line = "process_id:" + std::to_string(child_.pid()) + "\r\n";
        if (info.str.find(pid_line) != std::string::npos) return {};
        clash = true;
        return "another redis-server answers on port " + std::to_string(port_);
      }
      last_error = "PING answered " + pong.debug_string();  // e.g. LOADING
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "no PONG within " + std::to_string(options_.start_timeout.count()) + " ms (" + last_error + ")";
}

void RedisServer::start() {
  if (child_.running()) return;
  const bool fixed_port = port_ != 0;
  std::string why;
  for (int attempt = 0; attempt < (fixed_port ? 1 : kPortAttempts); ++attempt) {
    if (!fixed_port) port_ = free_port();
    launch();
    bool clash = false;
    why = wait_ready(clash);
    if (why.empty()) return;
    child_.kill9();
    if (!clash) break;
  }
  throw std::runtime_error("RedisServer::start on port " + std::to_string(port_) + " failed: " + why +
                           "\n--- redis log ---\n" + log_tail(log_text()));
}

void RedisServer::stop() {
  child_.terminate(std::chrono::seconds(10));
  std::lock_guard lock(mu_);
  client_.reset();
}

void RedisServer::kill9() {
  child_.kill9();
  std::lock_guard lock(mu_);
  client_.reset();
}

void RedisServer::restart() {
  if (child_.running()) stop();
  start();
}

RedisReply RedisServer::command(const std::vector<std::string>& argv) {
  std::lock_guard lock(mu_);
  if (!client_) client_.emplace("127.0.0.1", port_);
  return client_->command(argv);
}

void RedisServer::flushall() {
  RedisReply r = command({"FLUSHALL"});
  if (!r.is_ok()) throw std::runtime_error("FLUSHALL answered " + r.debug_string());
}

RedisClient RedisServer::client() const { return RedisClient("127.0.0.1", port_); }

}  // namespace ms::test
