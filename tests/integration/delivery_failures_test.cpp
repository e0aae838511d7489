// Webhook delivery when the endpoint does not simply answer 200 (API.md "Webhook
// delivery" outcomes, docs/delivery.md step 6): retries with the same webhook-id
// and a growing x-delivery-attempt, dead letters after max_attempts or on request,
// 410 disabling the subscription, timeouts, and Retry-After.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <map>
#include <mutex>
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

constexpr auto kQuiet = 1500ms;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The DLQ stream entries of a subscription as field maps (docs/redis-keys.md ms:sub:<id>:dlq).
std::vector<std::map<std::string, std::string>> dead_letters(RedisServer& redis, const std::string& id) {
  auto r = redis.command({"XRANGE", "ms:sub:" + id + ":dlq", "-", "+"});
  std::vector<std::map<std::string, std::string>> out;
  for (const auto& e : r.elements) {
    std::map<std::string, std::string> m;
    const auto& f = e.elements.at(1);
    for (std::size_t i = 0; i + 1 < f.elements.size(); i += 2) m[f.elements[i].str] = f.elements[i + 1].str;
    out.push_back(std::move(m));
  }
  return out;
}

long long pending_count(RedisServer& redis, const std::string& channel, const std::string& group) {
  auto r = redis.command({"XPENDING", "ms:{" + channel + "}:log", group});
  if (!r.is_array() || r.elements.empty()) return -1;
  return r.elements[0].integer;
}

TEST(DeliveryRetry, FailedTwiceThenDeliveredWithTheSameIdAndGrowingAttempt) {
  DeliveryStack s;
  WebhookReceiver hook;
  std::mutex mu;
  std::map<std::string, int> seen;  // webhook-id → requests so far
  hook.set_handler([&](const RecordedRequest& r) {
    std::lock_guard lock(mu);
    return webhook_response(++seen[r.header("webhook-id")] <= 2 ? 500 : 200);
  });
  const std::string ch = "retry.events";
  auto sub = create_subscription(*s.api, {{"channel", ch},
                                          {"endpoint", hook.url("/r")},
                                          {"retry", {{"max_attempts", 3}, {"initial_backoff_ms", 100}}}});
  const std::string id = str_of(sub, "id");
  const std::string secret = str_of(sub, "secret");
  const auto m1 = str_of(publish(*s.api, ch, R"({"data":1})"), "id");
  const auto m2 = str_of(publish(*s.api, ch, R"({"data":2})"), "id");

  ASSERT_TRUE(hook.wait_for_count(6, 8s)) << hook.count();
  EXPECT_TRUE(wait_stat(*s.api, id, "delivered", 2, 5s));
  EXPECT_FALSE(hook.wait_for_count(7, 1s)) << "attempted again after success";

  for (const auto& msg : {m1, m2}) {
    SCOPED_TRACE("message " + msg);
    std::vector<RecordedRequest> tries;
    for (const auto& r : hook.requests()) {
      if (r.header("webhook-id") == msg) tries.push_back(r);
    }
    ASSERT_EQ(tries.size(), 3u);
    for (std::size_t i = 0; i < tries.size(); ++i) {
      EXPECT_EQ(tries[i].header("x-delivery-attempt"), std::to_string(i + 1));
      EXPECT_EQ(tries[i].body, tries[0].body) << "the same envelope on every attempt";
      EXPECT_TRUE(signature_matches(tries[i].header("webhook-signature"), secret, msg,
                                    tries[i].header("webhook-timestamp"), tries[i].body))
          << "attempt " << i + 1;
    }
    // Backoff 100 ms, then 200 ms, each ± 20 %.
    EXPECT_GE(tries[1].steady_ms - tries[0].steady_ms, 75);
    EXPECT_GE(tries[2].steady_ms - tries[1].steady_ms, 155);
  }
  auto st = subscription_stats(*s.api, id);
  SCOPED_TRACE(json::serialize(st));
  EXPECT_EQ(st.at("attempts").to_number<std::int64_t>(), 6);
  EXPECT_EQ(st.at("failed_attempts").to_number<std::int64_t>(), 4);
  EXPECT_EQ(st.at("dead_lettered").to_number<std::int64_t>(), 0);
  EXPECT_EQ(st.at("retrying").to_number<std::int64_t>(), 0);
  ASSERT_TRUE(st.at("last_error").is_object());
  EXPECT_EQ(st.at("last_error").at("status").to_number<int>(), 500);
  EXPECT_EQ(pending_count(s.redis, ch, id), 0);
  EXPECT_EQ(s.redis.command({"EXISTS", "ms:{" + ch + "}:att:" + id}).integer, 0) << "attempt records are dropped";
}

