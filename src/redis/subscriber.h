// A Redis pub/sub connection: SUBSCRIBE / PSUBSCRIBE, messages delivered to a
// callback, every subscription renewed after a reconnect (with on_connect called
// so the owner can sweep for what it missed while disconnected).
//
// Threading: all calls on the executor given at construction.
#pragma once

#include "redis/connection.h"

#include <functional>
#include <memory>
#include <string>

namespace ms::redis {

struct PubSubMessage {
  std::string pattern;  // empty for a plain SUBSCRIBE
  std::string channel;
  std::string payload;
};

class Subscriber {
 public:
  Subscriber(boost::asio::any_io_executor ex, ConnectionOptions options);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  void on_message(std::function<void(const PubSubMessage&)> fn);
  void on_connect(std::function<void()> fn);
  void start();
  void stop();
  bool connected() const;

  void subscribe(const std::string& channel);
  void unsubscribe(const std::string& channel);
  void psubscribe(const std::string& pattern);
  void punsubscribe(const std::string& pattern);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ms::redis
