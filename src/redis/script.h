// Server-side Lua scripts: loaded once, run by SHA; on NOSCRIPT (Redis restarted
// or flushed its script cache) the script is sent whole with EVAL, which loads it.
#pragma once

#include "redis/connection.h"

#include <string>
#include <vector>

namespace ms::redis {

class Script {
 public:
  explicit Script(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha() const { return sha_; }

  // EVALSHA sha numkeys keys... args...
  Command evalsha(const std::vector<std::string>& keys, const std::vector<std::string>& args) const;
  Command eval(const std::vector<std::string>& keys, const std::vector<std::string>& args) const;

 private:
  std::string source_;
  std::string sha_;
};

bool is_noscript(const Result<Reply>& r);

// Runs one script call with the NOSCRIPT fallback.
boost::asio::awaitable<Result<Reply>> run_script(Client& conn, const Script& script, std::vector<std::string> keys,
                                                 std::vector<std::string> args);

// Runs many calls of one script pipelined (one write); calls answered NOSCRIPT are
// re-sent with EVAL. Results are in call order.
struct ScriptCall {
  std::vector<std::string> keys;
  std::vector<std::string> args;
};
boost::asio::awaitable<std::vector<Result<Reply>>> run_script_many(Client& conn, const Script& script,
                                                                   std::vector<ScriptCall> calls);

}  // namespace ms::redis
