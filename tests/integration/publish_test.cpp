// Issue "Publishing": POST /v1/channels/{channel}/messages, POST /v1/messages/batch,
// GET /v1/channels/{channel}/messages, GET /v1/channels[/{channel}] against the real
// binary and a real redis-server — every status code of API.md "Messages" and
// "Channels", and what lands in Redis (docs/redis-keys.md: ms:{<channel>}:log stream
// with fields e and z, ms:{<channel>}:meta, ms:{<channel>}:idem:<key>, ms:channels,
// pub/sub mirror ms:<channel>).
#include <gtest/gtest.h>

#include <hiredis/hiredis.h>
#include <signal.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "support/http_client.h"
#include "support/redis_server.h"
#include "support/service_process.h"

namespace ms::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

const std::regex kUlid("^[0-7][0-9A-HJKMNP-TV-Z]{25}$");
const std::regex kPosition("^[0-9]+-[0-9]+$");
const std::regex kRfc3339Ms("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$");

std::string msgs_path(const std::string& channel) { return "/v1/channels/" + channel + "/messages"; }
std::string log_key(const std::string& channel, const std::string& prefix = "ms:") {
  return prefix + "{" + channel + "}:log";
}
std::string meta_key(const std::string& channel, const std::string& prefix = "ms:") {
  return prefix + "{" + channel + "}:meta";
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(25ms);
  }
}

// A redis-server and the service on it, both private to the test.
struct Stack {
  RedisServer redis;
  std::optional<ServiceProcess> svc;
  std::optional<HttpClient> api;

  explicit Stack(std::vector<std::string> args = {}, RedisServerOptions redis_options = {})
      : redis(std::move(redis_options)) {
    redis.start();
    if (std::find(args.begin(), args.end(), "--threads") == args.end()) {
      args.insert(args.end(), {"--threads", "2"});
    }
    ServiceOptions options;
    options.args = std::move(args);
    options.wait_ready = true;
    svc.emplace(redis.url(), std::move(options));
    svc->start();
    // /readyz answers for the shard that took the probe only (see
    // ServiceHealth.ReadyzCoversEveryShard): wait until fresh connections (spread over the
    // shards by SO_REUSEPORT) all reach Redis, so that tests about publishing do not trip
    // over a shard whose Redis connection is still being set up.
    EXPECT_TRUE(eventually([&] { return every_shard_reaches_redis(); }, 5s));
    api.emplace(svc->client());
  }
  bool every_shard_reaches_redis() {
    for (int i = 0; i < 16; ++i) {
      HttpClient probe = svc->client();
      if (probe.get("/v1/channels?limit=1").status != 200) return false;
    }
    return true;
  }
  long long xlen(const std::string& channel) { return redis.command({"XLEN", log_key(channel)}).integer; }
  // Keys stored, leaving out the instances' heartbeats (ms:instances), which every
  // running service writes each second whatever it is asked.
  long long dbsize() {
    return redis.command({"DBSIZE"}).integer - redis.command({"EXISTS", "ms:instances"}).integer;
  }
};

// The contract's error shape with `code`; an empty code accepts any.
void expect_error(const HttpResponse& r, int status, const std::string& code) {
  SCOPED_TRACE("answer " + std::to_string(r.status) + " " + r.body);
  EXPECT_EQ(r.status, status);
  EXPECT_NE(r.header("content-type").find("application/json"), std::string::npos);
  json::value v;
  ASSERT_NO_THROW(v = r.json());
  ASSERT_TRUE(v.is_object());
  const auto* err = v.as_object().if_contains("error");
  ASSERT_TRUE(err && err->is_object());
  const auto* c = err->as_object().if_contains("code");
  ASSERT_TRUE(c && c->is_string());
  if (!code.empty()) {
    EXPECT_EQ(c->as_string(), code);
  }
  const auto* m = err->as_object().if_contains("message");
  ASSERT_TRUE(m && m->is_string());
  EXPECT_FALSE(m->as_string().empty());
}

// {"id","channel","position","published_at"} of a successful publish.
void expect_publish_result(const json::value& v, const std::string& channel) {
  SCOPED_TRACE(json::serialize(v));
  ASSERT_TRUE(v.is_object());
  const auto& o = v.as_object();
  ASSERT_TRUE(o.contains("id") && o.at("id").is_string());
  ASSERT_TRUE(o.contains("position") && o.at("position").is_string());
  ASSERT_TRUE(o.contains("published_at") && o.at("published_at").is_string());
  ASSERT_TRUE(o.contains("channel") && o.at("channel").is_string());
  EXPECT_TRUE(std::regex_match(std::string(o.at("id").as_string()), kUlid)) << o.at("id");
  EXPECT_TRUE(std::regex_match(std::string(o.at("position").as_string()), kPosition)) << o.at("position");
  EXPECT_TRUE(std::regex_match(std::string(o.at("published_at").as_string()), kRfc3339Ms)) << o.at("published_at");
  EXPECT_EQ(o.at("channel").as_string(), channel);
}

std::string str(const json::value& v, const char* field) { return std::string(v.at(field).as_string()); }

// Position "ms-seq" as a comparable pair.
std::pair<unsigned long long, unsigned long long> pos(const std::string& p) {
  auto dash = p.find('-');
  return {std::stoull(p.substr(0, dash)), std::stoull(p.substr(dash + 1))};
}

std::string gzip(const std::string& in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2");
  }
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  return out;
}

std::string gunzip(const std::string& in) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw std::runtime_error("inflateInit2");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw std::runtime_error("inflate failed");
    }
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  return out;
}

// Field `name` of a stream entry's field list; nullopt if absent.
std::optional<std::string> entry_field(const RedisReply& fields, const std::string& name) {
  for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    if (fields.elements[i].str == name) return fields.elements[i + 1].str;
  }
  return std::nullopt;
}

// The stored envelope with `"position":"<pos>",` inserted after id and channel, the
// way the envelope is returned and delivered (API.md: position follows channel).
std::string splice_position(const std::string& stored, const std::string& id, const std::string& channel,
                            const std::string& position) {
  const std::string head = R"({"id":")" + id + R"(","channel":")" + channel + R"(",)";
  if (stored.rfind(head, 0) != 0) return "<stored envelope does not start with id and channel: " + stored + ">";
  return head + R"("position":")" + position + R"(",)" + stored.substr(head.size());
}

// ---- publish one ------------------------------------------------------------------------------

