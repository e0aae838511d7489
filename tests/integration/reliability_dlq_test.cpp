// Dead letters through the API (API.md "Subscriptions → Dead letters"): a message
// that failed retry.max_attempts times is listed with its envelope and history,
// the list pages with limit/after/next, replay delivers again with a fresh attempt
// count, purge empties the queue.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "support/delivery_harness.h"
#include "support/webhook_receiver.h"

namespace ms::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

struct DlqPage {
  std::vector<json::object> items;
  std::optional<std::string> next;
};

DlqPage list_page(HttpClient& api, const std::string& sub, const std::string& query = "") {
  auto r = api.get("/v1/subscriptions/" + sub + "/dead-letters" + query);
  if (r.status != 200) throw std::runtime_error("GET dead-letters" + query + " answered " + std::to_string(r.status) + " " + r.body);
  auto v = r.json();
  DlqPage p;
  for (const auto& d : v.at("dead_letters").as_array()) p.items.push_back(d.as_object());
  if (auto* n = v.as_object().if_contains("next"); n && !n->is_null()) p.next = std::string(n->as_string());
  return p;
}

std::int64_t post_count(HttpClient& api, const std::string& path, const std::string& body, const char* field) {
  auto r = api.post(path, body);
  if (r.status != 200) throw std::runtime_error("POST " + path + " answered " + std::to_string(r.status) + " " + r.body);
  return int_of(r.json(), field);
}

std::set<std::string> message_ids(const std::vector<json::object>& items) {
  std::set<std::string> out;
  for (const auto& d : items) out.insert(str_of(d.at("message"), "id"));
  return out;
}

// redis + service + an endpoint answering `status` (500 at first), a subscription with
// max_attempts 2 / 50 ms backoff, and five messages published and dead-lettered.
struct DeadLettered {
  std::atomic<int> status{500};
  DeliveryStack s{std::vector<std::string>{"--delivery-lease-ms", "300"}};
  WebhookReceiver hook;
  std::string ch = "dlq.events";
  std::string id;
  std::vector<json::object> published;  // publish answers, in order
  std::set<std::string> ids;

  DeadLettered() {
    hook.set_handler([this](const RecordedRequest&) { return webhook_response(status.load()); });
    id = str_of(create_subscription(*s.api, {{"channel", ch},
                                             {"endpoint", hook.url("/d")},
                                             {"retry", {{"max_attempts", 2}, {"initial_backoff_ms", 50}}}}),
                "id");
    json::array msgs;
    for (int i = 0; i < 5; ++i) msgs.push_back(json::object{{"channel", ch}, {"data", {{"n", i}}}, {"key", "k" + std::to_string(i)}});
    published = publish_batch(*s.api, msgs);
    for (const auto& p : published) ids.insert(str_of(p, "id"));
  }

  // True once all five are dead letters and nothing is owed any more.
  bool settle() {
    return wait_stat(*s.api, id, "dead_lettered", 5, 8s) && wait_stat(*s.api, id, "backlog", 0, 3s);
  }
};

TEST(ReliabilityDlq, DeadLettersAreListedWithTheirHistory) {
  DeadLettered t;
  ASSERT_TRUE(t.settle()) << json::serialize(subscription_stats(*t.s.api, t.id));
  EXPECT_EQ(t.hook.count(), 10u) << "two attempts per message";
  EXPECT_FALSE(t.hook.wait_for_count(11, 1s)) << "attempted after dead-lettering";

  auto page = list_page(*t.s.api, t.id);
  ASSERT_EQ(page.items.size(), 5u);
  EXPECT_FALSE(page.next) << *page.next;
  EXPECT_EQ(message_ids(page.items), t.ids);
  std::set<std::string> dlq_ids;
  for (const auto& d : page.items) {
    SCOPED_TRACE(json::serialize(d));
    ASSERT_TRUE(d.contains("id") && d.at("id").is_string());
    dlq_ids.insert(std::string(d.at("id").as_string()));
    const auto& m = d.at("message");
    ASSERT_TRUE(m.is_object()) << "message must be the envelope object";
    const auto mid = str_of(m, "id");
    const json::object* pub = nullptr;
    for (const auto& p : t.published) {
      if (str_of(p, "id") == mid) pub = &p;
    }
    ASSERT_NE(pub, nullptr);
    EXPECT_EQ(str_of(m, "channel"), t.ch);
    EXPECT_EQ(str_of(m, "position"), str_of(*pub, "position"));
    EXPECT_EQ(str_of(m, "published_at"), str_of(*pub, "published_at"));
    EXPECT_TRUE(m.as_object().contains("data"));
    EXPECT_TRUE(m.as_object().contains("key"));
    EXPECT_EQ(int_of(d, "attempts"), 2);
    ASSERT_TRUE(d.at("last_error").is_object());
    EXPECT_EQ(int_of(d.at("last_error"), "status"), 500);
    EXPECT_TRUE(d.at("last_error").at("at").is_string());
    EXPECT_TRUE(d.at("last_error").at("message").is_string());
    EXPECT_TRUE(d.at("dead_lettered_at").is_string());
    EXPECT_EQ(d.at("dead_lettered_at").as_string().size(), 24u) << "RFC 3339 UTC with milliseconds";
  }
  EXPECT_EQ(dlq_ids.size(), 5u) << "dead-letter ids are unique";
  auto st = subscription_stats(*t.s.api, t.id);
  EXPECT_EQ(st.at("delivered").to_number<std::int64_t>(), 0);
  EXPECT_EQ(st.at("failed_attempts").to_number<std::int64_t>(), 10);

  // Unknown subscription, bad limits.
  EXPECT_EQ(t.s.api->get("/v1/subscriptions/sub_nope/dead-letters").status, 404);
  EXPECT_EQ(t.s.api->post("/v1/subscriptions/sub_nope/dead-letters/replay", "{}").status, 404);
  EXPECT_EQ(t.s.api->del("/v1/subscriptions/sub_nope/dead-letters").status, 404);
  for (const std::string q : {"?limit=0", "?limit=1001", "?limit=x"}) {
    EXPECT_EQ(t.s.api->get("/v1/subscriptions/" + t.id + "/dead-letters" + q).status, 400) << q;
  }
}

