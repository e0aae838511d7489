// Helpers shared by the subscription and delivery integration tests
// (tests/integration/subscription_*.cpp, delivery_*.cpp): a redis-server plus the
// service, the subscription and publish calls of API.md as one-liners, bounded
// polling, and an independent check of the Standard Webhooks signature.
//
//   DeliveryStack s;                               // redis-server + service, both ready
//   WebhookReceiver hook;
//   auto sub = create_subscription(*s.api, {{"channel", "orders.created"}, {"endpoint", hook.url("/h")}});
//   publish(*s.api, "orders.created", R"({"data":1})");
//   ASSERT_TRUE(hook.wait_for_count(1, 5s));
//
// The API helpers throw std::runtime_error (with the answer) when the service does
// not answer as the contract says, so a test fails with the reason. Everything
// here runs on the test thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "support/http_client.h"
#include "support/redis_server.h"
#include "support/service_process.h"
#include "support/webhook_receiver.h"

namespace ms::test {

// Calls pred every `every` until it returns true (true) or `timeout` passes (false).
bool poll_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = std::chrono::milliseconds(25));

// A redis-server and one service (ready: /readyz = 200) on it, private to a test.
struct DeliveryStack {
  RedisServer redis;
  std::optional<ServiceProcess> svc;
  std::optional<HttpClient> api;

  explicit DeliveryStack(std::vector<std::string> service_args = {});
};

// ---- API calls (throw std::runtime_error on an unexpected answer) ------------------

// POST /v1/subscriptions → the 201 body.
boost::json::object create_subscription(HttpClient& api, const boost::json::object& body);
// GET /v1/subscriptions/{id} → the 200 body.
boost::json::object get_subscription(HttpClient& api, const std::string& id);
// PATCH /v1/subscriptions/{id} → the 200 body.
boost::json::object patch_subscription(HttpClient& api, const std::string& id, const boost::json::object& body);
// The "stats" object of GET /v1/subscriptions/{id}.
boost::json::object subscription_stats(HttpClient& api, const std::string& id);
// One integer counter of stats (0 when absent or not an integer).
std::int64_t stat_of(HttpClient& api, const std::string& id, const std::string& field);
// Polls until stats.<field> == expected and it stays so for `settle`; false on timeout.
bool wait_stat(HttpClient& api, const std::string& id, const std::string& field, std::int64_t expected,
               std::chrono::milliseconds timeout, std::chrono::milliseconds settle = std::chrono::milliseconds(0));

// POST /v1/channels/{channel}/messages with a JSON body → the 201 body.
boost::json::object publish(HttpClient& api, const std::string& channel, const std::string& body,
                            const HttpHeaders& headers = {});
// POST /v1/messages/batch {"messages": messages} → results, all of which must be successes.
std::vector<boost::json::object> publish_batch(HttpClient& api, const boost::json::array& messages);

// ---- small JSON helpers --------------------------------------------------------------

std::string str_of(const boost::json::value& v, const char* field);  // throws if absent / not a string
std::int64_t int_of(const boost::json::value& v, const char* field);  // throws if absent / not an integer

// ---- Standard Webhooks signature, computed independently of src/ ---------------------

// Standard base64 (with padding); nullopt when `text` is not valid base64.
std::optional<std::string> decode_base64(const std::string& text);
std::string encode_base64(const std::string& bytes);
// "v1," + base64(HMAC-SHA256(base64-decoded secret after "whsec_", id + "." + timestamp + "." + body)).
// Empty when the secret is malformed.
std::string expected_signature(const std::string& secret, const std::string& id, const std::string& timestamp,
                               const std::string& body);
// True if one of the space-separated signatures in `header` is the expected one.
bool signature_matches(const std::string& header, const std::string& secret, const std::string& id,
                       const std::string& timestamp, const std::string& body);

// ---- Redis inspection ------------------------------------------------------------------

// Names of the consumer groups on ms:{<channel>}:log (empty when the stream is absent).
std::vector<std::string> group_names(RedisServer& redis, const std::string& channel);

// ---- what a WebhookReceiver got ----------------------------------------------------

// The webhook-id of every request so far, in arrival order; only requests whose
// target starts with `path_prefix` when it is given.
std::vector<std::string> received_ids(const WebhookReceiver& hook, const std::string& path_prefix = "");
// How many requests so far have a target starting with `path_prefix`.
std::size_t received_count(const WebhookReceiver& hook, const std::string& path_prefix);
// Polls until at least n requests with that target prefix arrived; false on timeout.
bool wait_for_path_count(const WebhookReceiver& hook, const std::string& path_prefix, std::size_t n,
                         std::chrono::milliseconds timeout);

// A scripted answer (WebhookResponse without designated initializers, which
// -Wmissing-field-initializers rejects when fields are left out).
WebhookResponse webhook_response(int status, std::chrono::milliseconds delay = std::chrono::milliseconds(0),
                                 std::map<std::string, std::string> headers = {});

// Unix time now, in ms.
std::int64_t unix_now_ms();

}  // namespace ms::test
