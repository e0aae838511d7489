// Explicit acknowledgments (API.md "Subscriptions → Acknowledge", docs/delivery.md
// step 6 "Explicit ack mode: the lease becomes the ack deadline"): a 2xx means
// "received", the message is done only when acknowledged; without an ack it is
// delivered again after ack_deadline_ms as a new attempt; a nack retries it after
// delay_ms as a failed attempt; unknown ids are reported, not errors.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "support/delivery_harness.h"
#include "support/webhook_receiver.h"

namespace ms::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// Short leases so nothing in these tests waits on the 60 s default.
const std::vector<std::string> kArgs = {"--delivery-lease-ms", "300"};

std::int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// POST path with a raw body → (status, parsed body or null when not JSON).
std::pair<int, json::value> post_raw(HttpClient& api, const std::string& path, const std::string& body) {
  auto r = api.post(path, body);
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  return {r.status, ec ? json::value(nullptr) : v};
}

json::object ack(HttpClient& api, const std::string& sub, const json::array& ids) {
  auto [status, body] = post_raw(api, "/v1/subscriptions/" + sub + "/ack", json::serialize(json::object{{"ids", ids}}));
  if (status != 200 || !body.is_object()) {
    throw std::runtime_error("ack answered " + std::to_string(status) + " " + json::serialize(body));
  }
  return body.as_object();
}

json::object nack(HttpClient& api, const std::string& sub, const json::array& ids, std::int64_t delay_ms) {
  auto [status, body] = post_raw(api, "/v1/subscriptions/" + sub + "/nack",
                                 json::serialize(json::object{{"ids", ids}, {"delay_ms", delay_ms}}));
  if (status != 200 || !body.is_object()) {
    throw std::runtime_error("nack answered " + std::to_string(status) + " " + json::serialize(body));
  }
  return body.as_object();
}

std::vector<std::string> strings_of(const json::object& o, const char* field) {
  std::vector<std::string> out;
  if (auto* a = o.if_contains(field); a && a->is_array()) {
    for (const auto& v : a->as_array()) out.emplace_back(v.is_string() ? std::string(v.as_string()) : json::serialize(v));
  }
  return out;
}

// The service writes the "awaiting an ack" record and then stats.last_delivery_at
// after it has the endpoint's 2xx (docs/delivery.md step 6). Waiting for it makes
// "2xx, then POST ack" exact rather than a race with the service reading the answer.
bool wait_received_2xx(HttpClient& api, const std::string& sub) {
  return poll_until([&] { return !subscription_stats(api, sub).at("last_delivery_at").is_null(); }, 5s);
}

json::object explicit_sub(HttpClient& api, const WebhookReceiver& hook, const std::string& ch,
                          std::int64_t deadline_ms = 1000, json::object extra = {}) {
  json::object body{{"channel", ch},
                    {"endpoint", hook.url("/a")},
                    {"ack_mode", "explicit"},
                    {"ack_deadline_ms", deadline_ms},
                    {"timeout_ms", 1000}};
  for (auto& [k, v] : extra) body[k] = v;
  auto sub = create_subscription(api, body);
  EXPECT_EQ(str_of(sub, "ack_mode"), "explicit");
  return sub;
}

TEST(ReliabilityAck, AckedMessageIsNotDeliveredAgainAfterTheDeadline) {
  DeliveryStack s(kArgs);
  WebhookReceiver hook;
  const std::string ch = "ack.done";
  const auto id = str_of(explicit_sub(*s.api, hook, ch), "id");
  const auto msg = str_of(publish(*s.api, ch, R"({"data":{"n":1}})"), "id");

  ASSERT_TRUE(hook.wait_for_count(1, 5s));
  ASSERT_TRUE(wait_received_2xx(*s.api, id));
  EXPECT_EQ(stat_of(*s.api, id, "delivered"), 0) << "a 2xx alone only means received in explicit mode";
  auto r = ack(*s.api, id, {json::value(msg)});
  EXPECT_EQ(r.at("acked"), json::value(1)) << json::serialize(r);
  EXPECT_TRUE(strings_of(r, "unknown").empty()) << json::serialize(r);

  // Twice the deadline: no second attempt.
  EXPECT_FALSE(hook.wait_for_count(2, 2s)) << "delivered again although acknowledged";
  auto st = subscription_stats(*s.api, id);
  SCOPED_TRACE(json::serialize(st));
  EXPECT_EQ(st.at("delivered").to_number<std::int64_t>(), 1);
  EXPECT_EQ(st.at("backlog").to_number<std::int64_t>(), 0);
  EXPECT_EQ(st.at("in_flight").to_number<std::int64_t>(), 0);
  EXPECT_EQ(st.at("dead_lettered").to_number<std::int64_t>(), 0);
  EXPECT_EQ(s.redis.command({"ZCARD", "ms:{" + ch + "}:retry:" + id}).integer, 0) << "lease left behind";

  // A second ack of the same message: no longer awaiting, so unknown.
  auto again = ack(*s.api, id, {json::value(msg)});
  EXPECT_EQ(again.at("acked"), json::value(0)) << json::serialize(again);
  EXPECT_EQ(strings_of(again, "unknown"), std::vector<std::string>{msg});
  EXPECT_EQ(stat_of(*s.api, id, "delivered"), 1) << "a repeated ack counted twice";
}

