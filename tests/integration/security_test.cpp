// Issue "Security": API keys and scopes, the ownership of subscriptions, the
// per-key rate limit, the refusal to serve a non-loopback address without keys,
// and the SSRF guard as a subscriber sees it (API.md "Conventions", "Security").
// Each test starts its own redis-server and service.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "support/child_process.h"
#include "support/delivery_harness.h"

namespace ms::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

const std::vector<std::string> kKeys = {"--api-key",     "pub-secret:publish", "--api-key", "sub-a:subscribe",
                                        "--api-key",     "sub-b:subscribe",    "--api-key", "root-secret:admin",
                                        "--endpoint-allow", "127.0.0.0/8"};

HttpHeaders bearer(const std::string& key) { return {{"authorization", "Bearer " + key}}; }

// The contract's error shape with this status and code; returns the error object.
json::object expect_error(const HttpResponse& r, int status, const std::string& code) {
  SCOPED_TRACE("answer " + std::to_string(r.status) + " " + r.body);
  EXPECT_EQ(r.status, status);
  json::value v;
  EXPECT_NO_THROW(v = r.json());
  if (!v.is_object() || !v.as_object().contains("error") || !v.as_object().at("error").is_object()) {
    ADD_FAILURE() << "not the error shape";
    return {};
  }
  const auto& e = v.as_object().at("error").as_object();
  EXPECT_EQ(e.contains("code") ? std::string(e.at("code").as_string()) : "", code);
  EXPECT_TRUE(e.contains("message") && e.at("message").is_string() && !e.at("message").as_string().empty());
  return e;
}

std::string sub_body(const std::string& endpoint = "http://127.0.0.1:9/h") {
  return json::serialize(json::object{{"channel", "orders.created"}, {"endpoint", endpoint}});
}

// ---- API keys ------------------------------------------------------------------------

TEST(SecurityKeys, MissingMalformedOrWrongKeyIs401AndNothingIsStored) {
  DeliveryStack s(kKeys);
  const std::string path = "/v1/channels/orders.created/messages";
  for (const HttpHeaders& h : {HttpHeaders{}, HttpHeaders{{"authorization", "pub-secret"}},
                               HttpHeaders{{"authorization", "Basic cHViLXNlY3JldA=="}}, bearer("pub-secre"),
                               bearer("pub-secret2"), bearer("PUB-SECRET")}) {
    SCOPED_TRACE(h.empty() ? std::string("no header") : h.front().second);
    auto r = s.api->post(path, R"({"data":1})", h);
    expect_error(r, 401, "unauthenticated");
    EXPECT_NE(r.header("www-authenticate").find("Bearer"), std::string::npos);
    expect_error(s.api->get("/v1/subscriptions", h), 401, "unauthenticated");
  }
  EXPECT_EQ(s.redis.command({"EXISTS", "ms:{orders.created}:log"}).integer, 0) << "a refused publish stored nothing";
  // The right key works.
  EXPECT_EQ(s.api->post(path, R"({"data":1})", bearer("pub-secret")).status, 201);
}

TEST(SecurityKeys, HealthAndReadinessStayOpen) {
  DeliveryStack s(kKeys);
  EXPECT_EQ(s.api->get("/healthz").status, 200);
  EXPECT_EQ(s.api->get("/readyz").status, 200);
}

