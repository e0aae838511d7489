// Issue "Observability": OpenTelemetry traces end to end. The service exports
// OTLP/HTTP JSON to a real receiver on loopback (a WebhookReceiver standing in for
// a Collector); the test follows one message from its publish (continuing the
// caller's traceparent) through each delivery attempt to the webhook's traceparent.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "support/delivery_harness.h"

namespace ms::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

const std::string kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string kCallerSpan = "00f067aa0ba902b7";
const std::string kTraceparent = "00-" + kTraceId + "-" + kCallerSpan + "-01";

struct ExportedSpan {
  std::string trace_id, span_id, parent_span_id, name;
  int kind = 0;
  int status = 0;
  std::map<std::string, json::value> attributes;
  std::string service_name;
};

// Every span of every export request the collector received.
std::vector<ExportedSpan> spans_of(const WebhookReceiver& collector) {
  std::vector<ExportedSpan> out;
  for (const auto& req : collector.requests()) {
    json::value body = req.json();
    for (const auto& rs : body.at("resourceSpans").as_array()) {
      std::string service;
      for (const auto& a : rs.at("resource").at("attributes").as_array()) {
        if (a.at("key") == "service.name") service = std::string(a.at("value").at("stringValue").as_string());
      }
      for (const auto& ss : rs.at("scopeSpans").as_array()) {
        for (const auto& sp : ss.at("spans").as_array()) {
          ExportedSpan e;
          e.service_name = service;
          e.trace_id = std::string(sp.at("traceId").as_string());
          e.span_id = std::string(sp.at("spanId").as_string());
          if (const auto* p = sp.as_object().if_contains("parentSpanId")) e.parent_span_id = std::string(p->as_string());
          e.name = std::string(sp.at("name").as_string());
          e.kind = static_cast<int>(sp.at("kind").to_number<std::int64_t>());
          if (const auto* st = sp.as_object().if_contains("status")) {
            if (const auto* code = st->as_object().if_contains("code")) e.status = static_cast<int>(code->to_number<std::int64_t>());
          }
          if (const auto* attrs = sp.as_object().if_contains("attributes")) {
            for (const auto& a : attrs->as_array()) {
              const auto& v = a.at("value").as_object();
              e.attributes[std::string(a.at("key").as_string())] = v.begin()->value();
            }
          }
          out.push_back(std::move(e));
        }
      }
    }
  }
  return out;
}

std::vector<ExportedSpan> named(const std::vector<ExportedSpan>& all, const std::string& prefix) {
  std::vector<ExportedSpan> out;
  for (const auto& s : all) {
    if (s.name.rfind(prefix, 0) == 0) out.push_back(s);
  }
  return out;
}

ServiceOptions traced(const WebhookReceiver& collector, std::vector<std::pair<std::string, std::string>> extra = {}) {
  ServiceOptions o;
  o.wait_ready = true;
  o.env = {{"OTEL_EXPORTER_OTLP_ENDPOINT", collector.url("")},
           {"OTEL_BSP_SCHEDULE_DELAY", "100"},
           {"OTEL_SERVICE_NAME", "bus-under-test"},
           {"OTEL_EXPORTER_OTLP_HEADERS", "x-collector-token=abc"}};
  o.env.insert(o.env.end(), extra.begin(), extra.end());
  return o;
}

struct TracedStack {
  RedisServer redis;
  std::optional<ServiceProcess> svc;
  std::optional<HttpClient> api;
  explicit TracedStack(ServiceOptions o) {
    redis.start();
    svc.emplace(redis.url(), std::move(o));
    svc->start();
    api.emplace(svc->client());
  }
};