TEST(ReliabilityAck, UnacknowledgedIsDeliveredAgainAfterTheDeadline) {
  DeliveryStack s(kArgs);
  WebhookReceiver hook;
  const std::string ch = "ack.missing";
  auto sub = explicit_sub(*s.api, hook, ch);
  const auto id = str_of(sub, "id");
  const auto msg = str_of(publish(*s.api, ch, R"({"data":"again"})"), "id");

  ASSERT_TRUE(hook.wait_for_count(2, 5s)) << "not delivered again after ack_deadline_ms; got " << hook.count();
  auto reqs = hook.requests();
  const auto gap = reqs[1].steady_ms - reqs[0].steady_ms;
  EXPECT_GE(gap, 900) << "delivered again before the 1000 ms deadline";
  EXPECT_LT(gap, 2500) << "deadline redelivery much later than 1000 ms";
  EXPECT_EQ(reqs[0].header("x-delivery-attempt"), "1");
  EXPECT_EQ(reqs[1].header("x-delivery-attempt"), "2");
  EXPECT_EQ(reqs[0].header("webhook-id"), msg);
  EXPECT_EQ(reqs[1].header("webhook-id"), msg) << "the same webhook-id on every attempt";
  EXPECT_EQ(reqs[1].body, reqs[0].body);
  EXPECT_TRUE(signature_matches(reqs[1].header("webhook-signature"), str_of(sub, "secret"), msg,
                                reqs[1].header("webhook-timestamp"), reqs[1].body));

  // Acknowledging the second delivery ends it.
  ASSERT_TRUE(poll_until([&] { return ack(*s.api, id, {json::value(msg)}).at("acked") == json::value(1); }, 3s));
  EXPECT_FALSE(hook.wait_for_count(3, 1500ms)) << "delivered after the ack";
  EXPECT_EQ(stat_of(*s.api, id, "delivered"), 1);
  // The missed deadline was a failed attempt, with the reason on record.
  auto st = subscription_stats(*s.api, id);
  SCOPED_TRACE(json::serialize(st));
  EXPECT_EQ(st.at("failed_attempts").to_number<std::int64_t>(), 1);
  ASSERT_TRUE(st.at("last_error").is_object());
  EXPECT_EQ(st.at("last_error").at("message"), json::value("ack deadline expired"));
}

TEST(ReliabilityAck, NackWithDelayIsDeliveredAgainAfterTheDelay) {
  DeliveryStack s(kArgs);
  WebhookReceiver hook;
  const std::string ch = "ack.nacked";
  // A 5 s deadline: a redelivery within ~2 s can only come from the nack.
  const auto id = str_of(explicit_sub(*s.api, hook, ch, 5000), "id");
  const auto msg = str_of(publish(*s.api, ch, R"({"data":"later"})"), "id");

  ASSERT_TRUE(hook.wait_for_count(1, 5s));
  ASSERT_TRUE(wait_received_2xx(*s.api, id));
  const auto nacked_at = steady_now_ms();
  auto r = nack(*s.api, id, {json::value(msg)}, 500);
  EXPECT_EQ(r.at("nacked"), json::value(1)) << json::serialize(r);
  EXPECT_TRUE(strings_of(r, "unknown").empty()) << json::serialize(r);

  ASSERT_TRUE(hook.wait_for_count(2, 3s)) << "not delivered again after the nack";
  auto reqs = hook.requests();
  EXPECT_GE(reqs[1].steady_ms - nacked_at, 500) << "delivered again before delay_ms";
  EXPECT_LT(reqs[1].steady_ms - nacked_at, 2000);
  EXPECT_EQ(reqs[1].header("webhook-id"), msg);
  // (Its x-delivery-attempt is checked in NackedRedeliveryIsTheNextAttempt.)
  auto st = subscription_stats(*s.api, id);
  SCOPED_TRACE(json::serialize(st));
  EXPECT_EQ(st.at("failed_attempts").to_number<std::int64_t>(), 1) << "a nack counts as a failed attempt";
  EXPECT_EQ(st.at("delivered").to_number<std::int64_t>(), 0);

  ASSERT_TRUE(wait_received_2xx(*s.api, id));
  ASSERT_TRUE(poll_until([&] { return ack(*s.api, id, {json::value(msg)}).at("acked") == json::value(1); }, 3s));
  EXPECT_TRUE(wait_stat(*s.api, id, "delivered", 1, 2s));
  EXPECT_EQ(stat_of(*s.api, id, "failed_attempts"), 1) << "the nack only: no expired deadline on top";
}