TEST(DeliveryRetry, AlwaysFailingIsDeadLetteredAfterMaxAttemptsAndThenLeftAlone) {
  DeliveryStack s;
  WebhookReceiver hook;
  hook.set_default_response(webhook_response(500));
  const std::string ch = "dead.events";
  auto sub = create_subscription(*s.api, {{"channel", ch},
                                          {"endpoint", hook.url("/x")},
                                          {"retry", {{"max_attempts", 3}, {"initial_backoff_ms", 100}}}});
  const std::string id = str_of(sub, "id");
  const auto msg = publish(*s.api, ch, R"({"data":"doomed"})");

  ASSERT_TRUE(hook.wait_for_count(3, 5s)) << hook.count();
  EXPECT_TRUE(wait_stat(*s.api, id, "dead_lettered", 1, 5s));
  EXPECT_FALSE(hook.wait_for_count(4, kQuiet)) << "attempted after being dead-lettered";
  auto reqs = hook.requests();
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(reqs[i].header("x-delivery-attempt"), std::to_string(i + 1));
    EXPECT_EQ(reqs[i].header("webhook-id"), str_of(msg, "id"));
  }
  auto st = subscription_stats(*s.api, id);
  SCOPED_TRACE(json::serialize(st));
  EXPECT_EQ(st.at("attempts").to_number<std::int64_t>(), 3);
  EXPECT_EQ(st.at("failed_attempts").to_number<std::int64_t>(), 3);
  EXPECT_EQ(st.at("delivered").to_number<std::int64_t>(), 0);
  EXPECT_EQ(st.at("backlog").to_number<std::int64_t>(), 0) << "a dead letter is no longer owed";
  EXPECT_EQ(st.at("in_flight").to_number<std::int64_t>(), 0);
  EXPECT_EQ(st.at("retrying").to_number<std::int64_t>(), 0);

  auto dl = dead_letters(s.redis, id);
  ASSERT_EQ(dl.size(), 1u);
  EXPECT_EQ(dl[0]["attempts"], "3");
  EXPECT_EQ(dl[0]["channel"], ch);
  EXPECT_EQ(dl[0]["entry_id"], str_of(msg, "position"));
  EXPECT_EQ(json::parse(dl[0]["message"]).at("id"), json::value(str_of(msg, "id")));
  EXPECT_EQ(pending_count(s.redis, ch, id), 0) << "acknowledged after the dead letter";
  EXPECT_EQ(s.redis.command({"ZCARD", "ms:{" + ch + "}:retry:" + id}).integer, 0);
}

TEST(DeliveryRetry, DeadLetterHeaderOnA2xxDeadLettersAtOnce) {
  DeliveryStack s;
  WebhookReceiver hook;
  hook.set_default_response(webhook_response(
      200, 0ms, {{"webhook-delivery", "dead-letter"}, {"webhook-delivery-reason", "schema mismatch"}}));
  const std::string ch = "reject.events";
  auto sub = create_subscription(*s.api, {{"channel", ch}, {"endpoint", hook.url("/x")}});
  const std::string id = str_of(sub, "id");
  publish(*s.api, ch, R"({"data":"unwanted"})");

  ASSERT_TRUE(hook.wait_for_count(1, 5s));
  EXPECT_TRUE(wait_stat(*s.api, id, "dead_lettered", 1, 5s));
  EXPECT_FALSE(hook.wait_for_count(2, kQuiet)) << "one attempt only";
  EXPECT_EQ(stat_of(*s.api, id, "delivered"), 0);
  EXPECT_EQ(stat_of(*s.api, id, "backlog"), 0);
  auto dl = dead_letters(s.redis, id);
  ASSERT_EQ(dl.size(), 1u);
  EXPECT_NE(dl[0]["last_error"].find("schema mismatch"), std::string::npos) << dl[0]["last_error"];
  EXPECT_EQ(dl[0]["attempts"], "1");
}

