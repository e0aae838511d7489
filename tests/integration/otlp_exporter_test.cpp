// ms::observe::OtlpExporter against a real HTTP receiver on 127.0.0.1
// (tests/support/webhook_receiver.h) playing the OpenTelemetry Collector's
// OTLP/HTTP endpoint: the JSON and headers that arrive, batching by size and
// by delay, retries (503, 429 + Retry-After, connection errors), giving up,
// the queue bound, keep-alive and reconnects, https, shutdown.
//
// The exporter runs its own thread; these tests only call its public API and
// watch the receiver and the metrics (process-wide counters: compared as
// before/after deltas). Every wait is bounded.
#include "observe/otlp_exporter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "observe/otlp_metrics.h"
#include "support/child_process.h"
#include "support/webhook_receiver.h"

namespace ms::observe {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::RecordedRequest;
using test::WebhookReceiver;
using Reply = test::WebhookResponse;

OtlpConfig config_for(const WebhookReceiver& receiver) {
  OtlpConfig c;
  std::string error;
  c.endpoint = parse_otlp_endpoint(receiver.url("/v1/traces"), error);
  EXPECT_TRUE(c.endpoint) << error;
  c.headers = {{"api-key", "secret"}, {"x-tenant", "acme"}};
  c.timeout = 3s;
  c.max_queue_size = 100;
  c.max_export_batch_size = 10;
  c.schedule_delay = 100ms;
  c.export_timeout = 10s;
  c.resource.service_name = "otlp-test";
  c.resource.service_version = "9.9.9";
  return c;
}

OtlpRetryPolicy fast_retry(int attempts = 5) {
  OtlpRetryPolicy p;
  p.max_attempts = attempts;
  p.initial_backoff = 50ms;
  p.max_backoff = 200ms;
  p.jitter = 0;
  return p;
}

// What the collector answers.
Reply answer(int status, std::string body = {}) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Reply stall(std::chrono::milliseconds delay) {
  Reply r;
  r.delay = delay;
  return r;
}

Reply answer_and_close() {
  Reply r;
  r.close_connection = true;
  return r;
}

SpanData span(std::uint32_t n) {
  SpanData s;
  s.trace_id[0] = 0xAB;
  s.trace_id[15] = static_cast<std::uint8_t>(n);
  s.span_id[7] = static_cast<std::uint8_t>(n);
  s.span_id[6] = static_cast<std::uint8_t>(n >> 8);
  s.name = "span " + std::to_string(n);
  s.kind = SpanKind::server;
  s.start_unix_ns = 1'700'000'000'000'000'000ULL + n;
  s.end_unix_ns = s.start_unix_ns + 1000;
  s.attributes = {{"n", std::int64_t{n}}};
  return s;
}

const json::array& spans_of(const json::value& body) {
  return body.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array();
}

std::size_t span_count(const RecordedRequest& r) { return spans_of(r.json()).size(); }

std::size_t total_spans(const WebhookReceiver& receiver) {
  std::size_t n = 0;
  for (const auto& r : receiver.requests()) n += span_count(r);
  return n;
}

// The counters, read together; the difference of two readings.
struct Counts {
  double exported = 0, queue_full = 0, export_failed = 0, rejected = 0, shutdown = 0, failures = 0;