TEST(Tracing, OneMessageIsOneTraceFromThePublisherToEveryAttempt) {
  WebhookReceiver collector;
  TracedStack s(traced(collector));
  WebhookReceiver hook;
  int calls = 0;
  hook.set_handler([&](const RecordedRequest&) {
    WebhookResponse r;
    r.status = ++calls <= 2 ? 500 : 200;  // two failed attempts, then success
    return r;
  });
  auto sub = create_subscription(
      *s.api, {{"channel", "orders.created"},
               {"endpoint", hook.url("/h")},
               {"retry", json::object{{"max_attempts", 5}, {"initial_backoff_ms", 50}, {"max_backoff_ms", 100}}}});
  auto pub = s.api->post("/v1/channels/orders.created/messages", R"({"data":1})",
                         {{"traceparent", kTraceparent}, {"tracestate", "vendor=v1"}});
  ASSERT_EQ(pub.status, 201) << pub.body;
  const std::string message_id = str_of(pub.json(), "id");
  ASSERT_TRUE(hook.wait_for_count(3, 10s));

  std::vector<ExportedSpan> all;
  ASSERT_TRUE(poll_until(
      [&] {
        all = spans_of(collector);
        return named(all, "deliver").size() >= 3 && !named(all, "publish").empty() && !named(all, "persist").empty();
      },
      10s));
  EXPECT_EQ(collector.requests().front().header("x-collector-token"), "abc");
  EXPECT_EQ(collector.requests().front().header("content-type"), "application/json");

  // The publish span continues the caller's trace as a server span.
  auto publishes = named(all, "publish");
  ASSERT_EQ(publishes.size(), 1u);
  auto publish = publishes[0];
  EXPECT_EQ(publish.trace_id, kTraceId);
  EXPECT_EQ(publish.parent_span_id, kCallerSpan);
  EXPECT_EQ(publish.kind, 2) << "SERVER";
  EXPECT_EQ(publish.service_name, "bus-under-test");
  EXPECT_EQ(publish.attributes["messaging.destination.name"], json::value("orders.created"));
  EXPECT_EQ(publish.attributes["messaging.message.id"], json::value(message_id));
  // Persistence is its child.
  auto persists = named(all, "persist");
  ASSERT_EQ(persists.size(), 1u);
  EXPECT_EQ(persists[0].trace_id, kTraceId);
  EXPECT_EQ(persists[0].parent_span_id, publish.span_id);
  EXPECT_EQ(persists[0].attributes["db.system"], json::value("redis"));

  // One client span per attempt, each a child of the publish; the webhook's
  // traceparent names the attempt's own span.
  auto attempts = named(all, "deliver");
  ASSERT_EQ(attempts.size(), 3u);
  auto reqs = hook.requests();
  ASSERT_EQ(reqs.size(), 3u);
  std::map<std::string, ExportedSpan> by_id;
  for (const auto& a : attempts) by_id[a.span_id] = a;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    SCOPED_TRACE("attempt " + std::to_string(i + 1));
    const std::string tp = reqs[i].header("traceparent");
    ASSERT_EQ(tp.size(), 55u) << tp;
    EXPECT_EQ(tp.substr(3, 32), kTraceId) << "the webhook continues the publisher's trace";
    EXPECT_EQ(tp.substr(53, 2), "01");
    EXPECT_EQ(reqs[i].header("tracestate"), "vendor=v1");
    const std::string span_id = tp.substr(36, 16);
    ASSERT_TRUE(by_id.count(span_id)) << "the webhook's traceparent names an exported attempt span";
    auto a = by_id[span_id];
    EXPECT_EQ(a.trace_id, kTraceId);
    EXPECT_EQ(a.parent_span_id, publish.span_id);
    EXPECT_EQ(a.kind, 3) << "CLIENT";
    EXPECT_EQ(a.attributes["messaging_service.delivery.attempt"].as_string(), std::to_string(i + 1))
        << "intValue is a string in OTLP JSON";
    EXPECT_EQ(a.attributes["http.response.status_code"].as_string(), i < 2 ? "500" : "200");
    EXPECT_EQ(a.status, i < 2 ? 2 : 1) << "error, error, ok";
  }
}

