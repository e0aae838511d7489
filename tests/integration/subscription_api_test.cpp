// Subscription routes against the real binary and a real redis-server (API.md
// "Subscriptions"): create with defaults, validation in the contract's error shape,
// the SSRF guard on literal addresses, list / get / patch / delete, and what a
// delete leaves in Redis (docs/redis-keys.md: ms:subs, ms:sub:<id>:stats, the
// consumer group on each matching channel's log, retry and attempt keys).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "support/delivery_harness.h"
#include "support/webhook_receiver.h"

namespace ms::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

const std::regex kSubId("^sub_[0-7][0-9A-HJKMNP-TV-Z]{25}$");
const std::regex kRfc3339Ms("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$");

// An endpoint nobody needs to answer for API-only tests (127.0.0.0/8 is allowed).
const std::string kEndpoint = "http://127.0.0.1:9/hooks";

// The contract's error shape: {"error": {"code", "message", "details": {"field": field}}}.
// An empty `field` accepts any (or no) details.
void expect_error(const HttpResponse& r, int status, const std::string& code, const std::string& field = "") {
  SCOPED_TRACE("answer " + std::to_string(r.status) + " " + r.body);
  EXPECT_EQ(r.status, status);
  EXPECT_NE(r.header("content-type").find("application/json"), std::string::npos);
  json::value v;
  ASSERT_NO_THROW(v = r.json());
  ASSERT_TRUE(v.is_object());
  const auto* err = v.as_object().if_contains("error");
  ASSERT_TRUE(err && err->is_object());
  const auto& e = err->as_object();
  ASSERT_TRUE(e.contains("code") && e.at("code").is_string());
  EXPECT_EQ(e.at("code").as_string(), code);
  ASSERT_TRUE(e.contains("message") && e.at("message").is_string());
  EXPECT_FALSE(e.at("message").as_string().empty());
  if (!field.empty()) {
    const auto* details = e.if_contains("details");
    ASSERT_TRUE(details && details->is_object());
    const auto* f = details->as_object().if_contains("field");
    ASSERT_TRUE(f && f->is_string());
    EXPECT_EQ(f->as_string(), field);
  }
}

std::set<std::string> ids_of(const HttpResponse& r) {
  std::set<std::string> out;
  const auto body = r.json();  // kept alive for the loop
  for (const auto& s : body.at("subscriptions").as_array()) out.insert(str_of(s, "id"));
  return out;
}

// ---- create ---------------------------------------------------------------------------