TEST(SecurityKeys, EachScopeReachesItsRoutesAndOthersAre403) {
  DeliveryStack s(kKeys);
  const std::string publish = "/v1/channels/orders.created/messages";
  // publish: publishes, reads channel stats; may not manage subscriptions or read messages.
  EXPECT_EQ(s.api->post(publish, R"({"data":1})", bearer("pub-secret")).status, 201);
  EXPECT_EQ(s.api->post("/v1/messages/batch", R"({"messages":[{"channel":"a.b","data":1}]})", bearer("pub-secret")).status,
            200);
  EXPECT_EQ(s.api->get("/v1/channels", bearer("pub-secret")).status, 200);
  EXPECT_EQ(s.api->get("/v1/channels/orders.created", bearer("pub-secret")).status, 200);
  auto denied = expect_error(s.api->post("/v1/subscriptions", sub_body(), bearer("pub-secret")), 403, "permission_denied");
  ASSERT_TRUE(denied.contains("details"));
  EXPECT_EQ(json::serialize(denied.at("details").at("required_scopes")), R"(["subscribe","admin"])");
  expect_error(s.api->get(publish, bearer("pub-secret")), 403, "permission_denied");
  EXPECT_EQ(s.redis.command({"HLEN", "ms:subs"}).integer, 0);

  // subscribe: manages subscriptions, reads messages and channels; may not publish.
  EXPECT_EQ(s.api->post("/v1/subscriptions", sub_body(), bearer("sub-a")).status, 201);
  EXPECT_EQ(s.api->get(publish, bearer("sub-a")).status, 200);
  EXPECT_EQ(s.api->get("/v1/channels", bearer("sub-a")).status, 200);
  auto no_publish = expect_error(s.api->post(publish, R"({"data":2})", bearer("sub-a")), 403, "permission_denied");
  EXPECT_EQ(json::serialize(no_publish.at("details").at("required_scopes")), R"(["publish","admin"])");
  expect_error(s.api->post("/v1/messages/batch", R"({"messages":[]})", bearer("sub-a")), 403, "permission_denied");

  // admin: everything.
  EXPECT_EQ(s.api->post(publish, R"({"data":3})", bearer("root-secret")).status, 201);
  EXPECT_EQ(s.api->post("/v1/subscriptions", sub_body(), bearer("root-secret")).status, 201);
  EXPECT_EQ(s.api->get(publish, bearer("root-secret")).status, 200);
  EXPECT_EQ(s.redis.command({"XLEN", "ms:{orders.created}:log"}).integer, 2) << "only the permitted publishes stored";
}

TEST(SecurityKeys, ASubscribeKeySeesAndChangesOnlyItsOwnSubscriptions) {
  DeliveryStack s(kKeys);
  auto created = s.api->post("/v1/subscriptions", sub_body(), bearer("sub-a"));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = str_of(created.json(), "id");
  const std::string owner = str_of(created.json(), "owner");
  EXPECT_EQ(owner.rfind("key_", 0), 0u);
  EXPECT_EQ(owner.find("sub-a"), std::string::npos) << "the owner id does not reveal the key";

  // The owner sees and changes it.
  EXPECT_EQ(s.api->get("/v1/subscriptions/" + id, bearer("sub-a")).status, 200);
  EXPECT_EQ(s.api->patch("/v1/subscriptions/" + id, R"({"description":"mine"})", bearer("sub-a")).status, 200);
  auto listed = s.api->get("/v1/subscriptions", bearer("sub-a")).json();
  EXPECT_EQ(listed.at("subscriptions").as_array().size(), 1u);

  // Another subscribe key: as if it did not exist, on every route.
  const std::string base = "/v1/subscriptions/" + id;
  expect_error(s.api->get(base, bearer("sub-b")), 404, "not_found");
  expect_error(s.api->patch(base, R"({"state":"paused"})", bearer("sub-b")), 404, "not_found");
  expect_error(s.api->post(base + "/ack", R"({"ids":["x"]})", bearer("sub-b")), 404, "not_found");
  expect_error(s.api->post(base + "/nack", R"({"ids":["x"]})", bearer("sub-b")), 404, "not_found");
  expect_error(s.api->get(base + "/dead-letters", bearer("sub-b")), 404, "not_found");
  expect_error(s.api->post(base + "/dead-letters/replay", "{}", bearer("sub-b")), 404, "not_found");
  expect_error(s.api->del(base + "/dead-letters", bearer("sub-b")), 404, "not_found");
  expect_error(s.api->del(base, bearer("sub-b")), 404, "not_found");
  EXPECT_EQ(s.api->get("/v1/subscriptions", bearer("sub-b")).json().at("subscriptions").as_array().size(), 0u);

  // Untouched by b; admin sees it with its owner and may delete it.
  auto as_admin = s.api->get(base, bearer("root-secret"));
  ASSERT_EQ(as_admin.status, 200);
  EXPECT_EQ(str_of(as_admin.json(), "description"), "mine");
  EXPECT_EQ(str_of(as_admin.json(), "state"), "active");
  EXPECT_EQ(str_of(as_admin.json(), "owner"), owner);
  EXPECT_EQ(s.api->del(base, bearer("root-secret")).status, 204);
  EXPECT_EQ(s.api->get(base, bearer("sub-a")).status, 404);
}