// A nack turns the attempt that got the 2xx into a failed one; the redelivery is the
// next attempt (x-delivery-attempt 2), and with max_attempts 2 a message nacked once
// still gets that second attempt instead of going straight to the dead letters.
// (Regression test: a nack once added a second attempt for the one made.)
TEST(ReliabilityAck, NackedRedeliveryIsTheNextAttempt) {
  DeliveryStack s(kArgs);
  WebhookReceiver hook;
  const std::string ch = "ack.nack2";
  const auto id = str_of(explicit_sub(*s.api, hook, ch, 5000, {{"retry", {{"max_attempts", 2}}}}), "id");
  const auto msg = str_of(publish(*s.api, ch, R"({"data":1})"), "id");
  ASSERT_TRUE(hook.wait_for_count(1, 5s));
  ASSERT_TRUE(wait_received_2xx(*s.api, id));
  EXPECT_EQ(nack(*s.api, id, {json::value(msg)}, 0).at("nacked"), json::value(1));
  ASSERT_TRUE(hook.wait_for_count(2, 3s)) << "dead-lettered after a single nack: "
                                          << json::serialize(subscription_stats(*s.api, id));
  auto reqs = hook.requests();
  EXPECT_EQ(reqs[1].header("webhook-id"), msg);
  EXPECT_EQ(reqs[1].header("x-delivery-attempt"), "2");
  EXPECT_EQ(stat_of(*s.api, id, "dead_lettered"), 0);
  ASSERT_TRUE(wait_received_2xx(*s.api, id));
  ASSERT_TRUE(poll_until([&] { return ack(*s.api, id, {json::value(msg)}).at("acked") == json::value(1); }, 3s));
  EXPECT_TRUE(wait_stat(*s.api, id, "delivered", 1, 2s));
}

TEST(ReliabilityAck, UnknownIdsAreReportedNotErrors) {
  DeliveryStack s(kArgs);
  WebhookReceiver hook;
  const std::string ch = "ack.unknown";
  const auto id = str_of(explicit_sub(*s.api, hook, ch, 5000), "id");
  const std::string bogus1 = "01JDX3N6Y7Q8W2T4Z5A9B0C1D2";
  const std::string bogus2 = "not-a-message";

  auto r = ack(*s.api, id, {json::value(bogus1), json::value(bogus2)});
  EXPECT_EQ(r.at("acked"), json::value(0)) << json::serialize(r);
  EXPECT_EQ(strings_of(r, "unknown"), (std::vector<std::string>{bogus1, bogus2}));
  auto n = nack(*s.api, id, {json::value(bogus1)}, 0);
  EXPECT_EQ(n.at("nacked"), json::value(0)) << json::serialize(n);
  EXPECT_EQ(strings_of(n, "unknown"), std::vector<std::string>{bogus1});
  auto empty = ack(*s.api, id, json::array{});
  EXPECT_EQ(empty.at("acked"), json::value(0)) << json::serialize(empty);
  EXPECT_TRUE(strings_of(empty, "unknown").empty());

  // Mixed: the awaiting one is acked, the other is listed.
  const auto msg = str_of(publish(*s.api, ch, R"({"data":1})"), "id");
  ASSERT_TRUE(hook.wait_for_count(1, 5s));
  ASSERT_TRUE(wait_received_2xx(*s.api, id));
  auto mixed = ack(*s.api, id, {json::value(bogus1), json::value(msg)});
  EXPECT_EQ(mixed.at("acked"), json::value(1)) << json::serialize(mixed);
  EXPECT_EQ(strings_of(mixed, "unknown"), std::vector<std::string>{bogus1});
  EXPECT_TRUE(wait_stat(*s.api, id, "delivered", 1, 2s));
}

