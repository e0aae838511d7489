#include "support/redis_client.h"

#include <hiredis/hiredis.h>

#include <ostream>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace ms::test {
namespace {

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::nil;
      break;
  }
  return out;
}

void print(const RedisReply& r, std::ostream& os) {
  switch (r.type) {
    case RedisReply::Type::nil: os << "(nil)"; break;
    case RedisReply::Type::status: os << r.str; break;
    case RedisReply::Type::error: os << "(error) " << r.str; break;
    case RedisReply::Type::integer: os << "(integer) " << r.integer; break;
    case RedisReply::Type::string: os << '"' << r.str << '"'; break;
    case RedisReply::Type::array:
      os << '[';
      for (size_t i = 0; i < r.elements.size(); ++i) {
        if (i > 0) os << ", ";
        print(r.elements[i], os);
      }
      os << ']';
      break;
  }
}

}  // namespace

std::string RedisReply::debug_string() const {
  std::ostringstream os;
  print(*this, os);
  return os.str();
}

void PrintTo(const RedisReply& reply, std::ostream* os) { print(reply, *os); }

RedisClient::RedisClient(std::string host, std::uint16_t port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

RedisClient::~RedisClient() { close(); }

RedisClient::RedisClient(RedisClient&& other) noexcept
    : host_(std::move(other.host_)),
      port_(other.port_),
      timeout_(other.timeout_),
      ctx_(std::exchange(other.ctx_, nullptr)) {}

RedisClient& RedisClient::operator=(RedisClient&& other) noexcept {
  if (this != &other) {
    close();
    host_ = std::move(other.host_);
    port_ = other.port_;
    timeout_ = other.timeout_;
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

void RedisClient::close() {
  if (ctx_ != nullptr) redisFree(std::exchange(ctx_, nullptr));
}

void RedisClient::connect() {
  close();
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout_.count() % 1000) * 1000);
  redisContext* ctx = redisConnectWithTimeout(host_.c_str(), port_, tv);
  if (ctx == nullptr) throw std::runtime_error("redis connect: out of memory");
  if (ctx->err != 0) {
    std::string msg = "redis connect " + host_ + ":" + std::to_string(port_) + ": " + ctx->errstr;
    redisFree(ctx);
    throw std::runtime_error(msg);
  }
  redisSetTimeout(ctx, tv);
  ctx_ = ctx;
}

RedisReply RedisClient::command(const std::vector<std::string>& argv) {
  if (argv.empty()) throw std::invalid_argument("RedisClient::command: empty argv");
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  bool reused = ctx_ != nullptr && ctx_->err == 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (ctx_ == nullptr || ctx_->err != 0) connect();
    void* raw = redisCommandArgv(ctx_, static_cast<int>(args.size()), args.data(), lens.data());
    if (raw != nullptr) {
      auto* reply = static_cast<redisReply*>(raw);
      RedisReply out = convert(reply);
      freeReplyObject(reply);
      return out;
    }
    std::string err = ctx_->errstr;
    // Only a connection that was already open may be stale, and only a closed or
    // reset one is retried: a timeout may mean the command is still running.
    bool stale = reused && (ctx_->err == REDIS_ERR_EOF || err.find("reset") != std::string::npos ||
                            err.find("Broken pipe") != std::string::npos);
    close();
    if (!stale || attempt == 1) {
      throw std::runtime_error("redis " + argv[0] + " on " + host_ + ":" + std::to_string(port_) + ": " + err);
    }
  }
  throw std::logic_error("unreachable");
}

}  // namespace ms::test