TEST(PublishOne, CreatedWithIdPositionAndTimeAndStoredInRedis) {
  Stack s;
  const std::string ch = "orders.created";
  const std::string body =
      R"({"data":{"order_id":42,"total":99.5},"key":"order-42","attributes":{"type":"order","tenant":"acme"}})";
  auto before = std::chrono::system_clock::now();
  auto r = s.api->post(msgs_path(ch), body);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_NE(r.header("content-type").find("application/json"), std::string::npos);
  auto v = r.json();
  expect_publish_result(v, ch);
  EXPECT_EQ(v.as_object().size(), 4u) << r.body;  // exactly id, channel, position, published_at

  auto range = s.redis.command({"XRANGE", log_key(ch), "-", "+"});
  ASSERT_EQ(range.elements.size(), 1u) << range.debug_string();
  EXPECT_EQ(range.elements[0].elements[0].str, str(v, "position"));
  auto e = entry_field(range.elements[0].elements[1], "e");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(entry_field(range.elements[0].elements[1], "z").value_or("?"), "0");
  auto stored = json::parse(*e);
  EXPECT_EQ(stored.at("id"), v.at("id"));
  EXPECT_EQ(stored.at("channel"), v.at("channel"));
  EXPECT_EQ(stored.at("published_at"), v.at("published_at"));
  EXPECT_EQ(stored.at("data"), json::parse(R"({"order_id":42,"total":99.5})"));
  EXPECT_EQ(stored.at("key").as_string(), "order-42");
  EXPECT_EQ(stored.at("attributes"), json::parse(R"({"type":"order","tenant":"acme"})"));

  EXPECT_EQ(s.redis.command({"HGET", meta_key(ch), "published_total"}).str, "1");
  EXPECT_EQ(s.redis.command({"ZSCORE", "ms:channels", ch}).is_nil(), false);

  // published_at is close to now (the stream id's time part too).
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(before.time_since_epoch()).count();
  auto stream_ms = static_cast<long long>(pos(str(v, "position")).first);
  EXPECT_LT(std::llabs(stream_ms - now_ms), 5000);

  // Consecutive publishes: ids and positions increase.
  std::string last_id = str(v, "id");
  auto last_pos = pos(str(v, "position"));
  for (int i = 0; i < 5; ++i) {
    auto n = s.api->post(msgs_path(ch), R"({"data":)" + std::to_string(i) + "}");
    ASSERT_EQ(n.status, 201) << n.body;
    auto nv = n.json();
    EXPECT_GT(str(nv, "id"), last_id);
    EXPECT_GT(pos(str(nv, "position")), last_pos);
    last_id = str(nv, "id");
    last_pos = pos(str(nv, "position"));
  }
  EXPECT_EQ(s.xlen(ch), 6);
  EXPECT_EQ(s.redis.command({"HGET", meta_key(ch), "published_total"}).str, "6");
}

TEST(PublishOne, AnyJsonValueIsData) {
  Stack s;
  for (const char* data : {"null", "0", "\"text\"", "[1,2,3]", "{}", "true", "-1.5e10", R"({"a":{"b":[{"c":null}]}})"}) {
    SCOPED_TRACE(data);
    auto r = s.api->post(msgs_path("any.data"), std::string(R"({"data":)") + data + "}");
    EXPECT_EQ(r.status, 201) << r.body;
  }
  auto page = s.api->get(msgs_path("any.data"));
  ASSERT_EQ(page.status, 200) << page.body;
  const auto page_json = page.json();
  const auto& m = page_json.at("messages").as_array();
  ASSERT_EQ(m.size(), 8u);
  EXPECT_TRUE(m[0].at("data").is_null());
  EXPECT_EQ(m[2].at("data").as_string(), "text");
  EXPECT_EQ(m[7].at("data"), json::parse(R"({"a":{"b":[{"c":null}]}})"));
}

TEST(PublishOne, InvalidRequestsAre400AndStoreNothing) {
  Stack s;
  const std::string ch = "orders.created";
  struct Case {
    std::string what, path, body;
  };
  const std::vector<Case> cases = {
      {"malformed JSON", msgs_path(ch), R"({"data":)"},
      {"trailing garbage", msgs_path(ch), R"({"data":1} x)"},
      {"empty body", msgs_path(ch), ""},
      {"not an object", msgs_path(ch), R"([{"data":1}])"},
      {"missing data", msgs_path(ch), R"({"attributes":{"a":"b"}})"},
      {"empty segment", msgs_path("a..b"), R"({"data":1})"},
      {"leading dot", msgs_path(".a"), R"({"data":1})"},
      {"201 characters", msgs_path(std::string(201, 'c')), R"({"data":1})"},
      {"bad character", msgs_path("a%20b"), R"({"data":1})"},
      {"wildcard", msgs_path("orders.*"), R"({"data":1})"},
      {"attribute not a string", msgs_path(ch), R"({"data":1,"attributes":{"a":1}})"},
      {"attribute null", msgs_path(ch), R"({"data":1,"attributes":{"a":null}})"},
      {"attributes not an object", msgs_path(ch), R"({"data":1,"attributes":["a"]})"},
      {"key not a string", msgs_path(ch), R"({"data":1,"key":5})"},
      {"idempotency_key not a string", msgs_path(ch), R"({"data":1,"idempotency_key":{}})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    HttpHeaders h;
    if (c.body.empty()) h = {{"Content-Type", "application/json"}};
    auto r = s.api->post(c.path, c.body, h);
    expect_error(r, 400, "invalid_argument");
  }
  EXPECT_EQ(s.dbsize(), 0) << s.redis.command({"KEYS", "*"}).debug_string();

  // A channel of exactly 200 characters is fine.
  EXPECT_EQ(s.api->post(msgs_path(std::string(200, 'c')), R"({"data":1})").status, 201);
  // The connection survived every refusal.
  EXPECT_EQ(s.api->connections_opened(), 1u);
}

TEST(PublishOne, BodyOverLimitIs413) {
  Stack s({"--max-body-bytes", "2048"});
  const std::string ch = "big.body";
  const std::string small = R"({"data":")" + std::string(1500, 'x') + R"("})";
  EXPECT_EQ(s.api->post(msgs_path(ch), small).status, 201);
  const std::string big = R"({"data":")" + std::string(3000, 'x') + R"("})";
  auto r = s.api->post(msgs_path(ch), big);
  expect_error(r, 413, "payload_too_large");
  EXPECT_EQ(s.xlen(ch), 1);
  // A batch is bound by the same limit.
  auto b = s.api->post("/v1/messages/batch", R"({"messages":[{"channel":"big.body","data":")" +
                                                  std::string(3000, 'x') + R"("}]})");
  expect_error(b, 413, "payload_too_large");
  EXPECT_EQ(s.xlen(ch), 1);

  // Chunked, without a Content-Length: the limit applies while reading.
  const std::string chunk = R"({"data":")" + std::string(3000, 'y') + R"("})";
  char size_hex[16];
  std::snprintf(size_hex, sizeof size_hex, "%zx", chunk.size());
  std::string chunked = "POST /v1/channels/big.body/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n" +
                        std::string(size_hex) + "\r\n" + chunk + "\r\n0\r\n\r\n";
  std::string answer = raw_request(s.svc->port(), chunked, 3s);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  // Expect: 100-continue with a Content-Length over the limit is refused before the body is sent.
  std::string expect = "POST /v1/channels/big.body/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 100000\r\nExpect: 100-continue\r\n\r\n";
  answer = raw_request(s.svc->port(), expect, 3s);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_NE(answer.find("payload_too_large"), std::string::npos) << answer;
  EXPECT_EQ(s.xlen(ch), 1);
  EXPECT_EQ(s.api->get("/healthz").status, 200);
}