  static Counts now() {
    auto& m = OtlpMetrics::get();
    return {m.exported.Value(),         m.dropped_queue_full.Value(), m.dropped_export_failed.Value(),
            m.dropped_rejected.Value(), m.dropped_shutdown.Value(),   m.export_failures.Value()};
  }
  Counts operator-(const Counts& o) const {
    return {exported - o.exported, queue_full - o.queue_full, export_failed - o.export_failed,
            rejected - o.rejected, shutdown - o.shutdown,     failures - o.failures};
  }
};

std::int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

TEST(OtlpExporter, SpansArriveAsOtlpJsonWithTheConfiguredHeaders) {
  WebhookReceiver collector;
  const Counts before = Counts::now();
  OtlpExporter exporter(config_for(collector), fast_retry());
  for (std::uint32_t i = 1; i <= 3; ++i) exporter.export_span(span(i));
  ASSERT_TRUE(collector.wait_for_count(1, 5s));
  EXPECT_TRUE(exporter.shutdown(Clock::now() + 5s));

  const auto requests = collector.requests();
  ASSERT_EQ(requests.size(), 1u);
  const RecordedRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/v1/traces");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("api-key"), "secret");
  EXPECT_EQ(r.header("x-tenant"), "acme");
  EXPECT_EQ(r.header("host"), "127.0.0.1:" + std::to_string(collector.port()));
  EXPECT_EQ(r.header("user-agent"), "messaging_service-otlp-exporter/9.9.9");

  const json::value body = r.json();
  const auto& resource_attrs = body.at("resourceSpans").at(0).at("resource").at("attributes").as_array();
  EXPECT_EQ(resource_attrs.at(0).at("key").as_string(), "service.name");
  EXPECT_EQ(resource_attrs.at(0).at("value").at("stringValue").as_string(), "otlp-test");
  EXPECT_EQ(body.at("resourceSpans").at(0).at("scopeSpans").at(0).at("scope").at("name").as_string(),
            "messaging_service");
  const auto& spans = spans_of(body);
  ASSERT_EQ(spans.size(), 3u);
  for (std::size_t i = 0; i < spans.size(); ++i) {  // in order
    const auto& s = spans.at(i);
    EXPECT_EQ(s.at("name").as_string(), "span " + std::to_string(i + 1));
    EXPECT_EQ(s.at("traceId").as_string(), "ab00000000000000000000000000000" + std::to_string(i + 1));
    EXPECT_EQ(s.at("spanId").as_string(), "000000000000000" + std::to_string(i + 1));
    EXPECT_EQ(s.at("kind").as_int64(), 2);
    EXPECT_FALSE(s.as_object().contains("parentSpanId"));
  }
  const Counts d = Counts::now() - before;
  EXPECT_EQ(d.exported, 3);
  EXPECT_EQ(d.failures, 0);
  EXPECT_EQ(d.queue_full + d.export_failed + d.shutdown, 0);
}

TEST(OtlpExporter, BatchesBySizeOverOneKeepAliveConnection) {
  WebhookReceiver collector;
  OtlpConfig cfg = config_for(collector);
  cfg.max_export_batch_size = 5;
  cfg.schedule_delay = 60s;  // only a full batch goes out before shutdown
  OtlpExporter exporter(cfg, fast_retry());
  const auto start = Clock::now();
  for (std::uint32_t i = 1; i <= 12; ++i) exporter.export_span(span(i));
  ASSERT_TRUE(collector.wait_for_count(2, 5s));
  EXPECT_LT(ms_since(start), 3000);  // not waiting for the schedule delay
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(collector.count(), 2u);  // the partial third batch waits
  EXPECT_EQ(exporter.queued(), 2u);
  auto requests = collector.requests();
  EXPECT_EQ(span_count(requests[0]), 5u);
  EXPECT_EQ(span_count(requests[1]), 5u);

  EXPECT_TRUE(exporter.shutdown(Clock::now() + 5s));  // flushes the rest
  requests = collector.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(span_count(requests[2]), 2u);
  EXPECT_EQ(spans_of(requests[2].json()).at(1).at("name").as_string(), "span 12");
  EXPECT_EQ(collector.connections_accepted(), 1u);
  for (const auto& r : requests) EXPECT_EQ(r.connection_id, 1u);
}

TEST(OtlpExporter, PartialBatchGoesOutAfterTheScheduleDelay) {
  WebhookReceiver collector;
  OtlpConfig cfg = config_for(collector);
  cfg.max_export_batch_size = 100;
  cfg.schedule_delay = 400ms;
  const auto start = Clock::now();
  OtlpExporter exporter(cfg, fast_retry());
  for (std::uint32_t i = 1; i <= 3; ++i) exporter.export_span(span(i));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(collector.count(), 0u);  // not yet due
  ASSERT_TRUE(collector.wait_for_count(1, 5s));
  const auto waited = ms_since(start);
  EXPECT_GE(waited, 350);
  EXPECT_LT(waited, 3000);
  EXPECT_EQ(span_count(collector.requests()[0]), 3u);

  // The next spans wait for the next period, counted from that export.
  exporter.export_span(span(4));
  ASSERT_TRUE(collector.wait_for_count(2, 5s));
  EXPECT_EQ(span_count(collector.requests()[1]), 1u);
  EXPECT_TRUE(exporter.shutdown(Clock::now() + 5s));
}

TEST(OtlpExporter, RetriesA503TwiceAndDeliversOnTheThirdTry) {
  WebhookReceiver collector;
  std::atomic<int> seen{0};
  collector.set_handler([&seen](const RecordedRequest&) {
    Reply r;
    if (++seen <= 2) r.status = 503;
    return r;
  });
  const Counts before = Counts::now();
  OtlpExporter exporter(config_for(collector), fast_retry());
  for (std::uint32_t i = 1; i <= 4; ++i) exporter.export_span(span(i));
  ASSERT_TRUE(collector.wait_for_count(3, 5s));
  EXPECT_TRUE(exporter.shutdown(Clock::now() + 5s));

  const auto requests = collector.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].body, requests[1].body);  // the same batch each time
  EXPECT_EQ(requests[1].body, requests[2].body);
  EXPECT_EQ(span_count(requests[2]), 4u);
  EXPECT_GE(requests[1].steady_ms - requests[0].steady_ms, 40);  // backoff 50 ms, then 100 ms
  EXPECT_GE(requests[2].steady_ms - requests[1].steady_ms, 90);
  const Counts d = Counts::now() - before;
  EXPECT_EQ(d.exported, 4);
  EXPECT_EQ(d.failures, 0);
  EXPECT_EQ(d.export_failed, 0);
}

