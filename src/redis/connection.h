// An async Redis connection with automatic pipelining.
//
// Every exec() from any coroutine on the connection's executor is appended to one
// write buffer; whatever accumulated while the previous write was in flight leaves
// in the next single write, and replies are matched to callers in order. The
// connection reconnects with backoff by itself; while it is down, exec() fails at
// once with errc::not_connected, and commands in flight when it drops fail with
// errc::connection_lost. A command not answered within command_timeout fails the
// connection (replies are ordered, so one stuck reply stalls all behind it).
//
// Threading: all calls must be made on the executor given at construction
// (a single-threaded io_context: one Connection per shard, no locks).
#pragma once

#include "base/result.h"
#include "redis/client.h"
#include "redis/redis_url.h"
#include "redis/reply.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ms::redis {

struct ConnectionOptions {
  Endpoint endpoint;
  std::chrono::milliseconds command_timeout{2000};
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds backoff_min{50};
  std::chrono::milliseconds backoff_max{1000};
  std::string client_name;  // CLIENT SETNAME, empty for none
  // Pub/sub only (Subscriber): tried in turn after `endpoint` fails to connect or
  // drops. In cluster mode any node carries classic pub/sub for the whole cluster.
  std::vector<Endpoint> fallback_endpoints;
};

class Connection final : public Client {
 public:
  Connection(boost::asio::any_io_executor ex, ConnectionOptions options);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts connecting (and reconnecting) in the background.
  void start() override;
  // Fails everything in flight with errc::shutting_down and stops reconnecting.
  void stop() override;

  // Safe to call from any thread (readiness checks of every shard).
  bool connected() const override;
  // The last connection error, for /readyz ("" while connected).
  std::string last_error() const override;
  ConnectionStats stats() const override;
  const Endpoint& endpoint() const;

  // Called (on the executor) after each successful (re)connect, e.g. to resweep.
  void on_connect(std::function<void()> fn) override;

  boost::asio::awaitable<Result<Reply>> exec(Command cmd) override;
  // As exec(), without taking the command: it is encoded when the call starts,
  // so `cmd` only has to live until the first suspension (the cluster client
  // keeps it to resend after a redirect).
  boost::asio::awaitable<Result<Reply>> exec_ref(const Command& cmd);
  // Sends all commands back to back (one write) and waits for every reply.
  boost::asio::awaitable<std::vector<Result<Reply>>> exec_many(std::vector<Command> cmds) override;

  // Callback form: the handler runs later on the executor, never inline.
  void exec_async(Command cmd, std::function<void(Result<Reply>)> done) override;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ms::redis