TEST(ReliabilityDlq, ListPagesWithLimitAndNext) {
  DeadLettered t;
  ASSERT_TRUE(t.settle()) << json::serialize(subscription_stats(*t.s.api, t.id));
  auto p1 = list_page(*t.s.api, t.id, "?limit=2");
  ASSERT_EQ(p1.items.size(), 2u);
  ASSERT_TRUE(p1.next);
  auto p2 = list_page(*t.s.api, t.id, "?limit=2&after=" + *p1.next);
  ASSERT_EQ(p2.items.size(), 2u);
  ASSERT_TRUE(p2.next);
  auto p3 = list_page(*t.s.api, t.id, "?limit=2&after=" + *p2.next);
  ASSERT_EQ(p3.items.size(), 1u);
  EXPECT_FALSE(p3.next) << "next at the end: " << *p3.next;
  std::vector<json::object> all = p1.items;
  all.insert(all.end(), p2.items.begin(), p2.items.end());
  all.insert(all.end(), p3.items.begin(), p3.items.end());
  EXPECT_EQ(message_ids(all), t.ids) << "pages overlap or miss entries";
  // The pages are the full list, in the same order.
  auto whole = list_page(*t.s.api, t.id);
  ASSERT_EQ(whole.items.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(whole.items[i].at("id"), all[i].at("id")) << i;
  // A page that ends exactly at the end carries no next.
  auto exact = list_page(*t.s.api, t.id, "?limit=5");
  EXPECT_EQ(exact.items.size(), 5u);
  EXPECT_FALSE(exact.next);
  // A cursor that is not one is the caller's mistake (400), not Redis's (503).
  for (const char* bad : {"abc", "1-", "-1", "1-2-3"}) {
    auto r = t.s.api->get("/v1/subscriptions/" + t.id + "/dead-letters?after=" + bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
  }
}

TEST(ReliabilityDlq, ReplayDeliversAgainWithAFreshAttemptCount) {
  DeadLettered t;
  ASSERT_TRUE(t.settle()) << json::serialize(subscription_stats(*t.s.api, t.id));
  t.status = 200;  // the endpoint is fixed
  t.hook.clear();
  const std::string path = "/v1/subscriptions/" + t.id + "/dead-letters/replay";
  const std::string one = str_of(t.published[2], "id");

  // An id that is not a dead letter replays nothing.
  EXPECT_EQ(post_count(*t.s.api, path, R"({"ids":["01JDX3N6Y7Q8W2T4Z5A9B0C1D2"]})", "replayed"), 0);
  EXPECT_EQ(t.s.api->post(path, R"({"ids":"x"})").status, 400);
  EXPECT_EQ(t.s.api->post(path, R"([1])").status, 400);

  // One, by message id.
  EXPECT_EQ(post_count(*t.s.api, path, json::serialize(json::object{{"ids", {one}}}), "replayed"), 1);
  ASSERT_TRUE(t.hook.wait_for_count(1, 5s)) << "the replayed message was not delivered";
  EXPECT_FALSE(t.hook.wait_for_count(2, 1s)) << "more than the replayed message was delivered";
  auto reqs = t.hook.requests();
  EXPECT_EQ(reqs[0].header("webhook-id"), one);
  EXPECT_EQ(reqs[0].header("x-delivery-attempt"), "1") << "replay starts a fresh attempt count";
  EXPECT_EQ(str_of(reqs[0].json(), "id"), one);
  EXPECT_TRUE(wait_stat(*t.s.api, t.id, "delivered", 1, 3s));
  auto rest = list_page(*t.s.api, t.id);
  EXPECT_EQ(rest.items.size(), 4u);
  auto expected = t.ids;
  expected.erase(one);
  EXPECT_EQ(message_ids(rest.items), expected);
  EXPECT_EQ(stat_of(*t.s.api, t.id, "dead_lettered"), 4);

  // All the others with {}.
  EXPECT_EQ(post_count(*t.s.api, path, "{}", "replayed"), 4);
  ASSERT_TRUE(t.hook.wait_for_count(5, 5s)) << t.hook.count();
  EXPECT_FALSE(t.hook.wait_for_count(6, 1s)) << "delivered more than once";
  reqs = t.hook.requests();
  std::set<std::string> got;
  for (const auto& r : reqs) {
    got.insert(r.header("webhook-id"));
    EXPECT_EQ(r.header("x-delivery-attempt"), "1") << r.header("webhook-id");
  }
  EXPECT_EQ(got, t.ids);
  EXPECT_TRUE(list_page(*t.s.api, t.id).items.empty());
  EXPECT_TRUE(wait_stat(*t.s.api, t.id, "delivered", 5, 3s));
  auto st = subscription_stats(*t.s.api, t.id);
  SCOPED_TRACE(json::serialize(st));
  EXPECT_EQ(st.at("dead_lettered").to_number<std::int64_t>(), 0);
  EXPECT_EQ(st.at("backlog").to_number<std::int64_t>(), 0);
  // Nothing left to replay.
  EXPECT_EQ(post_count(*t.s.api, path, "{}", "replayed"), 0);
}

TEST(ReliabilityDlq, ReplayedMessageThatFailsAgainIsDeadLetteredAgain) {
  DeadLettered t;
  ASSERT_TRUE(t.settle()) << json::serialize(subscription_stats(*t.s.api, t.id));
  t.hook.clear();  // still answering 500
  const std::string one = str_of(t.published[0], "id");
  EXPECT_EQ(post_count(*t.s.api, "/v1/subscriptions/" + t.id + "/dead-letters/replay",
                       json::serialize(json::object{{"ids", {one}}}), "replayed"),
            1);
  ASSERT_TRUE(t.hook.wait_for_count(2, 5s)) << "a replay gets max_attempts attempts again";
  EXPECT_FALSE(t.hook.wait_for_count(3, 1s));
  auto reqs = t.hook.requests();
  EXPECT_EQ(reqs[0].header("x-delivery-attempt"), "1");
  EXPECT_EQ(reqs[1].header("x-delivery-attempt"), "2");
  ASSERT_TRUE(wait_stat(*t.s.api, t.id, "dead_lettered", 5, 3s));
  auto page = list_page(*t.s.api, t.id);
  EXPECT_EQ(message_ids(page.items), t.ids);
}

TEST(ReliabilityDlq, PurgeEmptiesTheQueue) {
  DeadLettered t;
  ASSERT_TRUE(t.settle()) << json::serialize(subscription_stats(*t.s.api, t.id));
  auto r = t.s.api->del("/v1/subscriptions/" + t.id + "/dead-letters");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(int_of(r.json(), "purged"), 5) << r.body;
  EXPECT_TRUE(list_page(*t.s.api, t.id).items.empty());
  EXPECT_EQ(stat_of(*t.s.api, t.id, "dead_lettered"), 0);
  auto again = t.s.api->del("/v1/subscriptions/" + t.id + "/dead-letters");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(int_of(again.json(), "purged"), 0);
  // Purged is gone: a replay finds nothing, and nothing is delivered.
  t.status = 200;
  t.hook.clear();
  EXPECT_EQ(post_count(*t.s.api, "/v1/subscriptions/" + t.id + "/dead-letters/replay", "{}", "replayed"), 0);
  EXPECT_FALSE(t.hook.wait_for_count(1, 1s));
  // The subscription still works.
  const auto m = str_of(publish(*t.s.api, t.ch, R"({"data":"after purge"})"), "id");
  ASSERT_TRUE(t.hook.wait_for_count(1, 5s));
  EXPECT_EQ(t.hook.requests()[0].header("webhook-id"), m);
}

}  // namespace
}  // namespace ms::test