TEST(DeliveryGone, Answer410DisablesTheSubscriptionUntilReEnabled) {
  DeliveryStack s;
  WebhookReceiver hook;
  std::atomic<int> status{410};
  hook.set_handler([&](const RecordedRequest&) { return webhook_response(status.load()); });
  const std::string ch = "gone.events";
  auto sub = create_subscription(*s.api, {{"channel", ch}, {"endpoint", hook.url("/g")}});
  const std::string id = str_of(sub, "id");
  const auto first = str_of(publish(*s.api, ch, R"({"data":1})"), "id");

  ASSERT_TRUE(hook.wait_for_count(1, 5s));
  ASSERT_TRUE(poll_until([&] { return str_of(get_subscription(*s.api, id), "state") == "disabled"; }, 5s))
      << json::serialize(get_subscription(*s.api, id));
  auto got = get_subscription(*s.api, id);
  SCOPED_TRACE(json::serialize(got));
  const auto& last_error = got.at("stats").at("last_error");
  ASSERT_TRUE(last_error.is_object());
  EXPECT_EQ(last_error.at("status").to_number<int>(), 410);
  EXPECT_FALSE(last_error.at("message").as_string().empty());

  // Disabled: nothing more is sent, new messages wait too.
  const auto second = str_of(publish(*s.api, ch, R"({"data":2})"), "id");
  EXPECT_FALSE(hook.wait_for_count(2, kQuiet)) << "delivered while disabled";

  // Re-enabled: the waiting messages are delivered.
  status = 200;
  EXPECT_EQ(str_of(patch_subscription(*s.api, id, {{"state", "active"}}), "state"), "active");
  ASSERT_TRUE(hook.wait_for_count(3, 5s)) << hook.count();
  auto ids = received_ids(hook);
  EXPECT_EQ(ids[0], first);
  EXPECT_EQ(std::set<std::string>(ids.begin() + 1, ids.end()), (std::set<std::string>{first, second}));
  EXPECT_TRUE(wait_stat(*s.api, id, "delivered", 2, 5s));
  EXPECT_FALSE(hook.wait_for_count(4, 500ms));
  EXPECT_EQ(str_of(get_subscription(*s.api, id), "state"), "active");
}

// A 410 arrives after the subscription was changed (here: moved to a new
// endpoint while the old one was still answering). The dispatcher writes
// "disabled" back only onto the version it delivered with, so the change wins:
// the subscription stays active and the message goes to the new endpoint.
TEST(DeliveryGone, A410FromTheOldEndpointDoesNotUndoAChangeMadeMeanwhile) {
  DeliveryStack s;
  WebhookReceiver hook;
  hook.set_handler([&](const RecordedRequest& r) {
    if (r.target.rfind("/old", 0) == 0) return webhook_response(410, 600ms);
    return webhook_response(200);
  });
  const std::string ch = "gone.race";
  const auto id = str_of(create_subscription(*s.api, {{"channel", ch}, {"endpoint", hook.url("/old")}}), "id");
  const auto msg = str_of(publish(*s.api, ch, R"({"data":1})"), "id");
  ASSERT_TRUE(hook.wait_for_count(1, 5s));  // the old endpoint has it and answers 410 in 600 ms
  auto patched = patch_subscription(*s.api, id, {{"endpoint", hook.url("/new")}, {"description", "moved"}});
  EXPECT_EQ(str_of(patched, "endpoint"), hook.url("/new"));
  // The 410 lands after the PATCH.
  ASSERT_TRUE(wait_for_path_count(hook, "/new", 1, 10s)) << "not delivered to the new endpoint; subscription "
                                                         << json::serialize(get_subscription(*s.api, id));
  auto got = get_subscription(*s.api, id);
  EXPECT_EQ(str_of(got, "state"), "active") << json::serialize(got);
  EXPECT_EQ(str_of(got, "endpoint"), hook.url("/new"));
  EXPECT_EQ(str_of(got, "description"), "moved");
  EXPECT_EQ(received_ids(hook, "/new"), std::vector<std::string>{msg});
}