TEST(PublishOne, NonJsonContentTypeIs415) {
  Stack s;
  const std::string ch = "media.type";
  auto plain = s.api->post(msgs_path(ch), R"({"data":1})", {{"Content-Type", "text/plain"}});
  expect_error(plain, 415, "unsupported_media_type");
  auto none = s.api->post(msgs_path(ch), R"({"data":1})", {{"Content-Type", ""}});
  expect_error(none, 415, "unsupported_media_type");
  auto form = s.api->post(msgs_path(ch), "data=1", {{"Content-Type", "application/x-www-form-urlencoded"}});
  expect_error(form, 415, "unsupported_media_type");
  auto batch = s.api->post("/v1/messages/batch", R"({"messages":[{"channel":"media.type","data":1}]})",
                           {{"Content-Type", "text/plain"}});
  expect_error(batch, 415, "unsupported_media_type");
  EXPECT_EQ(s.dbsize(), 0);
  // JSON with parameters is JSON.
  EXPECT_EQ(s.api->post(msgs_path(ch), R"({"data":1})", {{"Content-Type", "application/json; charset=utf-8"}}).status,
            201);
}

// ---- gzip request bodies -------------------------------------------------------------------------

TEST(PublishGzip, GzipBodyIsAccepted) {
  Stack s;
  const std::string ch = "gz.in";
  const std::string body = R"({"data":{"text":")" + std::string(2000, 'g') + R"("},"attributes":{"enc":"gzip"}})";
  auto r = s.api->post(msgs_path(ch), gzip(body), {{"Content-Encoding", "gzip"}});
  ASSERT_EQ(r.status, 201) << r.body;
  auto page = s.api->get(msgs_path(ch));
  ASSERT_EQ(page.status, 200);
  const auto page_json = page.json();
  const auto& m = page_json.at("messages").as_array();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].at("data").at("text").as_string(), std::string(2000, 'g'));
  EXPECT_EQ(m[0].at("attributes").at("enc").as_string(), "gzip");
  // The batch route takes gzip too.
  auto b = s.api->post("/v1/messages/batch", gzip(R"({"messages":[{"channel":"gz.in","data":2}]})"),
                       {{"Content-Encoding", "gzip"}});
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(b.json().at("published").to_number<int>(), 1);
  EXPECT_EQ(s.xlen(ch), 2);
}

// Content codings are case-insensitive (RFC 9110 section 8.4.1).
// Regression test, bug fixed (was in src/api/publish_handlers.cpp, read_json_body): Content-Encoding is compared
// case-sensitively with "gzip"/"x-gzip"/"identity", so "GZIP" and "Gzip" answer 415.
TEST(PublishGzip, ContentEncodingIsCaseInsensitive) {
  Stack s;
  const std::string ch = "gz.case";
  for (const char* enc : {"GZIP", "Gzip"}) {
    SCOPED_TRACE(enc);
    auto r = s.api->post(msgs_path(ch), gzip(R"({"data":1})"), {{"Content-Encoding", enc}});
    EXPECT_EQ(r.status, 201) << r.body;
  }
  auto id = s.api->post(msgs_path(ch), R"({"data":1})", {{"Content-Encoding", "IDENTITY"}});
  EXPECT_EQ(id.status, 201) << id.body;
  // An unknown coding is refused.
  expect_error(s.api->post(msgs_path(ch), R"({"data":1})", {{"Content-Encoding", "br"}}), 415,
               "unsupported_media_type");
}

TEST(PublishGzip, GzipBombIs413AndServiceKeepsServing) {
  Stack s;
  const std::string ch = "gz.bomb";
  std::string inflated = R"({"data":")" + std::string(50 * 1024 * 1024, '0') + R"("})";
  const std::string bomb = gzip(inflated);
  inflated.clear();
  inflated.shrink_to_fit();
  ASSERT_LT(bomb.size(), 1024u * 1024u) << "the compressed bomb must pass the body limit itself";
  auto t0 = Clock::now();
  auto r = s.api->post(msgs_path(ch), bomb, {{"Content-Encoding", "gzip"}});
  expect_error(r, 413, "payload_too_large");
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count(), 3000);
  auto b = s.api->post("/v1/messages/batch", bomb, {{"Content-Encoding", "gzip"}});
  expect_error(b, 413, "payload_too_large");
  EXPECT_TRUE(s.svc->running());
  EXPECT_EQ(s.api->get("/healthz").status, 200);
  EXPECT_EQ(s.api->post(msgs_path(ch), R"({"data":1})").status, 201);
  EXPECT_EQ(s.xlen(ch), 1);
}

TEST(PublishGzip, CorruptGzipIs400) {
  Stack s;
  const std::string ch = "gz.bad";
  std::string good = gzip(R"({"data":{"a":1}})");
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x55;  // breaks the deflate data or its CRC
  std::string truncated = good.substr(0, good.size() - 6);
  std::string not_gzip = R"({"data":1})";
  for (const auto* bytes : {&flipped, &truncated, &not_gzip}) {
    auto r = s.api->post(msgs_path(ch), *bytes, {{"Content-Encoding", "gzip"}});
    expect_error(r, 400, "invalid_argument");
  }
  // gzip around invalid JSON: a JSON error, still 400.
  expect_error(s.api->post(msgs_path(ch), gzip("{nope"), {{"Content-Encoding", "gzip"}}), 400, "invalid_argument");
  EXPECT_EQ(s.dbsize(), 0);
}

// ---- idempotency -----------------------------------------------------------------------------------

TEST(PublishIdempotency, HeaderRepeatAnswers200WithFirstResult) {
  Stack s;
  const std::string ch = "idem.header";
  auto first = s.api->post(msgs_path(ch), R"({"data":{"n":1}})", {{"Idempotency-Key", "k-1"}});
  ASSERT_EQ(first.status, 201) << first.body;
  auto again = s.api->post(msgs_path(ch), R"({"data":{"n":1}})", {{"Idempotency-Key", "k-1"}});
  ASSERT_EQ(again.status, 200) << again.body;
  auto a = first.json(), b = again.json();
  EXPECT_EQ(a.at("id"), b.at("id"));
  EXPECT_EQ(a.at("position"), b.at("position"));
  EXPECT_EQ(a.at("published_at"), b.at("published_at"));
  EXPECT_EQ(a.at("channel"), b.at("channel"));
  EXPECT_EQ(s.xlen(ch), 1);
  EXPECT_EQ(s.redis.command({"HGET", meta_key(ch), "published_total"}).str, "1");
  // The idempotency record exists with a TTL (dedup window).
  auto ttl = s.redis.command({"PTTL", "ms:{" + ch + "}:idem:k-1"});
  EXPECT_GT(ttl.integer, 0) << ttl.debug_string();
  EXPECT_LE(ttl.integer, 86400000);
  // A different key is a new message.
  auto other = s.api->post(msgs_path(ch), R"({"data":{"n":1}})", {{"Idempotency-Key", "k-2"}});
  EXPECT_EQ(other.status, 201);
  EXPECT_EQ(s.xlen(ch), 2);
}

