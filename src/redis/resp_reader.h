// Incremental RESP2 parser over hiredis's redisReader: feed bytes as they arrive,
// take complete replies out. A protocol error is sticky: drop the connection.
#pragma once

#include "redis/reply.h"

#include <optional>
#include <string>
#include <string_view>

struct redisReader;

namespace ms::redis {

class RespReader {
 public:
  RespReader();
  ~RespReader();
  RespReader(const RespReader&) = delete;
  RespReader& operator=(const RespReader&) = delete;

  // Returns false when the reader is in error (protocol error).
  bool feed(std::string_view bytes);
  // The next complete reply, or nullopt when more bytes are needed or on error.
  std::optional<Reply> next();
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }

 private:
  redisReader* reader_;
  bool failed_ = false;
  std::string error_;
};

}  // namespace ms::redis
