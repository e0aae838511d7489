// redis://[[user]:password@]host[:port][/db]  (rediss:// for TLS)
#pragma once

#include "base/result.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace ms::redis {

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;
  std::string password;
  int db = 0;
  bool tls = false;
};

Result<Endpoint> parse_redis_url(std::string_view url);

}  // namespace ms::redis