TEST(PublishIdempotency, BodyKeyRepeatAnswers200WithFirstResult) {
  Stack s;
  const std::string ch = "idem.body";
  auto first = s.api->post(msgs_path(ch), R"({"data":1,"idempotency_key":"abc"})");
  ASSERT_EQ(first.status, 201) << first.body;
  auto again = s.api->post(msgs_path(ch), R"({"data":2,"idempotency_key":"abc"})");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(first.json().at("id"), again.json().at("id"));
  EXPECT_EQ(first.json().at("position"), again.json().at("position"));
  EXPECT_EQ(first.json().at("published_at"), again.json().at("published_at"));
  // Header and body name the same key: still the same message.
  auto both = s.api->post(msgs_path(ch), R"({"data":3,"idempotency_key":"abc"})", {{"Idempotency-Key", "abc"}});
  EXPECT_EQ(both.status, 200) << both.body;
  EXPECT_EQ(s.xlen(ch), 1);
  // The stored message is the first one.
  auto page = s.api->get(msgs_path(ch)).json();
  EXPECT_EQ(page.at("messages").as_array().at(0).at("data").to_number<int>(), 1);
}

TEST(PublishIdempotency, KeyIsForgottenAfterTheWindow) {
  Stack s({"--idempotency-window-ms", "300"});
  const std::string ch = "idem.window";
  auto first = s.api->post(msgs_path(ch), R"({"data":1})", {{"Idempotency-Key", "w"}});
  ASSERT_EQ(first.status, 201);
  EXPECT_EQ(s.api->post(msgs_path(ch), R"({"data":1})", {{"Idempotency-Key", "w"}}).status, 200);
  std::this_thread::sleep_for(500ms);
  auto later = s.api->post(msgs_path(ch), R"({"data":1})", {{"Idempotency-Key", "w"}});
  ASSERT_EQ(later.status, 201) << later.body;
  EXPECT_NE(later.json().at("id"), first.json().at("id"));
  EXPECT_EQ(s.xlen(ch), 2);
}

TEST(PublishIdempotency, SameKeyOnAnotherChannelIsIndependent) {
  Stack s;
  auto a = s.api->post(msgs_path("idem.a"), R"({"data":1})", {{"Idempotency-Key", "shared"}});
  auto b = s.api->post(msgs_path("idem.b"), R"({"data":1})", {{"Idempotency-Key", "shared"}});
  ASSERT_EQ(a.status, 201) << a.body;
  ASSERT_EQ(b.status, 201) << b.body;
  EXPECT_NE(a.json().at("id"), b.json().at("id"));
  EXPECT_EQ(b.json().at("channel").as_string(), "idem.b");
  EXPECT_EQ(s.xlen("idem.a"), 1);
  EXPECT_EQ(s.xlen("idem.b"), 1);
}