TEST(SecurityKeys, KeysFromAFileWork) {
  TempDir dir;
  const std::string path = dir.file("keys");
  {
    std::ofstream f(path);
    f << "# publishers\nfile-pub:publish\n\nfile-admin:admin\n";
  }
  DeliveryStack s({"--api-keys-file", path});
  EXPECT_EQ(s.api->post("/v1/channels/a.b/messages", R"({"data":1})", bearer("file-pub")).status, 201);
  EXPECT_EQ(s.api->get("/v1/subscriptions", bearer("file-admin")).status, 200);
  expect_error(s.api->get("/v1/subscriptions", bearer("file-pub")), 403, "permission_denied");
  // The key is not on the command line, so `ps` does not show it.
  for (const auto& arg : s.svc->argv()) EXPECT_EQ(arg.find("file-pub"), std::string::npos) << arg;
}

// ---- listening without keys -------------------------------------------------------------

TEST(SecurityListen, NonLoopbackWithoutKeysIsRefusedAtStart) {
  for (const char* listen : {"0.0.0.0:0", "[::]:0"}) {
    SCOPED_TRACE(listen);
    auto r = run_service_once({"--listen", listen, "--redis-url", "redis://127.0.0.1:1"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.stderr_text.find("without API keys"), std::string::npos) << r.stderr_text;
    EXPECT_EQ(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n'), 1) << "one line: " << r.stderr_text;
  }
}

TEST(SecurityListen, NonLoopbackServesWithInsecureOrWithKeys) {
  RedisServer redis;
  redis.start();
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--insecure"}, std::vector<std::string>{"--api-key", "k:admin"}}) {
    SCOPED_TRACE(extra.front());
    ServiceOptions o;
    o.args = {"--listen", "0.0.0.0:" + std::to_string(free_port())};  // only ever contacted on 127.0.0.1
    o.args.insert(o.args.end(), extra.begin(), extra.end());
    ServiceProcess svc(redis.url(), o);
    ASSERT_NO_THROW(svc.start()) << svc.log_text();
    EXPECT_EQ(svc.client().get("/healthz").status, 200);
    EXPECT_EQ(svc.terminate(), 0);
  }
}

// ---- rate limit --------------------------------------------------------------------------

TEST(SecurityRateLimit, AKeyOverItsRateGets429WithRetryAfterAndOthersAreUnaffected) {
  auto args = kKeys;
  args.insert(args.end(), {"--rate-limit-rps", "2", "--rate-limit-burst", "3"});
  DeliveryStack s(args);
  const std::string path = "/v1/channels/orders.created/messages";
  int accepted = 0;
  HttpResponse limited;
  for (int i = 0; i < 10 && limited.status == 0; ++i) {
    auto r = s.api->post(path, R"({"data":1})", bearer("pub-secret"));
    if (r.status == 201) {
      ++accepted;
    } else {
      limited = r;
    }
  }
  EXPECT_GE(accepted, 3);
  EXPECT_LE(accepted, 4);  // the burst, plus at most one refilled token while the loop ran
  auto e = expect_error(limited, 429, "rate_limited");
  EXPECT_GE(std::stoi(limited.header("retry-after")), 1);
  EXPECT_GT(e.at("details").at("retry_after_ms").to_number<std::int64_t>(), 0);
  // Another key has its own bucket; health checks are not limited.
  EXPECT_EQ(s.api->get("/v1/channels", bearer("root-secret")).status, 200);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.api->get("/healthz").status, 200);
  // Refused requests stored nothing; after a pause the key may publish again.
  EXPECT_EQ(s.redis.command({"XLEN", "ms:{orders.created}:log"}).integer, accepted);
  std::this_thread::sleep_for(600ms);  // 2/s: at least one token back
  EXPECT_EQ(s.api->post(path, R"({"data":1})", bearer("pub-secret")).status, 201);
}

