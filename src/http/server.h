// The HTTP/1.1 server: Boost.Beast, one coroutine per connection, keep-alive,
// request limits and timeouts. One Server per shard (io_context); shards share
// the port through SO_REUSEPORT so the kernel spreads connections over cores.
//
// Threading: every method is called on the server's executor.
#pragma once

#include "base/result.h"
#include "http/message.h"
#include "http/router.h"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ms::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = any free port (see Server::port())
  std::size_t max_body_bytes = 1048576;
  std::size_t max_header_bytes = 16384;  // request line + headers → 431 (a request line alone over it → 414)
  std::size_t max_header_count = 100;    // header fields → 431
  std::size_t max_url_bytes = 8192;      // request-target → 414
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  std::uint32_t max_connections = 10000;  // across all shards (shared counter)
  // Builds the contract's error body for errors raised by the server itself.
  std::function<Response(int status, std::string_view message)> error_response;
};

struct ServerCounters {
  std::atomic<std::uint32_t> connections{0};  // open now, all shards
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> rejected{0};  // over max_connections
  std::atomic<std::uint64_t> requests{0};
};

class Server {
 public:
  Server(boost::asio::any_io_executor ex, ServerOptions options, const Router& router, ServerCounters& counters);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (SO_REUSEPORT); returns the bound port.
  Result<std::uint16_t> listen();
  void start();
  // Stops accepting, closes idle connections, lets busy ones finish their request
  // (answered with Connection: close). `done` runs once no connection is left.
  void shutdown(std::function<void()> done);
  // Closes every connection now (after the shutdown deadline).
  void abort();
  std::size_t open_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ms::http