TEST(Tracing, AMessageWithoutTraceparentStartsItsOwnTrace) {
  WebhookReceiver collector;
  TracedStack s(traced(collector));
  WebhookReceiver hook;
  create_subscription(*s.api, {{"channel", "orders.created"}, {"endpoint", hook.url("/h")}});
  publish(*s.api, "orders.created", R"({"data":1})");
  ASSERT_TRUE(hook.wait_for_count(1, 10s));
  std::vector<ExportedSpan> all;
  ASSERT_TRUE(poll_until([&] { all = spans_of(collector); return !named(all, "deliver").empty() && !named(all, "publish").empty(); }, 10s));
  const auto publish = named(all, "publish").front();
  EXPECT_TRUE(publish.parent_span_id.empty()) << "a root span";
  EXPECT_EQ(publish.trace_id.size(), 32u);
  const std::string tp = hook.requests().front().header("traceparent");
  EXPECT_EQ(tp.substr(3, 32), publish.trace_id);
  EXPECT_EQ(named(all, "deliver").front().parent_span_id, publish.span_id);
}

TEST(Tracing, DeadLetteringIsPartOfTheTrace) {
  WebhookReceiver collector;
  TracedStack s(traced(collector));
  WebhookReceiver hook;
  WebhookResponse fail;
  fail.status = 500;
  hook.set_default_response(fail);
  create_subscription(*s.api, {{"channel", "orders.created"},
                               {"endpoint", hook.url("/h")},
                               {"retry", json::object{{"max_attempts", 2}, {"initial_backoff_ms", 20}, {"max_backoff_ms", 20}}}});
  ASSERT_EQ(s.api->post("/v1/channels/orders.created/messages", R"({"data":1})", {{"traceparent", kTraceparent}}).status, 201);
  std::vector<ExportedSpan> all;
  ASSERT_TRUE(poll_until([&] { all = spans_of(collector); return !named(all, "dead_letter").empty(); }, 10s));
  const auto publish = named(all, "publish").front();
  const auto moved = named(all, "dead_letter").front();
  EXPECT_EQ(moved.trace_id, kTraceId);
  EXPECT_EQ(moved.parent_span_id, publish.span_id);
  EXPECT_EQ(named(all, "deliver").size(), 2u);
}

TEST(Tracing, SamplingOffExportsNothingAndTheWebhookSaysNotSampled) {
  WebhookReceiver collector;
  TracedStack s(traced(collector, {{"OTEL_TRACES_SAMPLER", "always_off"}}));
  WebhookReceiver hook;
  create_subscription(*s.api, {{"channel", "orders.created"}, {"endpoint", hook.url("/h")}});
  ASSERT_EQ(s.api->post("/v1/channels/orders.created/messages", R"({"data":1})", {{"traceparent", kTraceparent}}).status, 201);
  publish(*s.api, "orders.created", R"({"data":2})");
  ASSERT_TRUE(hook.wait_for_count(2, 10s));
  std::this_thread::sleep_for(600ms);  // several export intervals (100 ms)
  EXPECT_EQ(collector.count(), 0u);
  for (const auto& r : hook.requests()) EXPECT_EQ(r.header("traceparent").substr(53, 2), "00") << "not sampled";
  EXPECT_EQ(hook.requests().front().header("traceparent").substr(3, 32), kTraceId) << "still propagated";
}

TEST(Tracing, ParentBasedSamplingFollowsTheCallersFlag) {
  WebhookReceiver collector;
  TracedStack s(traced(collector));  // default sampler: parentbased_always_on
  WebhookReceiver hook;
  create_subscription(*s.api, {{"channel", "orders.created"}, {"endpoint", hook.url("/h")}});
  const std::string unsampled = "00-" + kTraceId + "-" + kCallerSpan + "-00";
  ASSERT_EQ(s.api->post("/v1/channels/orders.created/messages", R"({"data":1})", {{"traceparent", unsampled}}).status, 201);
  ASSERT_TRUE(hook.wait_for_count(1, 10s));
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(collector.count(), 0u) << "the caller did not sample: neither do we";
  EXPECT_EQ(hook.requests().front().header("traceparent").substr(53, 2), "00");
}

}  // namespace
}  // namespace ms::test