TEST(SecurityRateLimit, WithoutKeysTheLimitIsPerClientAddress) {
  DeliveryStack s({"--rate-limit-rps", "1", "--rate-limit-burst", "2"});
  EXPECT_EQ(s.api->get("/v1/channels").status, 200);
  EXPECT_EQ(s.api->get("/v1/channels").status, 200);
  expect_error(s.api->get("/v1/channels"), 429, "rate_limited");
  EXPECT_EQ(s.api->get("/readyz").status, 200);
}

// ---- SSRF guard ----------------------------------------------------------------------------

TEST(SecuritySsrf, EveryForbiddenLiteralClassIsRefusedAtCreation) {
  DeliveryStack s({"--endpoint-allow", "203.0.113.7/32"});  // no loopback exception
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://127.0.0.1:8080/h", "loopback"},        {"http://[::1]:8080/h", "loopback"},
      {"http://10.1.2.3/h", "private"},               {"http://172.20.0.1/h", "private"},
      {"http://192.168.0.10/h", "private"},           {"http://[fd12::1]/h", "private"},
      {"http://169.254.1.1/h", "link-local"},         {"http://[fe80::1]/h", "link-local"},
      {"http://169.254.169.254/latest", "metadata"},  {"http://[fd00:ec2::254]/", "metadata"},
      {"http://0.0.0.0/h", "unspecified"},            {"http://[::]/h", "unspecified"},
      {"http://224.0.0.1/h", "multicast"},            {"http://[ff02::1]/h", "multicast"},
      {"http://[::ffff:127.0.0.1]/h", "loopback"},    {"http://[::ffff:169.254.169.254]/h", "metadata"},
  };
  for (const auto& [endpoint, why] : cases) {
    SCOPED_TRACE(endpoint);
    auto e = expect_error(s.api->post("/v1/subscriptions", sub_body(endpoint)), 400, "invalid_argument");
    EXPECT_NE(std::string(e.at("message").as_string()).find(why), std::string::npos) << e.at("message");
  }
  // Only http and https.
  for (const std::string& endpoint : {std::string("ftp://example.com/x"), std::string("file:///etc/passwd"),
                                      std::string("gopher://example.com/")}) {
    SCOPED_TRACE(endpoint);
    expect_error(s.api->post("/v1/subscriptions", sub_body(endpoint)), 400, "invalid_argument");
  }
  EXPECT_EQ(s.redis.command({"HLEN", "ms:subs"}).integer, 0);
  // The allow list opens exactly what it names.
  EXPECT_EQ(s.api->post("/v1/subscriptions", sub_body("http://203.0.113.7:9/h")).status, 201);
}

TEST(SecuritySsrf, AHostNameResolvingToLoopbackIsRefusedAtConnectTime) {
  DeliveryStack s({"--endpoint-allow", "203.0.113.7/32"});
  WebhookReceiver hook;
  // "localhost" is a name: accepted at creation, refused at every connect.
  auto sub = create_subscription(
      *s.api, {{"channel", "orders.created"},
               {"endpoint", "http://localhost:" + std::to_string(hook.port()) + "/h"},
               {"retry", json::object{{"max_attempts", 2}, {"initial_backoff_ms", 10}, {"max_backoff_ms", 10}}}});
  const std::string id = str_of(sub, "id");
  publish(*s.api, "orders.created", R"({"data":1})");
  ASSERT_TRUE(wait_stat(*s.api, id, "dead_lettered", 1, 10s));
  EXPECT_EQ(hook.count(), 0u) << "no request reached the loopback receiver";
  auto st = subscription_stats(*s.api, id);
  EXPECT_EQ(st.at("failed_attempts").to_number<std::int64_t>(), 2);
  const std::string msg(st.at("last_error").at("message").as_string());
  EXPECT_NE(msg.find("not allowed (loopback)"), std::string::npos) << msg;
}

TEST(SecuritySsrf, TheAllowListLetsAHostNameThrough) {
  DeliveryStack s;  // --endpoint-allow 127.0.0.0/8 (the fixture's default)
  WebhookReceiver hook;
  auto sub = create_subscription(*s.api, {{"channel", "orders.created"},
                                          {"endpoint", "http://localhost:" + std::to_string(hook.port()) + "/h"}});
  publish(*s.api, "orders.created", R"({"data":1})");
  EXPECT_TRUE(hook.wait_for_count(1, 10s));
}

}  // namespace
}  // namespace ms::test