TEST(PublishIdempotency, RepeatInsideBatchAnswersFirstResult) {
  Stack s;
  // A key already used by a single publish, and one repeated inside the batch.
  auto single = s.api->post(msgs_path("idem.batch"), R"({"data":0})", {{"Idempotency-Key", "before"}});
  ASSERT_EQ(single.status, 201);
  auto r = s.api->post("/v1/messages/batch", R"({"messages":[
      {"channel":"idem.batch","data":1,"idempotency_key":"k1"},
      {"channel":"idem.batch","data":2,"idempotency_key":"k2"},
      {"channel":"idem.batch","data":3,"idempotency_key":"k1"},
      {"channel":"idem.other","data":4,"idempotency_key":"k1"},
      {"channel":"idem.batch","data":5,"idempotency_key":"before"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = r.json();
  const auto& res = v.at("results").as_array();
  ASSERT_EQ(res.size(), 5u);
  for (std::size_t i = 0; i < res.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_FALSE(res[i].as_object().contains("error")) << json::serialize(res[i]);
  }
  EXPECT_EQ(res[2].at("id"), res[0].at("id"));
  EXPECT_EQ(res[2].at("position"), res[0].at("position"));
  EXPECT_EQ(res[2].at("published_at"), res[0].at("published_at"));
  EXPECT_NE(res[1].at("id"), res[0].at("id"));
  EXPECT_NE(res[3].at("id"), res[0].at("id"));  // another channel
  EXPECT_EQ(res[4].at("id"), single.json().at("id"));
  EXPECT_EQ(res[4].at("position"), single.json().at("position"));
  EXPECT_EQ(s.xlen("idem.batch"), 3);  // 0, 1, 2
  EXPECT_EQ(s.xlen("idem.other"), 1);
  EXPECT_EQ(v.at("failed").to_number<int>(), 0);
}

// ---- batch -----------------------------------------------------------------------------------------

TEST(PublishBatch, MixedItemsAnswerInOrder) {
  Stack s;
  auto r = s.api->post("/v1/messages/batch", R"({"messages":[
      {"channel":"batch.a","data":{"i":0}},
      {"channel":"a..b","data":1},
      {"channel":"batch.b","data":{"i":2},"attributes":{"x":"y"},"key":"k"},
      "not an object",
      {"channel":"batch.a"},
      {"data":5},
      {"channel":"batch.a","data":6,"attributes":{"n":6}},
      {"channel":"batch.a","data":{"i":7}}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = r.json();
  const auto& res = v.at("results").as_array();
  ASSERT_EQ(res.size(), 8u);
  const std::set<std::size_t> bad = {1, 3, 4, 5, 6};
  for (std::size_t i = 0; i < res.size(); ++i) {
    SCOPED_TRACE("results[" + std::to_string(i) + "] = " + json::serialize(res[i]));
    if (bad.contains(i)) {
      ASSERT_TRUE(res[i].as_object().contains("error"));
      const auto& e = res[i].at("error");
      EXPECT_EQ(e.at("code").as_string(), "invalid_argument");
      EXPECT_FALSE(e.at("message").as_string().empty());
      EXPECT_FALSE(res[i].as_object().contains("id"));
    } else {
      expect_publish_result(res[i], i == 2 ? "batch.b" : "batch.a");
    }
  }
  EXPECT_EQ(v.at("published").to_number<int>(), 3);
  EXPECT_EQ(v.at("failed").to_number<int>(), 5);
  EXPECT_EQ(s.xlen("batch.a"), 2);
  EXPECT_EQ(s.xlen("batch.b"), 1);
  EXPECT_GT(pos(str(res[7], "position")), pos(str(res[0], "position")));
  // Stored in order on batch.a.
  auto page = s.api->get(msgs_path("batch.a")).json();
  const auto& m = page.at("messages").as_array();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].at("id"), res[0].at("id"));
  EXPECT_EQ(m[1].at("id"), res[7].at("id"));
}

TEST(PublishBatch, AllItemsInvalidIsStill200) {
  Stack s;
  auto r = s.api->post("/v1/messages/batch", R"({"messages":[{"channel":"x"},{"data":1}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = r.json();
  EXPECT_EQ(v.at("published").to_number<int>(), 0);
  EXPECT_EQ(v.at("failed").to_number<int>(), 2);
  EXPECT_EQ(s.dbsize(), 0);
}

TEST(PublishBatch, BadEnvelopeIs400) {
  Stack s({"--max-batch-messages", "5"});
  for (const char* body : {R"([{"channel":"a","data":1}])", R"({"foo":[]})", R"({"messages":{}})",
                           R"({"messages":"x"})", R"("messages")", R"({"messages":[)", "null"}) {
    SCOPED_TRACE(body);
    expect_error(s.api->post("/v1/messages/batch", body), 400, "invalid_argument");
  }
  std::string six = R"({"messages":[)";
  for (int i = 0; i < 6; ++i) six += std::string(i ? "," : "") + R"({"channel":"limit.b","data":)" + std::to_string(i) + "}";
  six += "]}";
  expect_error(s.api->post("/v1/messages/batch", six), 400, "invalid_argument");
  EXPECT_EQ(s.dbsize(), 0);
  std::string five = R"({"messages":[)";
  for (int i = 0; i < 5; ++i) five += std::string(i ? "," : "") + R"({"channel":"limit.b","data":)" + std::to_string(i) + "}";
  five += "]}";
  auto ok = s.api->post("/v1/messages/batch", five);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json().at("published").to_number<int>(), 5);
  EXPECT_EQ(s.xlen("limit.b"), 5);
}

TEST(PublishBatch, HundredValidMessagesAreAllStored) {
  Stack s;
  std::string body = R"({"messages":[)";
  for (int i = 0; i < 100; ++i) {
    body += std::string(i ? "," : "") + R"({"channel":"bulk.)" + std::to_string(i % 4) + R"(","data":{"i":)" +
            std::to_string(i) + "}}";
  }
  body += "]}";
  auto r = s.api->post("/v1/messages/batch", body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = r.json();
  EXPECT_EQ(v.at("published").to_number<int>(), 100);
  EXPECT_EQ(v.at("failed").to_number<int>(), 0);
  const auto& res = v.at("results").as_array();
  ASSERT_EQ(res.size(), 100u);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < res.size(); ++i) {
    expect_publish_result(res[i], "bulk." + std::to_string(i % 4));
    ids.insert(str(res[i], "id"));
  }
  EXPECT_EQ(ids.size(), 100u);
  for (int c = 0; c < 4; ++c) EXPECT_EQ(s.xlen("bulk." + std::to_string(c)), 25);
  // Each channel keeps the batch's order.
  auto page = s.api->get(msgs_path("bulk.1") + "?limit=1000").json();
  const auto& m = page.at("messages").as_array();
  ASSERT_EQ(m.size(), 25u);
  for (std::size_t k = 0; k < m.size(); ++k) EXPECT_EQ(m[k].at("data").at("i").to_number<int>(), int(4 * k + 1));
}

// ---- stored form: compression, byte-exact round trip --------------------------------------------------

TEST(PublishStorage, LargeEnvelopeIsStoredGzipAndReadBackExactly) {
  Stack s({"--compress-min-bytes", "100"});
  const std::string ch = "store.big";
  std::string text;
  for (int i = 0; i < 5000; ++i) text += static_cast<char>('a' + (i * 7) % 26);
  const json::value data = {{"text", text}, {"n", 5}, {"nested", json::array{1, "two", nullptr, true}}};
  auto r = s.api->post(msgs_path(ch), json::serialize(json::object{{"data", data}, {"key", "big"}}));
  ASSERT_EQ(r.status, 201) << r.body;
  auto v = r.json();

  auto range = s.redis.command({"XRANGE", log_key(ch), "-", "+"});
  ASSERT_EQ(range.elements.size(), 1u);
  const auto& fields = range.elements[0].elements[1];
  EXPECT_EQ(entry_field(fields, "z").value_or("?"), "1");
  auto e = entry_field(fields, "e");
  ASSERT_TRUE(e.has_value());
  ASSERT_GE(e->size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>((*e)[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>((*e)[1]), 0x8b);
  EXPECT_LT(e->size(), 5000u);  // compressed for real
  std::string stored;
  ASSERT_NO_THROW(stored = gunzip(*e));
  auto sv = json::parse(stored);
  EXPECT_FALSE(sv.as_object().contains("position"));  // the entry id is the position
  EXPECT_EQ(sv.at("id"), v.at("id"));
  EXPECT_EQ(sv.at("data"), data);

  auto page = s.api->get(msgs_path(ch));
  ASSERT_EQ(page.status, 200);
  const auto page_json = page.json();
  const auto& m = page_json.at("messages").as_array();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].at("data"), data);
  EXPECT_EQ(m[0].at("position"), v.at("position"));
  // Byte for byte: the stored JSON with the position spliced in is what GET returns.
  EXPECT_EQ(page.body,
            R"({"messages":[)" + splice_position(stored, str(v, "id"), ch, str(v, "position")) + "]}");
}

TEST(PublishStorage, SmallEnvelopeIsStoredPlainAndReadBackExactly) {
  Stack s({"--compress-min-bytes", "400"});
  const std::string ch = "store.small";
  // Escapes and non-ASCII must survive unchanged.
  auto r = s.api->post(msgs_path(ch), R"({"data":{"s":"\u00e9\"\\\n"},"attributes":{"k":"v"}})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto v = r.json();
  auto range = s.redis.command({"XRANGE", log_key(ch), "-", "+"});
  ASSERT_EQ(range.elements.size(), 1u);
  const auto& fields = range.elements[0].elements[1];
  EXPECT_EQ(entry_field(fields, "z").value_or("?"), "0");
  auto e = entry_field(fields, "e");
  ASSERT_TRUE(e.has_value());
  ASSERT_FALSE(e->empty());
  EXPECT_EQ((*e)[0], '{');
  EXPECT_EQ(json::parse(*e).at("data").at("s").as_string(), "\xc3\xa9\"\\\n");
  auto page = s.api->get(msgs_path(ch));
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.body, R"({"messages":[)" + splice_position(*e, str(v, "id"), ch, str(v, "position")) + "]}");
}

// ---- pub/sub mirror -----------------------------------------------------------------------------------