TEST(ReliabilityAck, MalformedBodiesAre400) {
  DeliveryStack s(kArgs);
  WebhookReceiver hook;
  const auto id = str_of(explicit_sub(*s.api, hook, "ack.bad"), "id");
  for (const std::string route : {"ack", "nack"}) {
    for (const std::string body : {R"([1,2])", R"("ids")", R"({"ids":"01JDX3N6Y7Q8W2T4Z5A9B0C1D2"})",
                                   R"({"ids":{"a":1}})", R"({"ids":[1,2]})", R"({"ids":[null]})", R"({)", R"({})"}) {
      SCOPED_TRACE(route + " " + body);
      auto r = s.api->post("/v1/subscriptions/" + id + "/" + route, body);
      EXPECT_EQ(r.status, 400) << r.body;
      boost::system::error_code ec;
      auto v = json::parse(r.body, ec);
      ASSERT_FALSE(ec) << r.body;
      ASSERT_TRUE(v.is_object() && v.as_object().contains("error")) << r.body;
      EXPECT_EQ(v.at("error").at("code"), json::value("invalid_argument")) << r.body;
    }
  }
  for (const std::string body : {R"({"ids":[],"delay_ms":-1})", R"({"ids":[],"delay_ms":"500"})",
                                 R"({"ids":[],"delay_ms":1.5})"}) {
    SCOPED_TRACE(body);
    auto r = s.api->post("/v1/subscriptions/" + id + "/nack", body);
    EXPECT_EQ(r.status, 400) << r.body;
  }
}

TEST(ReliabilityAck, UnknownSubscriptionIs404) {
  DeliveryStack s(kArgs);
  for (const std::string route : {"ack", "nack"}) {
    SCOPED_TRACE(route);
    auto r = s.api->post("/v1/subscriptions/sub_doesnotexist/" + route, R"({"ids":["01JDX3N6Y7Q8W2T4Z5A9B0C1D2"]})");
    EXPECT_EQ(r.status, 404) << r.body;
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    ASSERT_TRUE(v.is_object() && v.as_object().contains("error")) << r.body;
    EXPECT_EQ(v.at("error").at("code"), json::value("not_found")) << r.body;
  }
}

TEST(ReliabilityAck, NeverAcknowledgedIsDeadLetteredAfterTheLastDeadline) {
  DeliveryStack s(kArgs);
  WebhookReceiver hook;
  const std::string ch = "ack.never";
  const auto id =
      str_of(explicit_sub(*s.api, hook, ch, 1000, {{"retry", {{"max_attempts", 2}, {"initial_backoff_ms", 50}}}}), "id");
  const auto msg = str_of(publish(*s.api, ch, R"({"data":"ignored"})"), "id");

  ASSERT_TRUE(hook.wait_for_count(2, 5s)) << hook.count();
  const auto second = hook.requests()[1];
  EXPECT_EQ(second.header("x-delivery-attempt"), "2");
  // Not before the second deadline...
  ASSERT_TRUE(poll_until([&] { return stat_of(*s.api, id, "dead_lettered") == 1; }, 5s))
      << json::serialize(subscription_stats(*s.api, id));
  EXPECT_GE(steady_now_ms() - second.steady_ms, 900) << "dead-lettered before the 2nd ack deadline expired";
  // ...and never delivered a third time.
  EXPECT_FALSE(hook.wait_for_count(3, 1500ms)) << "a third attempt with max_attempts 2";

  auto r = s.api->get("/v1/subscriptions/" + id + "/dead-letters");
  ASSERT_EQ(r.status, 200) << r.body;
  auto dl = r.json().at("dead_letters").as_array();
  ASSERT_EQ(dl.size(), 1u) << r.body;
  EXPECT_EQ(dl[0].at("message").at("id"), json::value(msg)) << r.body;
  EXPECT_EQ(dl[0].at("attempts"), json::value(2)) << r.body;
  auto st = subscription_stats(*s.api, id);
  SCOPED_TRACE(json::serialize(st));
  EXPECT_EQ(st.at("delivered").to_number<std::int64_t>(), 0);
  EXPECT_EQ(st.at("backlog").to_number<std::int64_t>(), 0);
  // Once dead-lettered, an ack for it is unknown.
  auto late = ack(*s.api, id, {json::value(msg)});
  EXPECT_EQ(late.at("acked"), json::value(0)) << json::serialize(late);
}

}  // namespace
}  // namespace ms::test
