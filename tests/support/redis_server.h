// A private redis-server for one test: its own loopback port and temp directory.
//
//   RedisServer redis;            // nothing runs yet
//   redis.start();                // free port, fresh dir, waits for PING (5 s)
//   redis.command({"SET", "k", "v"});
//   redis.restart();              // same port and dir: AOF data survives
//
// Owned by the test thread. The destructor SIGKILLs the server and removes the dir.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/redis_client.h"

namespace ms::test {

struct RedisServerOptions {
  bool appendonly = true;            // --appendonly yes|no
  bool appendfsync_always = false;   // --appendfsync always (crash tests) instead of everysec
  std::vector<std::string> extra_args;  // more redis-server flags, e.g. {"--maxmemory", "20mb"}
  std::chrono::milliseconds start_timeout = std::chrono::seconds(5);
};

class RedisServer {
 public:
  using Reply = RedisReply;

  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // First start: picks a free port (retrying on a clash). Later starts reuse it.
  // Waits until PING answers; throws std::runtime_error (with the log) if not.
  void start();
  void stop();     // SIGTERM and wait (SIGKILL after 10 s)
  void kill9();    // SIGKILL and reap: no shutdown, no final fsync
  void restart();  // stop() if running, then start() on the same port and dir
  bool running();

  std::uint16_t port() const { return port_; }
  std::string url() const;  // redis://127.0.0.1:<port>/0
  const std::string& dir() const { return dir_.path(); }
  pid_t pid() const { return child_.pid(); }
  std::string log_text() const;  // redis-server's stdout/stderr, all runs

  // Synchronous command on a shared connection (thread-safe), reconnecting
  // after a restart. Throws std::runtime_error if the server is unreachable.
  Reply command(const std::vector<std::string>& argv);
  void flushall();  // FLUSHALL; throws if it does not answer OK
  // A separate connection, e.g. for blocking commands or CLIENT KILL tests.
  RedisClient client() const;

 private:
  void launch();
  // Empty on success, else why it failed; sets `clash` when the port was taken.
  std::string wait_ready(bool& clash);

  RedisServerOptions options_;
  std::string binary_;
  TempDir dir_;
  std::uint16_t port_ = 0;
  ChildProcess child_;
  std::mutex mu_;
  std::optional<RedisClient> client_;
};

}  // namespace ms::test