// A raw SUBSCRIBE connection (hiredis, blocking with a read timeout).
class Subscriber {
 public:
  Subscriber(std::uint16_t port, const std::string& channel) {
    timeval tv{2, 0};
    ctx_ = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!ctx_ || ctx_->err) throw std::runtime_error("redis connect failed");
    timeval rt{3, 0};
    redisSetTimeout(ctx_, rt);
    auto* r = static_cast<redisReply*>(redisCommand(ctx_, "SUBSCRIBE %s", channel.c_str()));
    if (!r) throw std::runtime_error("SUBSCRIBE failed");
    freeReplyObject(r);
  }
  ~Subscriber() {
    if (ctx_) redisFree(ctx_);
  }
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // The next message's (channel, payload); nullopt after the read timeout.
  std::optional<std::pair<std::string, std::string>> next() {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || !raw) return std::nullopt;
    auto* r = static_cast<redisReply*>(raw);
    std::optional<std::pair<std::string, std::string>> out;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && std::string(r->element[0]->str) == "message") {
      out.emplace(std::string(r->element[1]->str, r->element[1]->len),
                  std::string(r->element[2]->str, r->element[2]->len));
    }
    freeReplyObject(r);
    return out;
  }

 private:
  redisContext* ctx_ = nullptr;
};

TEST(PublishMirror, SubscriberReceivesFullEnvelope) {
  Stack s({"--compress-min-bytes", "100"});
  Subscriber sub(s.redis.port(), "ms:orders.created");
  auto r = s.api->post(msgs_path("orders.created"),
                       R"({"data":{"order_id":42},"key":"order-42","attributes":{"type":"order"}})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto v = r.json();
  auto got = sub.next();
  ASSERT_TRUE(got.has_value()) << "no message on ms:orders.created";
  EXPECT_EQ(got->first, "ms:orders.created");
  auto env = json::parse(got->second);
  EXPECT_EQ(env.at("id"), v.at("id"));
  EXPECT_EQ(env.at("channel").as_string(), "orders.created");
  EXPECT_EQ(env.at("position"), v.at("position"));
  EXPECT_EQ(env.at("published_at"), v.at("published_at"));
  EXPECT_EQ(env.at("key").as_string(), "order-42");
  EXPECT_EQ(env.at("attributes"), json::parse(R"({"type":"order"})"));
  EXPECT_EQ(env.at("data"), json::parse(R"({"order_id":42})"));
  // The mirror carries exactly what a read returns.
  auto page = s.api->get(msgs_path("orders.created"));
  EXPECT_EQ(page.body, R"({"messages":[)" + got->second + "]}");

  // A large (compressed-at-rest) message is mirrored as plain JSON, in publish order.
  const std::string big(3000, 'z');
  auto r2 = s.api->post(msgs_path("orders.created"), R"({"data":")" + big + R"("})");
  ASSERT_EQ(r2.status, 201);
  auto got2 = sub.next();
  ASSERT_TRUE(got2.has_value());
  auto env2 = json::parse(got2->second);
  EXPECT_EQ(env2.at("data").as_string(), big);
  EXPECT_EQ(env2.at("position"), r2.json().at("position"));
  // Other channels do not reach this subscriber.
  ASSERT_EQ(s.api->post(msgs_path("orders.cancelled"), R"({"data":1})").status, 201);
  ASSERT_EQ(s.api->post(msgs_path("orders.created"), R"({"data":"last"})").status, 201);
  auto got3 = sub.next();
  ASSERT_TRUE(got3.has_value());
  EXPECT_EQ(json::parse(got3->second).at("data").as_string(), "last");
}

// ---- reading a channel ----------------------------------------------------------------------------------

TEST(PublishRead, PaginatesOldestFirst) {
  Stack s;
  const std::string ch = "page.me";
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) {
    auto r = s.api->post(msgs_path(ch), R"({"data":{"i":)" + std::to_string(i) + "}}");
    ASSERT_EQ(r.status, 201);
    ids.push_back(str(r.json(), "id"));
  }
  std::vector<std::string> seen;
  std::string after;
  const std::vector<std::size_t> expected_sizes = {10, 10, 5};
  for (std::size_t p = 0; p < expected_sizes.size(); ++p) {
    SCOPED_TRACE("page " + std::to_string(p));
    auto r = s.api->get(msgs_path(ch) + "?limit=10" + (after.empty() ? "" : "&after=" + after));
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = r.json();
    const auto& m = v.at("messages").as_array();
    ASSERT_EQ(m.size(), expected_sizes[p]);
    for (const auto& e : m) {
      seen.push_back(str(e, "id"));
      EXPECT_TRUE(std::regex_match(str(e, "position"), kPosition));
      EXPECT_EQ(e.at("channel").as_string(), ch);
    }
    if (p + 1 < expected_sizes.size()) {
      ASSERT_TRUE(v.as_object().contains("next")) << r.body;
      after = str(v, "next");
      EXPECT_EQ(after, str(m.back(), "position"));
    } else {
      EXPECT_FALSE(v.as_object().contains("next")) << r.body;
    }
  }
  EXPECT_EQ(seen, ids);

  // Default limit (100) returns all 25 without next.
  auto all = s.api->get(msgs_path(ch)).json();
  EXPECT_EQ(all.at("messages").as_array().size(), 25u);
  EXPECT_FALSE(all.as_object().contains("next"));
  // A page ending exactly at the end: no next.
  auto exact = s.api->get(msgs_path(ch) + "?limit=25").json();
  EXPECT_EQ(exact.at("messages").as_array().size(), 25u);
  EXPECT_FALSE(exact.as_object().contains("next")) << json::serialize(exact);
  // After the last position: empty page, still 200.
  auto past = s.api->get(msgs_path(ch) + "?after=" + str(all.at("messages").as_array().back(), "position"));
  ASSERT_EQ(past.status, 200);
  EXPECT_TRUE(past.json().at("messages").as_array().empty());
  EXPECT_FALSE(past.json().as_object().contains("next"));
}

TEST(PublishRead, BadParametersAre400AndUnknownChannel404) {
  Stack s;
  ASSERT_EQ(s.api->post(msgs_path("read.bad"), R"({"data":1})").status, 201);
  for (const char* q : {"?limit=0", "?limit=1001", "?limit=x", "?limit=-1", "?limit=", "?limit=10x",
                        "?after=abc", "?after=1-2-3", "?after=-5", "?after=%20"}) {
    SCOPED_TRACE(q);
    expect_error(s.api->get(msgs_path("read.bad") + q), 400, "invalid_argument");
  }
  EXPECT_EQ(s.api->get(msgs_path("read.bad") + "?limit=1000").status, 200);
  EXPECT_EQ(s.api->get(msgs_path("read.bad") + "?limit=1").status, 200);
  expect_error(s.api->get(msgs_path("never.published")), 404, "not_found");
  expect_error(s.api->get(msgs_path("a..b")), 400, "invalid_argument");
}

