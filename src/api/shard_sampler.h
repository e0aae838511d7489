// Copies one shard's webhook pool figures into gauges once a second, so /metrics
// (served by any shard) can show every shard's pools without touching another
// shard's objects: messaging_webhook_connections{shard,state}, _waiting, _origins.
//
// Threading: runs on its shard's executor, like the WebhookClient it reads.
#pragma once

#include "http/webhook_client.h"

#include <boost/asio/any_io_executor.hpp>

#include <memory>

namespace ms::api {

class ShardSampler {
 public:
  ShardSampler(boost::asio::any_io_executor ex, const http::WebhookClient& webhooks, unsigned shard);
  ~ShardSampler();
  void start();
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ms::api
