// A Redis reply (RESP2), converted from hiredis's reply tree into a value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ms::redis {

struct Reply {
  enum class Type { nil, status, error, integer, string, array };
  Type type = Type::nil;
  std::int64_t integer = 0;
  std::string str;             // status, error or bulk string
  std::vector<Reply> elements;  // array

  bool is_nil() const { return type == Type::nil; }
  bool is_error() const { return type == Type::error; }
  bool is_array() const { return type == Type::array; }
  bool is_string() const { return type == Type::string || type == Type::status; }
  bool is_integer() const { return type == Type::integer; }
  // Integer replies, or strings that hold a decimal integer.
  std::optional<std::int64_t> as_int() const;
};

using Command = std::vector<std::string>;

}  // namespace ms::redis

#include "base/result.h"

namespace ms::redis {

// What went wrong with a command: the transport error or Redis's error reply; "" when fine.
std::string error_text(const Result<Reply>& r);

// One command in RESP, as redisFormatCommandArgv makes it (binary safe).
std::string encode_command(const Command& cmd);
// Appends the encoding to out (for pipelined writes).
void append_command(std::string& out, const Command& cmd);

}  // namespace ms::redis