// A cursor that is syntactically a position but outside Redis's stream-id range is the
// client's mistake (400) or simply has nothing after it (200, empty) — never "Redis
// unavailable".
// Regression test, bug fixed (was in src/publish/channel_reader.cpp, is_valid_position): it accepts any 1..20 digits
// per part, so 99999999999999999999-0 (> 2^64-1) passes and Redis answers "ERR Invalid
// stream ID", and the exclusive range "(18446744073709551615-18446744073709551615" gives
// "ERR invalid start ID for the interval"; ChannelReader::read turns both error replies
// into a 503 unavailable with Retry-After (src/api/publish_handlers.cpp, read_channel).
TEST(PublishRead, CursorOutsideStreamIdRangeIsNot503) {
  Stack s;
  ASSERT_EQ(s.api->post(msgs_path("read.range"), R"({"data":1})").status, 201);
  auto overflow = s.api->get(msgs_path("read.range") + "?after=99999999999999999999-0");
  expect_error(overflow, 400, "invalid_argument");
  auto overflow_seq = s.api->get(msgs_path("read.range") + "?after=1-99999999999999999999");
  expect_error(overflow_seq, 400, "invalid_argument");
  auto max = s.api->get(msgs_path("read.range") + "?after=18446744073709551615-18446744073709551615");
  EXPECT_TRUE(max.status == 200 || max.status == 400) << max.status << " " << max.body;
  if (max.status == 200) {
    EXPECT_TRUE(max.json().at("messages").as_array().empty()) << max.body;
  }
  EXPECT_EQ(s.api->get(msgs_path("read.range") + "?after=18446744073709551615-0").status, 200);
}

// ---- channels ---------------------------------------------------------------------------------------------

TEST(PublishChannels, ListShowsStatsAndPaginates) {
  Stack s;
  // No channel yet: an empty list.
  auto empty = s.api->get("/v1/channels");
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_TRUE(empty.json().at("channels").as_array().empty());
  EXPECT_FALSE(empty.json().as_object().contains("next"));

  const std::vector<std::string> names = {"chan.a", "chan.b", "chan.c"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    for (std::size_t k = 0; k <= i; ++k) ASSERT_EQ(s.api->post(msgs_path(names[i]), R"({"data":1})").status, 201);
  }
  auto r = s.api->get("/v1/channels");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto r_json = r.json();
  const auto& list = r_json.at("channels").as_array();
  ASSERT_EQ(list.size(), 3u) << r.body;
  for (const auto& c : list) {
    SCOPED_TRACE(json::serialize(c));
    std::string name = str(c, "name");
    auto it = std::find(names.begin(), names.end(), name);
    ASSERT_NE(it, names.end());
    const auto n = static_cast<int>(it - names.begin()) + 1;
    EXPECT_EQ(c.at("length").to_number<int>(), n);
    EXPECT_EQ(c.at("published_total").to_number<int>(), n);
    ASSERT_TRUE(c.at("last_published_at").is_string());
    EXPECT_TRUE(std::regex_match(str(c, "last_published_at"), kRfc3339Ms));
    EXPECT_TRUE(c.as_object().contains("subscriptions"));
  }

  // limit=1 walks the list one by one.
  std::vector<std::string> walked;
  std::string after;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = s.api->get("/v1/channels?limit=1" + (after.empty() ? "" : "&after=" + after));
    ASSERT_EQ(page.status, 200) << page.body;
    auto v = page.json();
    const auto& c = v.at("channels").as_array();
    ASSERT_LE(c.size(), 1u);
    for (const auto& e : c) walked.push_back(str(e, "name"));
    if (!v.as_object().contains("next")) break;
    after = str(v, "next");
  }
  std::vector<std::string> sorted = walked;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, names);
  expect_error(s.api->get("/v1/channels?limit=0"), 400, "invalid_argument");
}

TEST(PublishChannels, OneChannelHasPositionsRetentionAndMovingStats) {
  Stack s;
  expect_error(s.api->get("/v1/channels/never.seen"), 404, "not_found");
  expect_error(s.api->get("/v1/channels/a..b"), 400, "invalid_argument");

  auto p1 = s.api->post(msgs_path("stats.one"), R"({"data":1})").json();
  auto p2 = s.api->post(msgs_path("stats.one"), R"({"data":2})").json();
  auto r = s.api->get("/v1/channels/stats.one");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = r.json();
  EXPECT_EQ(v.at("name").as_string(), "stats.one");
  EXPECT_EQ(v.at("length").to_number<int>(), 2);
  EXPECT_EQ(v.at("published_total").to_number<int>(), 2);
  EXPECT_EQ(v.at("last_published_at"), p2.at("published_at"));
  EXPECT_EQ(v.at("first_position"), p1.at("position"));
  EXPECT_EQ(v.at("last_position"), p2.at("position"));
  ASSERT_TRUE(v.at("retention").is_object());
  EXPECT_EQ(v.at("retention").at("max_messages").to_number<long long>(), 1000000);
  ASSERT_TRUE(v.at("subscription_ids").is_array());
  EXPECT_TRUE(v.at("subscription_ids").as_array().empty());
  EXPECT_EQ(v.at("subscriptions").to_number<int>(), 0);

  auto p3 = s.api->post(msgs_path("stats.one"), R"({"data":3})").json();
  auto b = s.api->post("/v1/messages/batch", R"({"messages":[{"channel":"stats.one","data":4}]})").json();
  auto after = s.api->get("/v1/channels/stats.one").json();
  EXPECT_EQ(after.at("length").to_number<int>(), 4);
  EXPECT_EQ(after.at("published_total").to_number<int>(), 4);
  EXPECT_EQ(after.at("first_position"), p1.at("position"));
  EXPECT_EQ(after.at("last_position"), b.at("results").at(0).at("position"));
  EXPECT_EQ(after.at("last_published_at"), b.at("results").at(0).at("published_at"));
  // The list agrees.
  auto list = s.api->get("/v1/channels").json();
  EXPECT_EQ(list.at("channels").at(0).at("published_total").to_number<int>(), 4);
  EXPECT_GT(pos(str(after, "last_position")), pos(str(p3, "position")));
}

