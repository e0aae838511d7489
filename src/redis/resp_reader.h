// Incremental RESP2 parser over hiredis's redisReader: feed bytes as they arrive,
// take complete replies out. A protocol error is sticky: drop the connection.
//
// hiredis allocates an array's element table as soon as it reads "*<count>\r\n",
// so a 13-byte "*2147483647\r\n" would ask for 16 GiB; an array header above
// kMaxArrayElements is therefore a protocol error (found by fuzz_redis_reply).
#pragma once

#include "redis/reply.h"

#include <optional>
#include <string>
#include <string_view>

struct redisReader;

namespace ms::redis {

// ZRANGE of every channel is the largest reply the service asks for; 16 Mi
// elements is far beyond it and bounds one element table to 128 MiB.
inline constexpr int kMaxArrayElements = 1 << 24;

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
  friend struct RespReaderAccess;
  void fail();

  redisReader* reader_;
  bool failed_ = false;
  long long refused_elements_ = -1;  // an array header over kMaxArrayElements, when seen
  std::string error_;
};

}  // namespace ms::redis