TEST(DeliveryTimeout, SlowEndpointIsAFailedAttemptAndRetried) {
  DeliveryStack s;
  WebhookReceiver hook;
  std::atomic<int> calls{0};
  hook.set_handler([&](const RecordedRequest&) {
    if (calls.fetch_add(1) == 0) return webhook_response(200, 2s);  // too late
    return webhook_response(200);
  });
  const std::string ch = "slow.events";
  auto sub = create_subscription(*s.api, {{"channel", ch},
                                          {"endpoint", hook.url("/s")},
                                          {"timeout_ms", 300},
                                          {"retry", {{"max_attempts", 3}, {"initial_backoff_ms", 100}}}});
  const std::string id = str_of(sub, "id");
  const auto msg = str_of(publish(*s.api, ch, R"({"data":1})"), "id");

  ASSERT_TRUE(hook.wait_for_count(2, 4s)) << "not retried after the timeout";
  auto reqs = hook.requests();
  EXPECT_EQ(reqs[1].header("webhook-id"), msg);
  EXPECT_EQ(reqs[1].header("x-delivery-attempt"), "2");
  // Retried after timeout + backoff, not after the endpoint's 2 s.
  EXPECT_GE(reqs[1].steady_ms - reqs[0].steady_ms, 300 + 75);
  EXPECT_LT(reqs[1].steady_ms - reqs[0].steady_ms, 1900);

  EXPECT_TRUE(wait_stat(*s.api, id, "delivered", 1, 5s));
  auto st = subscription_stats(*s.api, id);
  SCOPED_TRACE(json::serialize(st));
  EXPECT_EQ(st.at("failed_attempts").to_number<std::int64_t>(), 1);
  EXPECT_EQ(st.at("attempts").to_number<std::int64_t>(), 2);
  ASSERT_TRUE(st.at("last_error").is_object());
  EXPECT_NE(lower(std::string(st.at("last_error").at("message").as_string())).find("timeout"), std::string::npos);
  // The late 200 of the first attempt must not count as a second delivery.
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(stat_of(*s.api, id, "delivered"), 1);
  EXPECT_EQ(hook.count(), 2u);
}

TEST(DeliveryRetry, RetryAfterOn503IsRespected) {
  DeliveryStack s;
  WebhookReceiver hook;
  std::atomic<int> calls{0};
  hook.set_handler([&](const RecordedRequest&) {
    if (calls.fetch_add(1) == 0) return webhook_response(503, 0ms, {{"retry-after", "1"}});
    return webhook_response(200);
  });
  const std::string ch = "busy.events";
  auto sub = create_subscription(*s.api, {{"channel", ch},
                                          {"endpoint", hook.url("/b")},
                                          {"retry", {{"max_attempts", 3}, {"initial_backoff_ms", 50}}}});
  publish(*s.api, ch, R"({"data":1})");
  ASSERT_TRUE(hook.wait_for_count(2, 5s));
  auto reqs = hook.requests();
  EXPECT_GE(reqs[1].steady_ms - reqs[0].steady_ms, 1000) << "retried sooner than Retry-After: 1";
  EXPECT_EQ(reqs[1].header("x-delivery-attempt"), "2");
  EXPECT_TRUE(wait_stat(*s.api, str_of(sub, "id"), "delivered", 1, 5s));
}

}  // namespace
}  // namespace ms::test