// Regression test, bug fixed (was in src/publish/event_publisher.cpp, publish_batch): each shard caches the channels
// it has registered in ms:channels (registered_) forever, so once Redis loses its data
// (restart without persistence, FLUSHALL, failover to an empty replica) a channel that
// is published to again is stored but never re-added to ms:channels, and GET /v1/channels
// does not list it. Suggested fix: send the ZADD NX with every publish (it is pipelined and
// O(log n)), or at least clear registered_ whenever the Redis connection (re)connects.
TEST(PublishChannels, ChannelIsListedAgainAfterRedisLostItsData) {
  RedisServerOptions no_persistence;
  no_persistence.appendonly = false;
  Stack s({"--threads", "1"}, no_persistence);  // one shard: the same publisher sees both publishes
  ASSERT_EQ(s.api->post(msgs_path("lost.data"), R"({"data":1})").status, 201);
  s.redis.restart();  // all data gone
  ASSERT_EQ(s.dbsize(), 0);
  HttpResponse last;
  ASSERT_TRUE(eventually([&] { return (last = s.api->post(msgs_path("lost.data"), R"({"data":2})")).status == 201; }, 5s))
      << last.status << " " << last.body;
  EXPECT_EQ(s.xlen("lost.data"), 1);
  auto list = s.api->get("/v1/channels");
  ASSERT_EQ(list.status, 200) << list.body;
  const auto lj = list.json();
  const auto& chans = lj.at("channels").as_array();
  ASSERT_EQ(chans.size(), 1u) << "a stored channel is missing from the list: " << list.body;
  EXPECT_EQ(chans[0].at("name").as_string(), "lost.data");
  EXPECT_EQ(s.api->get("/v1/channels/lost.data").status, 200);
}

// ---- Redis down ---------------------------------------------------------------------------------------------

TEST(PublishRedisDown, Answers503ThenRecovers) {
  Stack s;
  const std::string ch = "down.up";
  ASSERT_EQ(s.api->post(msgs_path(ch), R"({"data":"before"})").status, 201);
  s.redis.stop();

  HttpResponse last;
  ASSERT_TRUE(eventually([&] { return (last = s.api->post(msgs_path(ch), R"({"data":"during"})")).status == 503; }, 3s))
      << last.status << " " << last.body;
  expect_error(last, 503, "unavailable");
  EXPECT_FALSE(last.header("retry-after").empty());
  auto batch = s.api->post("/v1/messages/batch", R"({"messages":[{"channel":"down.up","data":"during"}]})");
  expect_error(batch, 503, "unavailable");
  EXPECT_FALSE(batch.header("retry-after").empty());
  auto read = s.api->get(msgs_path(ch));
  expect_error(read, 503, "unavailable");
  auto list = s.api->get("/v1/channels");
  expect_error(list, 503, "unavailable");
  EXPECT_TRUE(s.svc->running());

  s.redis.start();  // AOF: "before" survives
  ASSERT_TRUE(eventually([&] { return (last = s.api->post(msgs_path(ch), R"({"data":"after"})")).status == 201; }, 5s))
      << last.status << " " << last.body;
  // Also after Redis lost its script cache; the batch route too.
  auto b = s.api->post("/v1/messages/batch", R"({"messages":[{"channel":"down.up","data":"batch"}]})");
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(b.json().at("published").to_number<int>(), 1);
  // Nothing answered 503 was stored.
  auto page = s.api->get(msgs_path(ch)).json();
  std::vector<std::string> data;
  for (const auto& m : page.at("messages").as_array()) data.push_back(str(m, "data"));
  EXPECT_EQ(data, (std::vector<std::string>{"before", "after", "batch"}));
}

TEST(PublishRedisDown, RedisOutOfMemoryAnswers503AndStoresNothing) {
  Stack s;
  ASSERT_EQ(s.api->post(msgs_path("oom.ch"), R"({"data":0})").status, 201);
  ASSERT_TRUE(s.redis.command({"CONFIG", "SET", "maxmemory-policy", "noeviction"}).is_ok());
  ASSERT_TRUE(s.redis.command({"CONFIG", "SET", "maxmemory", "1"}).is_ok());
  auto r = s.api->post(msgs_path("oom.ch"), R"({"data":1})");
  expect_error(r, 503, "unavailable");
  EXPECT_FALSE(r.header("retry-after").empty());
  auto b = s.api->post("/v1/messages/batch", R"({"messages":[{"channel":"oom.ch","data":2},{"channel":"oom.new","data":3}]})");
  expect_error(b, 503, "unavailable");
  ASSERT_TRUE(s.redis.command({"CONFIG", "SET", "maxmemory", "0"}).is_ok());
  EXPECT_EQ(s.xlen("oom.ch"), 1);
  EXPECT_EQ(s.redis.command({"EXISTS", log_key("oom.new")}).integer, 0);
  EXPECT_EQ(s.api->post(msgs_path("oom.ch"), R"({"data":4})").status, 201);
  EXPECT_EQ(s.api->post(msgs_path("oom.new"), R"({"data":5})").status, 201);
  // The channel refused under OOM is listed once it is stored.
  auto list = s.api->get("/v1/channels").json();
  EXPECT_EQ(list.at("channels").as_array().size(), 2u) << json::serialize(list);
}

TEST(PublishRedisDown, HungRedisAnswers503WithinTheRedisTimeout) {
  Stack s({"--redis-timeout-ms", "500"});
  ASSERT_EQ(s.api->post(msgs_path("hung.ch"), R"({"data":0})").status, 201);
  ASSERT_EQ(::kill(s.redis.pid(), SIGSTOP), 0);
  struct Resume {
    pid_t pid;
    ~Resume() { ::kill(pid, SIGCONT); }
  } resume{s.redis.pid()};
  auto t0 = Clock::now();
  auto r = s.api->post(msgs_path("hung.ch"), R"({"data":1})");
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  expect_error(r, 503, "unavailable");
  EXPECT_LT(took, 2500) << "publish waited on a hung Redis";
  ::kill(s.redis.pid(), SIGCONT);
  HttpResponse last;
  EXPECT_TRUE(eventually([&] { return (last = s.api->post(msgs_path("hung.ch"), R"({"data":2})")).status == 201; }, 5s))
      << last.status << " " << last.body;
}

// ---- key prefix ---------------------------------------------------------------------------------------------

TEST(PublishKeyPrefix, KeysLiveUnderThePrefix) {
  Stack s({"--key-prefix", "other:"});
  Subscriber sub(s.redis.port(), "other:pref.ch");
  auto r = s.api->post(msgs_path("pref.ch"), R"({"data":1})", {{"Idempotency-Key", "once"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(s.redis.command({"XLEN", "other:{pref.ch}:log"}).integer, 1);
  EXPECT_EQ(s.redis.command({"HGET", "other:{pref.ch}:meta", "published_total"}).str, "1");
  EXPECT_EQ(s.redis.command({"EXISTS", "other:{pref.ch}:idem:once"}).integer, 1);
  EXPECT_FALSE(s.redis.command({"ZSCORE", "other:channels", "pref.ch"}).is_nil());
  auto keys = s.redis.command({"KEYS", "*"});
  for (const auto& k : keys.elements) EXPECT_EQ(k.str.rfind("other:", 0), 0u) << k.str;
  auto got = sub.next();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(json::parse(got->second).at("id"), r.json().at("id"));
  // The API reads through the same prefix.
  EXPECT_EQ(s.api->get(msgs_path("pref.ch")).json().at("messages").as_array().size(), 1u);
  EXPECT_EQ(s.api->get("/v1/channels/pref.ch").json().at("published_total").to_number<int>(), 1);
}

}  // namespace
}  // namespace ms::test
