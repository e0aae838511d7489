#include "redis/resp_reader.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdlib>
#include <vector>

namespace ms::redis {
namespace {

Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = Reply::Type::nil;
      break;
  }
  return out;
}

}  // namespace

// hiredis's own reply constructors, with the array one bounded.
struct RespReaderAccess {
  static void* (*create_array)(const redisReadTask*, int);

  static void* bounded_create_array(const redisReadTask* task, int elements) {
    if (elements > kMaxArrayElements) {
      static_cast<RespReader*>(task->privdata)->refused_elements_ = elements;
      return nullptr;  // hiredis fails the reader (as out of memory); fail() says why
    }
    return create_array(task, elements);
  }

  static redisReplyObjectFunctions* functions() {
    static redisReplyObjectFunctions fns = [] {
      redisReader* probe = redisReaderCreate();  // the default table is static in hiredis.c
      redisReplyObjectFunctions f = *probe->fn;
      redisReaderFree(probe);
      create_array = f.createArray;
      f.createArray = bounded_create_array;
      return f;
    }();
    return &fns;
  }
};

void* (*RespReaderAccess::create_array)(const redisReadTask*, int) = nullptr;

RespReader::RespReader() : reader_(redisReaderCreateWithFunctions(RespReaderAccess::functions())) {
  reader_->privdata = this;  // handed to every read task, so the bound can name its reader
}

void RespReader::fail() {
  failed_ = true;
  if (refused_elements_ >= 0) {
    error_ = "Protocol error, array of " + std::to_string(refused_elements_) + " elements (limit " +
             std::to_string(kMaxArrayElements) + ")";
  } else {
    error_ = reader_->errstr;
  }
}

RespReader::~RespReader() { redisReaderFree(reader_); }

bool RespReader::feed(std::string_view bytes) {
  if (failed_) return false;
  if (redisReaderFeed(reader_, bytes.data(), bytes.size()) != REDIS_OK) fail();
  return !failed_;
}

std::optional<Reply> RespReader::next() {
  if (failed_) return std::nullopt;
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
    fail();
    return std::nullopt;
  }
  if (raw == nullptr) return std::nullopt;
  auto* r = static_cast<redisReply*>(raw);
  Reply out = convert(r);
  freeReplyObject(r);
  return out;
}

std::optional<std::int64_t> Reply::as_int() const {
  if (type == Type::integer) return integer;
  if (!is_string() || str.empty() || str[0] == '+') return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(str.data(), str.data() + str.size(), v);
  if (ec != std::errc() || end != str.data() + str.size()) return std::nullopt;
  return v;
}

std::string error_text(const Result<Reply>& r) {
  if (!r) return r.error().message();
  if (r->is_error()) return r->str;
  return {};
}

std::string encode_command(const Command& cmd) {
  std::string out;
  append_command(out, cmd);
  return out;
}

void append_command(std::string& out, const Command& cmd) {
  // hiredis's formatter: binary safe, one malloc'd buffer per command.
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(cmd.size());
  lens.reserve(cmd.size());
  for (const auto& arg : cmd) {
    argv.push_back(arg.data());
    lens.push_back(arg.size());
  }
  char* buf = nullptr;
  long long n = redisFormatCommandArgv(&buf, static_cast<int>(argv.size()), argv.data(), lens.data());
  if (n > 0) out.append(buf, static_cast<size_t>(n));
  redisFreeCommand(buf);
}

}  // namespace ms::redis
