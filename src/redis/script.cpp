#include "redis/script.h"

#include <openssl/sha.h>

namespace ms::redis {

Script::Script(std::string source) : source_(std::move(source)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest);
  static const char* kHex = "0123456789abcdef";
  for (unsigned char b : digest) {
    sha_.push_back(kHex[b >> 4]);
    sha_.push_back(kHex[b & 15]);
  }
}

namespace {
Command build(const char* verb, const std::string& body, const std::vector<std::string>& keys,
              const std::vector<std::string>& args) {
  Command c;
  c.reserve(3 + keys.size() + args.size());
  c.emplace_back(verb);
  c.push_back(body);
  c.push_back(std::to_string(keys.size()));
  c.insert(c.end(), keys.begin(), keys.end());
  c.insert(c.end(), args.begin(), args.end());
  return c;
}
}  // namespace

Command Script::evalsha(const std::vector<std::string>& keys, const std::vector<std::string>& args) const {
  return build("EVALSHA", sha_, keys, args);
}
Command Script::eval(const std::vector<std::string>& keys, const std::vector<std::string>& args) const {
  return build("EVAL", source_, keys, args);
}

bool is_noscript(const Result<Reply>& r) { return r && r->is_error() && r->str.rfind("NOSCRIPT", 0) == 0; }

boost::asio::awaitable<Result<Reply>> run_script(Client& conn, const Script& script, std::vector<std::string> keys,
                                                 std::vector<std::string> args) {
  // Named commands: g++ 12 may destroy non-trivial temporaries of a co_await expression twice.
  auto cmd = script.evalsha(keys, args);
  auto r = co_await conn.exec(std::move(cmd));
  if (is_noscript(r)) {
    auto full = script.eval(keys, args);
    r = co_await conn.exec(std::move(full));
  }
  co_return r;
}

boost::asio::awaitable<std::vector<Result<Reply>>> run_script_many(Client& conn, const Script& script,
                                                                   std::vector<ScriptCall> calls) {
  std::vector<Command> cmds;
  cmds.reserve(calls.size());
  for (const auto& c : calls) cmds.push_back(script.evalsha(c.keys, c.args));
  auto results = co_await conn.exec_many(std::move(cmds));
  std::vector<std::size_t> retry;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (is_noscript(results[i])) retry.push_back(i);
  }
  if (!retry.empty()) {
    std::vector<Command> again;
    for (auto i : retry) again.push_back(script.eval(calls[i].keys, calls[i].args));
    auto second = co_await conn.exec_many(std::move(again));
    for (std::size_t k = 0; k < retry.size(); ++k) results[retry[k]] = std::move(second[k]);
  }
  co_return results;
}

}  // namespace ms::redis
