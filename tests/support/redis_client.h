// A tiny synchronous Redis client for test assertions (hiredis redisCommandArgv).
// Not for the code under test: the service has its own asynchronous client.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

struct redisContext;  // hiredis; kept out of this header

namespace ms::test {

// A RESP2 reply as a plain value.
struct RedisReply {
  enum class Type { nil, status, error, integer, string, array };
  Type type = Type::nil;
  std::string str;  // status, error or bulk string
  long long integer = 0;
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == Type::nil; }
  bool is_error() const { return type == Type::error; }
  bool is_integer() const { return type == Type::integer; }
  bool is_string() const { return type == Type::string || type == Type::status; }
  bool is_array() const { return type == Type::array; }
  bool is_ok() const { return type == Type::status && str == "OK"; }
  // e.g. `["a", (integer) 1, (nil), (error) ERR x]`, for failure messages.
  std::string debug_string() const;
};
void PrintTo(const RedisReply& reply, std::ostream* os);  // gtest printer

// One connection, (re)connected lazily. Not thread-safe: one owner at a time.
class RedisClient {
 public:
  RedisClient(std::string host, std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~RedisClient();
  RedisClient(RedisClient&& other) noexcept;
  RedisClient& operator=(RedisClient&& other) noexcept;
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends one command and returns its reply (Redis errors are replies of type
  // error). If an established connection turns out dead (server restarted), it
  // reconnects and resends once. Throws std::runtime_error when the server
  // cannot be reached.
  RedisReply command(const std::vector<std::string>& argv);
  void close();

 private:
  void connect();
  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
  redisContext* ctx_ = nullptr;
};

}  // namespace ms::test
