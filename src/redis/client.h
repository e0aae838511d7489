// What the service's components need from Redis: commands, pipelines and
// connection state. Two implementations: Connection (one Redis server) and
// ClusterClient (a Redis Cluster: routes each command by its key's slot and
// follows redirects). Components hold a Client& and do not know which.
//
// Threading: all calls on the executor the client was built with, except
// connected() and last_error(), which any thread may call (readiness checks).
#pragma once

#include "base/result.h"
#include "redis/reply.h"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ms::redis {

struct ConnectionStats {
  std::uint64_t commands = 0;
  std::uint64_t writes = 0;  // commands / writes = average pipeline depth
  std::uint64_t reconnects = 0;
};

class Client {
 public:
  virtual ~Client() = default;

  // Starts connecting (and reconnecting) in the background.
  virtual void start() = 0;
  // Fails everything in flight with errc::shutting_down and stops reconnecting.
  virtual void stop() = 0;

  // True when every command can be served now (cluster: every node owning slots).
  virtual bool connected() const = 0;
  // The last connection error, for /readyz ("" while connected).
  virtual std::string last_error() const = 0;
  virtual ConnectionStats stats() const = 0;

  // Called (on the executor) after each successful (re)connect of a connection,
  // e.g. to resweep what may have been missed.
  virtual void on_connect(std::function<void()> fn) = 0;

  virtual boost::asio::awaitable<Result<Reply>> exec(Command cmd) = 0;
  // Sends all commands pipelined (one write per connection) and waits for every
  // reply; results in command order.
  virtual boost::asio::awaitable<std::vector<Result<Reply>>> exec_many(std::vector<Command> cmds) = 0;
  // Callback form: the handler runs later on the executor, never inline.
  virtual void exec_async(Command cmd, std::function<void(Result<Reply>)> done) = 0;
};

}  // namespace ms::redis