TEST(OtlpExporter, HonoursRetryAfter) {
  WebhookReceiver collector;
  std::atomic<int> seen{0};
  collector.set_handler([&seen](const RecordedRequest&) {
    Reply r;
    if (++seen == 1) {
      r.status = 429;
      r.headers = {{"Retry-After", "1"}};
    }
    return r;
  });
  OtlpExporter exporter(config_for(collector), fast_retry());
  exporter.export_span(span(1));
  ASSERT_TRUE(collector.wait_for_count(2, 5s));
  const auto requests = collector.requests();
  EXPECT_GE(requests[1].steady_ms - requests[0].steady_ms, 950);  // not our 50 ms backoff
  EXPECT_TRUE(exporter.shutdown(Clock::now() + 5s));
}

TEST(OtlpExporter, GivesUpAfterMaxTriesAndCountsTheFailure) {
  WebhookReceiver collector;
  collector.set_default_response(answer(503));
  const Counts before = Counts::now();
  OtlpExporter exporter(config_for(collector), fast_retry(3));
  for (std::uint32_t i = 1; i <= 4; ++i) exporter.export_span(span(i));
  ASSERT_TRUE(collector.wait_for_count(3, 5s));
  // The batch is given up right after the third answer.
  const auto deadline = Clock::now() + 3s;
  while ((Counts::now() - before).failures < 1 && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(exporter.shutdown(Clock::now() + 5s));
  EXPECT_EQ(collector.count(), 3u);
  const Counts d = Counts::now() - before;
  EXPECT_EQ(d.failures, 1);
  EXPECT_EQ(d.export_failed, 4);
  EXPECT_EQ(d.exported, 0);
}

TEST(OtlpExporter, NonRetryableStatusIsNotRetried) {
  WebhookReceiver collector;
  collector.set_default_response(answer(400, R"({"code":3,"message":"bad"})"));
  const Counts before = Counts::now();
  OtlpExporter exporter(config_for(collector), fast_retry());
  exporter.export_span(span(1));
  exporter.export_span(span(2));
  ASSERT_TRUE(collector.wait_for_count(1, 5s));
  EXPECT_TRUE(exporter.shutdown(Clock::now() + 5s));
  EXPECT_EQ(collector.count(), 1u);
  const Counts d = Counts::now() - before;
  EXPECT_EQ(d.failures, 1);
  EXPECT_EQ(d.export_failed, 2);
}

TEST(OtlpExporter, PartialSuccessCountsRejectedSpans) {
  WebhookReceiver collector;
  collector.set_default_response(answer(200, R"({"partialSuccess":{"rejectedSpans":"2","errorMessage":"too old"}})"));
  const Counts before = Counts::now();
  OtlpExporter exporter(config_for(collector), fast_retry());
  for (std::uint32_t i = 1; i <= 5; ++i) exporter.export_span(span(i));
  EXPECT_TRUE(exporter.shutdown(Clock::now() + 5s));
  EXPECT_EQ(collector.count(), 1u);
  const Counts d = Counts::now() - before;
  EXPECT_EQ(d.exported, 3);
  EXPECT_EQ(d.rejected, 2);
  EXPECT_EQ(d.failures, 0);
}

TEST(OtlpExporter, FullQueueDropsAndCountsWithoutBlocking) {
  WebhookReceiver collector;
  std::atomic<int> seen{0};
  collector.set_handler([&seen](const RecordedRequest&) {
    Reply r;
    if (++seen == 1) r.delay = 1500ms;  // the collector hangs on the first batch
    return r;
  });
  OtlpConfig cfg = config_for(collector);
  cfg.max_queue_size = 10;
  cfg.max_export_batch_size = 5;
  cfg.schedule_delay = 20ms;
  const Counts before = Counts::now();
  OtlpExporter exporter(cfg, fast_retry());
  for (std::uint32_t i = 1; i <= 5; ++i) exporter.export_span(span(i));
  ASSERT_TRUE(collector.wait_for_count(1, 5s));  // that batch is in flight, waiting for the answer

  const auto start = Clock::now();
  for (std::uint32_t i = 6; i <= 25; ++i) exporter.export_span(span(i));
  EXPECT_LT(ms_since(start), 200);  // the hot path never waited for the collector
  EXPECT_EQ(exporter.queued(), 10u);
  EXPECT_EQ((Counts::now() - before).queue_full, 10);

  EXPECT_TRUE(exporter.shutdown(Clock::now() + 8s));
  EXPECT_EQ(total_spans(collector), 15u);  // the first batch and what the queue held
  const Counts d = Counts::now() - before;
  EXPECT_EQ(d.exported, 15);
  EXPECT_EQ(d.queue_full, 10);
  EXPECT_EQ(d.failures, 0);
}

TEST(OtlpExporter, ConcurrentProducers) {
  WebhookReceiver collector;
  OtlpConfig cfg = config_for(collector);
  cfg.max_queue_size = 2048;
  cfg.max_export_batch_size = 100;
  const Counts before = Counts::now();
  OtlpExporter exporter(cfg, fast_retry());
  std::vector<std::thread> producers;
  for (std::uint32_t t = 0; t < 4; ++t) {
    producers.emplace_back([&exporter, t] {
      for (std::uint32_t i = 0; i < 250; ++i) exporter.export_span(span(t * 250 + i));
    });
  }
  for (auto& p : producers) p.join();
  EXPECT_TRUE(exporter.shutdown(Clock::now() + 5s));
  EXPECT_EQ(total_spans(collector), 1000u);
  for (const auto& r : collector.requests()) EXPECT_LE(span_count(r), 100u);
  const Counts d = Counts::now() - before;
  EXPECT_EQ(d.exported, 1000);
  EXPECT_EQ(d.queue_full, 0);
}

TEST(OtlpExporter, ShutdownFlushesWhatIsQueued) {
  WebhookReceiver collector;
  OtlpConfig cfg = config_for(collector);
  cfg.max_export_batch_size = 4;
  cfg.schedule_delay = 60s;
  OtlpExporter exporter(cfg, fast_retry());
  for (std::uint32_t i = 1; i <= 3; ++i) exporter.export_span(span(i));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(collector.count(), 0u);
  EXPECT_EQ(exporter.queued(), 3u);
  const Counts before = Counts::now();
  const auto start = Clock::now();
  EXPECT_TRUE(exporter.shutdown(Clock::now() + 5s));
  EXPECT_LT(ms_since(start), 2000);  // returns once flushed, not at the deadline
  EXPECT_EQ(collector.count(), 1u);
  EXPECT_EQ(total_spans(collector), 3u);
  EXPECT_EQ((Counts::now() - before).exported, 3);

  // Afterwards spans are dropped at the door, and shutdown again is harmless.
  exporter.export_span(span(9));
  EXPECT_EQ((Counts::now() - before).shutdown, 1);
  EXPECT_TRUE(exporter.shutdown(Clock::now() + 1s));
  EXPECT_EQ(collector.count(), 1u);
}

TEST(OtlpExporter, ShutdownDeadlineCutsAStalledCollectorShort) {
  WebhookReceiver collector;
  collector.set_default_response(stall(10s));
  OtlpConfig cfg = config_for(collector);
  cfg.max_export_batch_size = 2;
  cfg.timeout = 20s;
  cfg.export_timeout = 30s;
  const Counts before = Counts::now();
  OtlpExporter exporter(cfg, fast_retry());
  for (std::uint32_t i = 1; i <= 5; ++i) exporter.export_span(span(i));
  ASSERT_TRUE(collector.wait_for_count(1, 5s));
  const auto start = Clock::now();
  EXPECT_FALSE(exporter.shutdown(Clock::now() + 300ms));
  EXPECT_LT(ms_since(start), 1500);
  const Counts d = Counts::now() - before;
  EXPECT_EQ(d.exported, 0);
  EXPECT_EQ(d.export_failed, 2);  // the batch in flight
  EXPECT_EQ(d.shutdown, 3);       // still queued
}

TEST(OtlpExporter, DestructorWithoutShutdownDoesNotHang) {
  WebhookReceiver collector;
  collector.set_default_response(stall(10s));
  const auto start = Clock::now();
  {
    OtlpConfig cfg = config_for(collector);
    cfg.max_export_batch_size = 1;
    OtlpExporter exporter(cfg, fast_retry());
    exporter.export_span(span(1));
    exporter.export_span(span(2));
    ASSERT_TRUE(collector.wait_for_count(1, 5s));
  }
  EXPECT_LT(ms_since(start), 3000);
}

TEST(OtlpExporter, ReconnectsWhenTheCollectorClosesTheConnection) {
  WebhookReceiver collector;
  collector.set_default_response(answer_and_close());
  OtlpConfig cfg = config_for(collector);
  cfg.max_export_batch_size = 2;
  const Counts before = Counts::now();
  OtlpExporter exporter(cfg, fast_retry());
  for (std::uint32_t i = 1; i <= 6; ++i) exporter.export_span(span(i));
  EXPECT_TRUE(exporter.shutdown(Clock::now() + 5s));
  EXPECT_EQ(collector.count(), 3u);
  EXPECT_EQ(collector.connections_accepted(), 3u);
  const Counts d = Counts::now() - before;
  EXPECT_EQ(d.exported, 6);
  EXPECT_EQ(d.failures, 0);
}

TEST(OtlpExporter, SurvivesAnIdleConnectionClosedByTheCollector) {
  test::WebhookReceiverOptions opts;
  opts.idle_timeout = 150ms;  // the collector drops idle keep-alive connections quickly
  WebhookReceiver collector(opts);
  OtlpConfig cfg = config_for(collector);
  cfg.max_export_batch_size = 1;
  const Counts before = Counts::now();
  OtlpExporter exporter(cfg, fast_retry(1));  // no retries: a stale connection must not cost a try
  exporter.export_span(span(1));
  ASSERT_TRUE(collector.wait_for_count(1, 5s));
  std::this_thread::sleep_for(400ms);
  exporter.export_span(span(2));
  ASSERT_TRUE(collector.wait_for_count(2, 5s));
  EXPECT_TRUE(exporter.shutdown(Clock::now() + 5s));
  EXPECT_EQ(collector.connections_accepted(), 2u);
  const Counts d = Counts::now() - before;
  EXPECT_EQ(d.exported, 2);
  EXPECT_EQ(d.failures, 0);
}

TEST(OtlpExporter, ConnectionRefusedIsRetriedThenGivenUp) {
  OtlpConfig cfg;
  std::string error;
  cfg.endpoint = parse_otlp_endpoint("http://127.0.0.1:" + std::to_string(test::free_port()) + "/v1/traces", error);
  ASSERT_TRUE(cfg.endpoint) << error;
  const Counts before = Counts::now();
  OtlpExporter exporter(cfg, fast_retry(3));
  for (std::uint32_t i = 1; i <= 3; ++i) exporter.export_span(span(i));
  exporter.shutdown(Clock::now() + 5s);  // 50 + 100 ms of backoff
  const Counts d = Counts::now() - before;
  EXPECT_EQ(d.failures, 1);
  EXPECT_EQ(d.export_failed, 3);
}

TEST(OtlpExporter, Https) {
  test::TempDir dir("ms-otlp-tls");
  const test::TestCertificate cert = test::make_test_certificate(dir.path());
  test::WebhookReceiverOptions tls;
  tls.cert_file = cert.cert_file;
  tls.key_file = cert.key_file;
  WebhookReceiver collector(tls);
  OtlpConfig cfg = config_for(collector);
  ASSERT_TRUE(cfg.endpoint->tls);
  cfg.ca_file = cert.cert_file;
  const Counts before = Counts::now();
  {
    OtlpExporter exporter(cfg, fast_retry());
    exporter.export_span(span(1));
    exporter.export_span(span(2));
    EXPECT_TRUE(exporter.shutdown(Clock::now() + 5s));
  }
  EXPECT_EQ(total_spans(collector), 2u);
  EXPECT_EQ((Counts::now() - before).exported, 2);

  // Without the CA the certificate does not verify: nothing is sent.
  cfg.ca_file.clear();
  const Counts mid = Counts::now();
  {
    OtlpExporter exporter(cfg, fast_retry(1));
    exporter.export_span(span(3));
    exporter.shutdown(Clock::now() + 5s);
  }
  EXPECT_EQ(collector.count(), 1u);
  EXPECT_GE(collector.tls_handshake_failures(), 1u);
  EXPECT_EQ((Counts::now() - mid).failures, 1);
}

TEST(OtlpExporter, RefusesAConfigWithoutEndpointOrWithABadCaFile) {
  OtlpConfig off;
  EXPECT_THROW(OtlpExporter{off}, std::invalid_argument);
  OtlpConfig tls;
  std::string error;
  tls.endpoint = parse_otlp_endpoint("https://127.0.0.1:1/v1/traces", error);
  tls.ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(OtlpExporter{tls}, std::runtime_error);
}

}  // namespace
}  // namespace ms::observe