TEST(SubscriptionApi, CreateWithOnlyChannelAndEndpointFillsEveryDefault) {
  DeliveryStack s;
  auto r = s.api->post("/v1/subscriptions", R"({"channel":"orders.created","endpoint":")" + kEndpoint + R"("})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_NE(r.header("content-type").find("application/json"), std::string::npos);
  const auto v = r.json();
  const auto& o = v.as_object();
  SCOPED_TRACE(r.body);

  EXPECT_TRUE(std::regex_match(str_of(v, "id"), kSubId)) << o.at("id");
  EXPECT_EQ(str_of(v, "channel"), "orders.created");
  EXPECT_EQ(str_of(v, "endpoint"), kEndpoint);
  EXPECT_EQ(str_of(v, "ack_mode"), "response");
  EXPECT_EQ(int_of(v, "ack_deadline_ms"), 30000);
  EXPECT_EQ(int_of(v, "timeout_ms"), 10000);
  EXPECT_EQ(int_of(v, "max_in_flight"), 16);
  ASSERT_TRUE(o.contains("ordered") && o.at("ordered").is_bool());
  EXPECT_FALSE(o.at("ordered").as_bool());
  ASSERT_TRUE(o.contains("retry") && o.at("retry").is_object());
  const auto& retry = o.at("retry");
  EXPECT_EQ(int_of(retry, "max_attempts"), 8);
  EXPECT_EQ(int_of(retry, "initial_backoff_ms"), 1000);
  EXPECT_EQ(int_of(retry, "max_backoff_ms"), 600000);
  EXPECT_DOUBLE_EQ(retry.at("multiplier").to_number<double>(), 2.0);
  EXPECT_DOUBLE_EQ(retry.at("jitter").to_number<double>(), 0.2);
  EXPECT_EQ(str_of(v, "start"), "latest");
  EXPECT_EQ(str_of(v, "state"), "active");

  // created_at: RFC 3339 with ms, close to now.
  const std::string created = str_of(v, "created_at");
  EXPECT_TRUE(std::regex_match(created, kRfc3339Ms)) << created;

  // secret: "whsec_" + base64 of 24 random bytes.
  const std::string secret = str_of(v, "secret");
  ASSERT_EQ(secret.rfind("whsec_", 0), 0u) << secret;
  auto key = decode_base64(secret.substr(6));
  ASSERT_TRUE(key.has_value()) << secret;
  EXPECT_EQ(key->size(), 24u) << secret;

  // stats: every counter of the contract, zero / null for a new subscription.
  ASSERT_TRUE(o.contains("stats") && o.at("stats").is_object());
  const auto& st = o.at("stats").as_object();
  for (const char* counter : {"delivered", "attempts", "failed_attempts", "in_flight", "retrying", "backlog",
                              "dead_lettered"}) {
    ASSERT_TRUE(st.contains(counter)) << counter;
    EXPECT_EQ(st.at(counter).to_number<std::int64_t>(), 0) << counter;
  }
  for (const char* maybe : {"oldest_unacked_age_ms", "last_delivery_at", "last_error"}) {
    ASSERT_TRUE(st.contains(maybe)) << maybe;
    EXPECT_TRUE(st.at(maybe).is_null()) << maybe;
  }

  // Stored, and GET answers the same object.
  EXPECT_EQ(s.redis.command({"HEXISTS", "ms:subs", str_of(v, "id")}).integer, 1);
  auto got = get_subscription(*s.api, str_of(v, "id"));
  for (const char* field : {"id", "channel", "endpoint", "secret", "ack_mode", "ack_deadline_ms", "timeout_ms",
                            "max_in_flight", "ordered", "retry", "start", "state", "created_at"}) {
    EXPECT_EQ(got.at(field), o.at(field)) << field;
  }

  // Two creations get distinct ids and secrets.
  auto other = create_subscription(*s.api, {{"channel", "orders.created"}, {"endpoint", kEndpoint}});
  EXPECT_NE(str_of(other, "id"), str_of(v, "id"));
  EXPECT_NE(str_of(other, "secret"), secret);
}

TEST(SubscriptionApi, CreateKeepsEveryGivenField) {
  DeliveryStack s;
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  json::object body{{"channel", "orders.*"},
                    {"endpoint", kEndpoint},
                    {"secret", secret},
                    {"ack_mode", "explicit"},
                    {"ack_deadline_ms", 45000},
                    {"timeout_ms", 2500},
                    {"max_in_flight", 4},
                    {"ordered", true},
                    {"retry",
                     {{"max_attempts", 3},
                      {"initial_backoff_ms", 250},
                      {"max_backoff_ms", 5000},
                      {"multiplier", 3.0},
                      {"jitter", 0.5}}},
                    {"start", "earliest"},
                    {"filter", {{"attributes", {{"type", "order"}}}}},
                    {"headers", {{"x-team", "billing"}}},
                    {"description", "billing listens to orders"}};
  auto v = create_subscription(*s.api, body);
  SCOPED_TRACE(json::serialize(v));
  EXPECT_EQ(str_of(v, "secret"), secret);
  EXPECT_EQ(str_of(v, "channel"), "orders.*");
  EXPECT_EQ(str_of(v, "ack_mode"), "explicit");
  EXPECT_EQ(int_of(v, "ack_deadline_ms"), 45000);
  EXPECT_EQ(int_of(v, "timeout_ms"), 2500);
  EXPECT_EQ(int_of(v, "max_in_flight"), 4);
  EXPECT_TRUE(v.at("ordered").as_bool());
  EXPECT_EQ(int_of(v.at("retry"), "max_attempts"), 3);
  EXPECT_EQ(int_of(v.at("retry"), "initial_backoff_ms"), 250);
  EXPECT_EQ(int_of(v.at("retry"), "max_backoff_ms"), 5000);
  EXPECT_DOUBLE_EQ(v.at("retry").at("multiplier").to_number<double>(), 3.0);
  EXPECT_DOUBLE_EQ(v.at("retry").at("jitter").to_number<double>(), 0.5);
  EXPECT_EQ(str_of(v, "start"), "earliest");
  EXPECT_EQ(v.at("filter"), json::parse(R"({"attributes":{"type":"order"}})"));
  EXPECT_EQ(v.at("headers"), json::parse(R"({"x-team":"billing"})"));
  EXPECT_EQ(str_of(v, "description"), "billing listens to orders");

  // start {"position": P} is kept as given.
  auto p = create_subscription(
      *s.api, {{"channel", "orders.created"}, {"endpoint", kEndpoint}, {"start", {{"position", "1733076000123-0"}}}});
  EXPECT_EQ(p.at("start"), json::parse(R"({"position":"1733076000123-0"})"));
}

TEST(SubscriptionApi, InvalidBodiesAre400WithTheField) {
  DeliveryStack s;
  struct Case {
    std::string what, body, field;
  };
  auto with = [](const std::string& extra) {
    return R"({"channel":"orders.created","endpoint":")" + kEndpoint + R"(",)" + extra + "}";
  };
  const std::vector<Case> cases = {
      {"missing channel", R"({"endpoint":")" + kEndpoint + R"("})", "channel"},
      {"missing endpoint", R"({"channel":"orders.created"})", "endpoint"},
      {"empty segment", R"({"channel":"a..b","endpoint":")" + kEndpoint + R"("})", "channel"},
      {"> not last", R"({"channel":"a.>.b","endpoint":")" + kEndpoint + R"("})", "channel"},
      {"partial wildcard", R"({"channel":"a.b*","endpoint":")" + kEndpoint + R"("})", "channel"},
      {"space in channel", R"({"channel":"a b","endpoint":")" + kEndpoint + R"("})", "channel"},
      {"201 characters", R"({"channel":")" + std::string(201, 'c') + R"(","endpoint":")" + kEndpoint + R"("})",
       "channel"},
      {"ftp endpoint", R"({"channel":"orders.created","endpoint":"ftp://127.0.0.1/x"})", "endpoint"},
      {"relative endpoint", R"({"channel":"orders.created","endpoint":"/hooks"})", "endpoint"},
      {"empty endpoint", R"({"channel":"orders.created","endpoint":""})", "endpoint"},
      {"channel type", R"({"channel":5,"endpoint":")" + kEndpoint + R"("})", "channel"},
      {"endpoint type", R"({"channel":"orders.created","endpoint":["x"]})", "endpoint"},
      {"timeout_ms string", with(R"("timeout_ms":"100")"), "timeout_ms"},
      {"timeout_ms too small", with(R"("timeout_ms":5)"), "timeout_ms"},
      {"max_in_flight 0", with(R"("max_in_flight":0)"), "max_in_flight"},
      {"max_in_flight fraction", with(R"("max_in_flight":1.5)"), "max_in_flight"},
      {"ordered string", with(R"("ordered":"yes")"), "ordered"},
      {"ack_mode", with(R"("ack_mode":"sometimes")"), "ack_mode"},
      {"ack_deadline_ms negative", with(R"("ack_deadline_ms":-1)"), "ack_deadline_ms"},
      {"start word", with(R"("start":"middle")"), "start"},
      {"start position", with(R"("start":{"position":"abc"})"), "start.position"},
      {"secret prefix", with(R"("secret":"abc")"), "secret"},
      {"secret too short", with(R"("secret":"whsec_YWJj")"), "secret"},
      {"secret type", with(R"("secret":42)"), "secret"},
      {"retry type", with(R"("retry":"x")"), "retry"},
      {"retry max_attempts 0", with(R"("retry":{"max_attempts":0})"), "retry.max_attempts"},
      {"retry max_attempts string", with(R"("retry":{"max_attempts":"3"})"), "retry.max_attempts"},
      {"retry initial_backoff_ms 0", with(R"("retry":{"initial_backoff_ms":0})"), "retry.initial_backoff_ms"},
      {"retry multiplier < 1", with(R"("retry":{"multiplier":0.5})"), "retry.multiplier"},
      {"retry jitter > 1", with(R"("retry":{"jitter":2})"), "retry.jitter"},
      {"retry max < initial", with(R"("retry":{"initial_backoff_ms":2000,"max_backoff_ms":1000})"),
       "retry.max_backoff_ms"},
      {"headers type", with(R"("headers":["x"])"), "headers"},
      {"header value type", with(R"("headers":{"x-team":1})"), "headers.x-team"},
      {"reserved header webhook-id", with(R"("headers":{"webhook-id":"x"})"), "headers.webhook-id"},
      {"reserved header any case", with(R"("headers":{"Content-Type":"text/plain"})"), "headers.Content-Type"},
      {"reserved header x-delivery-attempt", with(R"("headers":{"X-Delivery-Attempt":"9"})"),
       "headers.X-Delivery-Attempt"},
      {"header with CRLF", with(R"("headers":{"x-a":"b\r\nx-evil: 1"})"), "headers.x-a"},
      {"filter type", with(R"("filter":"type=order")"), "filter"},
      {"filter attribute type", with(R"("filter":{"attributes":{"type":1}})"), "filter.attributes.type"},
      {"description type", with(R"("description":5)"), "description"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what + ": " + c.body);
    expect_error(s.api->post("/v1/subscriptions", c.body), 400, "invalid_argument", c.field);
  }
  // Not JSON / not an object: 400 in the same shape.
  for (const std::string& body : {std::string(R"({"channel":)"), std::string("[1]"), std::string("")}) {
    SCOPED_TRACE(body);
    expect_error(s.api->post("/v1/subscriptions", body, {{"content-type", "application/json"}}), 400,
                 "invalid_argument");
  }
  EXPECT_EQ(s.redis.command({"HLEN", "ms:subs"}).integer, 0) << "nothing is stored for an invalid body";
}

TEST(SubscriptionApi, LiteralForbiddenAddressesAreRefusedDespiteTheLoopbackAllowList) {
  DeliveryStack s;  // --endpoint-allow 127.0.0.0/8
  for (const std::string& endpoint :
       {std::string("http://10.0.0.1/x"), std::string("http://169.254.169.254/"),
        std::string("http://192.168.1.20:8080/hook"), std::string("https://172.16.5.4/x"),
        std::string("http://[::ffff:10.0.0.1]/x"), std::string("http://[fd00::1]/x"), std::string("http://0.0.0.0/x"),
        std::string("http://[fe80::1]/x")}) {
    SCOPED_TRACE(endpoint);
    expect_error(s.api->post("/v1/subscriptions",
                             json::serialize(json::object{{"channel", "orders.created"}, {"endpoint", endpoint}})),
                 400, "invalid_argument", "endpoint");
  }
  EXPECT_EQ(s.redis.command({"HLEN", "ms:subs"}).integer, 0);

  // The allowed loopback range works, and a PATCH to a forbidden address is refused too.
  auto ok = create_subscription(*s.api, {{"channel", "orders.created"}, {"endpoint", "http://127.0.0.2:8080/x"}});
  const std::string id = str_of(ok, "id");
  expect_error(s.api->patch("/v1/subscriptions/" + id, R"({"endpoint":"http://169.254.169.254/latest/meta-data"})"),
               400, "invalid_argument", "endpoint");
  EXPECT_EQ(str_of(get_subscription(*s.api, id), "endpoint"), "http://127.0.0.2:8080/x");
}

// ---- list and get ---------------------------------------------------------------------

TEST(SubscriptionApi, ListAllAndFilterByChannelOrPattern) {
  DeliveryStack s;
  auto mk = [&](const std::string& channel) {
    return str_of(create_subscription(*s.api, {{"channel", channel}, {"endpoint", kEndpoint}}), "id");
  };
  const auto exact = mk("orders.created");
  const auto star = mk("orders.*");
  const auto tail = mk("orders.>");
  const auto deep = mk("orders.eu.created");
  const auto users = mk("users.created");

  auto all = s.api->get("/v1/subscriptions");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(ids_of(all), (std::set<std::string>{exact, star, tail, deep, users}));
  // Every item is a full subscription object.
  const auto all_body = all.json();
  for (const auto& item : all_body.at("subscriptions").as_array()) {
    EXPECT_TRUE(item.as_object().contains("endpoint")) << item;
    EXPECT_TRUE(item.as_object().contains("state")) << item;
  }

  // A channel name: the exact subscription and every pattern matching it.
  EXPECT_EQ(ids_of(s.api->get("/v1/subscriptions?channel=orders.created")),
            (std::set<std::string>{exact, star, tail}));
  EXPECT_EQ(ids_of(s.api->get("/v1/subscriptions?channel=orders.eu.created")), (std::set<std::string>{tail, deep}));
  EXPECT_EQ(ids_of(s.api->get("/v1/subscriptions?channel=users.created")), (std::set<std::string>{users}));
  EXPECT_TRUE(ids_of(s.api->get("/v1/subscriptions?channel=nobody.here")).empty());
  // A pattern: the subscriptions made with exactly that pattern.
  EXPECT_EQ(ids_of(s.api->get("/v1/subscriptions?channel=orders.*")), (std::set<std::string>{star}));
  EXPECT_EQ(ids_of(s.api->get("/v1/subscriptions?channel=orders.%3E")), (std::set<std::string>{tail}));
  // An invalid filter is a 400.
  expect_error(s.api->get("/v1/subscriptions?channel=a..b"), 400, "invalid_argument", "channel");
}

TEST(SubscriptionApi, GetOneWithStatsAndUnknownIdIs404) {
  DeliveryStack s;
  auto created = create_subscription(*s.api, {{"channel", "orders.created"}, {"endpoint", kEndpoint}});
  const std::string id = str_of(created, "id");
  auto r = s.api->get("/v1/subscriptions/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = r.json();
  EXPECT_EQ(str_of(v, "id"), id);
  ASSERT_TRUE(v.at("stats").is_object());
  for (const char* field : {"delivered", "attempts", "failed_attempts", "in_flight", "retrying", "backlog",
                            "dead_lettered", "oldest_unacked_age_ms", "last_delivery_at", "last_error"}) {
    EXPECT_TRUE(v.at("stats").as_object().contains(field)) << field << " in " << r.body;
  }

  expect_error(s.api->get("/v1/subscriptions/sub_01JDX3N6Y7Q8W2T4Z5A9B0C1D2"), 404, "not_found");
  expect_error(s.api->get("/v1/subscriptions/nonsense"), 404, "not_found");
}

// ---- patch ----------------------------------------------------------------------------

TEST(SubscriptionApi, PatchChangesTheChangeableFields) {
  DeliveryStack s;
  auto created = create_subscription(*s.api, {{"channel", "orders.created"}, {"endpoint", kEndpoint}});
  const std::string id = str_of(created, "id");

  auto p = patch_subscription(*s.api, id,
                              {{"endpoint", "http://127.0.0.1:10/other"},
                               {"timeout_ms", 500},
                               {"max_in_flight", 3},
                               {"retry", {{"max_attempts", 4}, {"initial_backoff_ms", 50}}},
                               {"headers", {{"x-team", "ops"}, {"x-env", "test"}}},
                               {"description", "changed"}});
  SCOPED_TRACE(json::serialize(p));
  EXPECT_EQ(str_of(p, "endpoint"), "http://127.0.0.1:10/other");
  EXPECT_EQ(int_of(p, "timeout_ms"), 500);
  EXPECT_EQ(int_of(p, "max_in_flight"), 3);
  EXPECT_EQ(int_of(p.at("retry"), "max_attempts"), 4);
  EXPECT_EQ(int_of(p.at("retry"), "initial_backoff_ms"), 50);
  EXPECT_EQ(int_of(p.at("retry"), "max_backoff_ms"), 600000) << "retry fields not given are kept";
  EXPECT_DOUBLE_EQ(p.at("retry").at("multiplier").to_number<double>(), 2.0);
  EXPECT_EQ(p.at("headers"), json::parse(R"({"x-team":"ops","x-env":"test"})"));
  EXPECT_EQ(str_of(p, "description"), "changed");
  EXPECT_TRUE(p.at("stats").is_object());
  // Unchanged fields stay.
  EXPECT_EQ(str_of(p, "channel"), "orders.created");
  EXPECT_EQ(str_of(p, "secret"), str_of(created, "secret"));
  EXPECT_EQ(str_of(p, "created_at"), str_of(created, "created_at"));

  // GET sees the change (it is stored, not only echoed).
  auto got = get_subscription(*s.api, id);
  for (const char* field : {"endpoint", "timeout_ms", "max_in_flight", "retry", "headers", "description"}) {
    EXPECT_EQ(got.at(field), p.at(field)) << field;
  }

  // State: paused, then active again.
  EXPECT_EQ(str_of(patch_subscription(*s.api, id, {{"state", "paused"}}), "state"), "paused");
  EXPECT_EQ(str_of(get_subscription(*s.api, id), "state"), "paused");
  EXPECT_EQ(str_of(patch_subscription(*s.api, id, {{"state", "active"}}), "state"), "active");
  EXPECT_EQ(str_of(get_subscription(*s.api, id), "state"), "active");

  // A new secret is taken.
  const std::string secret = "whsec_" + encode_base64(std::string(32, '\x07'));
  EXPECT_EQ(str_of(patch_subscription(*s.api, id, {{"secret", secret}}), "secret"), secret);

  // Fixed fields and bad values are 400 and change nothing.
  expect_error(s.api->patch("/v1/subscriptions/" + id, R"({"channel":"orders.updated"})"), 400, "invalid_argument",
               "channel");
  expect_error(s.api->patch("/v1/subscriptions/" + id, R"({"timeout_ms":5})"), 400, "invalid_argument", "timeout_ms");
  expect_error(s.api->patch("/v1/subscriptions/" + id, R"({"state":"disabled"})"), 400, "invalid_argument", "state");
  expect_error(s.api->patch("/v1/subscriptions/" + id, R"({"retry":{"jitter":-1}})"), 400, "invalid_argument",
               "retry.jitter");
  expect_error(s.api->patch("/v1/subscriptions/" + id, R"({"headers":{"traceparent":"x"}})"), 400,
               "invalid_argument", "headers.traceparent");
  expect_error(s.api->patch("/v1/subscriptions/" + id, R"({"endpoint":"ftp://127.0.0.1/"})"), 400,
               "invalid_argument", "endpoint");
  auto after = get_subscription(*s.api, id);
  EXPECT_EQ(str_of(after, "channel"), "orders.created");
  EXPECT_EQ(int_of(after, "timeout_ms"), 500);
  EXPECT_EQ(str_of(after, "state"), "active");

  expect_error(s.api->patch("/v1/subscriptions/sub_01JDX3N6Y7Q8W2T4Z5A9B0C1D2", R"({"description":"x"})"), 404,
               "not_found");
}

// ---- delete ---------------------------------------------------------------------------

TEST(SubscriptionApi, DeleteRemovesTheSubscriptionAndAllItsKeys) {
  DeliveryStack s;
  WebhookReceiver hook;
  const std::string ch = "orders.created";
  auto created = create_subscription(*s.api, {{"channel", ch}, {"endpoint", hook.url("/h")}});
  const std::string id = str_of(created, "id");
  // A delivery, so the stats hash exists before the delete.
  publish(*s.api, ch, R"({"data":1})");
  ASSERT_TRUE(hook.wait_for_count(1, 5s));
  ASSERT_TRUE(wait_stat(*s.api, id, "delivered", 1, 5s));
  const std::string stats_key = "ms:sub:" + id + ":stats";
  ASSERT_EQ(s.redis.command({"EXISTS", stats_key}).integer, 1);
  auto groups = group_names(s.redis, ch);
  ASSERT_NE(std::find(groups.begin(), groups.end(), id), groups.end()) << "the subscription's group exists";

  auto r = s.api->del("/v1/subscriptions/" + id);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_TRUE(r.body.empty()) << r.body;

  expect_error(s.api->get("/v1/subscriptions/" + id), 404, "not_found");
  expect_error(s.api->del("/v1/subscriptions/" + id), 404, "not_found");
  expect_error(s.api->patch("/v1/subscriptions/" + id, R"({"description":"x"})"), 404, "not_found");
  EXPECT_TRUE(ids_of(s.api->get("/v1/subscriptions")).empty());

  EXPECT_EQ(s.redis.command({"HEXISTS", "ms:subs", id}).integer, 0);
  EXPECT_EQ(s.redis.command({"EXISTS", stats_key}).integer, 0);
  EXPECT_EQ(s.redis.command({"EXISTS", "ms:sub:" + id + ":dlq"}).integer, 0);
  EXPECT_EQ(s.redis.command({"EXISTS", "ms:{" + ch + "}:retry:" + id}).integer, 0);
  EXPECT_EQ(s.redis.command({"EXISTS", "ms:{" + ch + "}:att:" + id}).integer, 0);
  groups = group_names(s.redis, ch);
  EXPECT_EQ(std::find(groups.begin(), groups.end(), id), groups.end()) << "the group is destroyed";
  // The channel's messages are not the subscription's: they stay.
  EXPECT_EQ(s.redis.command({"XLEN", "ms:{" + ch + "}:log"}).integer, 1);

  // Still gone a moment later (no instance writes its keys back).
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(s.redis.command({"EXISTS", stats_key}).integer, 0);
  groups = group_names(s.redis, ch);
  EXPECT_EQ(std::find(groups.begin(), groups.end(), id), groups.end());
}

TEST(SubscriptionApi, DeletingAPatternSubscriptionDestroysItsGroupOnEveryMatchingChannel) {
  DeliveryStack s;
  publish(*s.api, "orders.a", R"({"data":1})");
  publish(*s.api, "orders.b", R"({"data":1})");
  publish(*s.api, "users.a", R"({"data":1})");
  auto created = create_subscription(*s.api, {{"channel", "orders.*"}, {"endpoint", kEndpoint}});
  const std::string id = str_of(created, "id");
  auto has_group = [&](const std::string& ch) {
    auto g = group_names(s.redis, ch);
    return std::find(g.begin(), g.end(), id) != g.end();
  };
  EXPECT_TRUE(has_group("orders.a"));
  EXPECT_TRUE(has_group("orders.b"));
  EXPECT_FALSE(has_group("users.a"));
  // Another subscription's group on the same channel is not touched.
  auto other = create_subscription(*s.api, {{"channel", "orders.a"}, {"endpoint", kEndpoint}});

  ASSERT_EQ(s.api->del("/v1/subscriptions/" + id).status, 204);
  EXPECT_FALSE(has_group("orders.a"));
  EXPECT_FALSE(has_group("orders.b"));
  auto g = group_names(s.redis, "orders.a");
  EXPECT_NE(std::find(g.begin(), g.end(), str_of(other, "id")), g.end());
  std::this_thread::sleep_for(1200ms);  // a sweep later: no dispatcher recreated them
  EXPECT_FALSE(has_group("orders.a"));
  EXPECT_FALSE(has_group("orders.b"));
}

}  // namespace
}  // namespace ms::test
