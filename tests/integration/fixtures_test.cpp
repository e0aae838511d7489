// Proves the integration fixtures themselves work, without the service:
// a private redis-server, the webhook receiver (HTTP and HTTPS), the HTTP client.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <string>
#include <thread>

#include "support/child_process.h"
#include "support/http_client.h"
#include "support/prometheus_text.h"
#include "support/redis_server.h"
#include "support/service_process.h"
#include "support/webhook_receiver.h"

namespace ms::test {
namespace {

using namespace std::chrono_literals;

std::int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count();
}

// ---- RedisServer ----------------------------------------------------------------

TEST(RedisServerFixture, StartsAndAnswersPingSetGet) {
  RedisServer redis;
  redis.start();
  ASSERT_TRUE(redis.running());
  EXPECT_NE(redis.port(), 0);
  EXPECT_EQ(redis.url(), "redis://127.0.0.1:" + std::to_string(redis.port()) + "/0");
  EXPECT_EQ(redis.command({"PING"}).str, "PONG");
  EXPECT_TRUE(redis.command({"SET", "k", std::string("v\0x", 3)}).is_ok());
  RedisReply got = redis.command({"GET", "k"});
  ASSERT_TRUE(got.is_string()) << got.debug_string();
  EXPECT_EQ(got.str, std::string("v\0x", 3));  // binary safe
  EXPECT_TRUE(redis.command({"GET", "missing"}).is_nil());
  EXPECT_EQ(redis.command({"INCR", "n"}).integer, 1);
  EXPECT_TRUE(redis.command({"NOSUCHCOMMAND"}).is_error());
  RedisReply cfg = redis.command({"CONFIG", "GET", "appendonly"});
  ASSERT_EQ(cfg.elements.size(), 2u) << cfg.debug_string();
  EXPECT_EQ(cfg.elements[1].str, "yes");
  EXPECT_EQ(redis.command({"CONFIG", "GET", "save"}).elements.at(1).str, "");
  EXPECT_EQ(redis.command({"CONFIG", "GET", "dir"}).elements.at(1).str, redis.dir());

  redis.flushall();
  EXPECT_EQ(redis.command({"DBSIZE"}).integer, 0);

  RedisClient other = redis.client();  // a second, independent connection
  EXPECT_EQ(other.command({"CLIENT", "LIST"}).str.find("cmd=client") != std::string::npos, true);
}

TEST(RedisServerFixture, RestartKeepsAofData) {
  RedisServer redis;
  redis.start();
  const auto port = redis.port();
  const auto first_pid = redis.pid();
  ASSERT_TRUE(redis.command({"XADD", "s", "*", "f", "v"}).is_string());
  redis.stop();
  EXPECT_FALSE(redis.running());
  EXPECT_THROW(redis.command({"PING"}), std::runtime_error);
  redis.restart();
  EXPECT_EQ(redis.port(), port);
  EXPECT_NE(redis.pid(), first_pid);
  EXPECT_EQ(redis.command({"XLEN", "s"}).integer, 1);
}

TEST(RedisServerFixture, Kill9ThenRestartKeepsFsyncedData) {
  RedisServerOptions options;
  options.appendfsync_always = true;
  RedisServer redis(options);
  redis.start();
  EXPECT_EQ(redis.command({"CONFIG", "GET", "appendfsync"}).elements.at(1).str, "always");
  ASSERT_TRUE(redis.command({"SET", "durable", "1"}).is_ok());
  redis.kill9();
  EXPECT_FALSE(redis.running());
  redis.start();
  EXPECT_EQ(redis.command({"GET", "durable"}).str, "1");
}

TEST(RedisServerFixture, WithoutAppendonlyDataIsGoneAfterRestart) {
  RedisServerOptions options;
  options.appendonly = false;
  RedisServer redis(options);
  redis.start();
  ASSERT_TRUE(redis.command({"SET", "k", "v"}).is_ok());
  redis.restart();
  EXPECT_TRUE(redis.command({"GET", "k"}).is_nil());
}

TEST(RedisServerFixture, TwoServersGetDifferentPortsAndDirs) {
  RedisServer a;
  RedisServer b;
  a.start();
  b.start();
  EXPECT_NE(a.port(), b.port());
  EXPECT_NE(a.dir(), b.dir());
  a.command({"SET", "who", "a"});
  EXPECT_TRUE(b.command({"GET", "who"}).is_nil());
}

TEST(RedisServerFixture, DestructorRemovesDirAndStopsServer) {
  std::string dir;
  std::uint16_t port = 0;
  {
    RedisServer redis;
    redis.start();
    dir = redis.dir();
    port = redis.port();
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
  RedisClient gone("127.0.0.1", port, 500ms);
  EXPECT_THROW(gone.command({"PING"}), std::runtime_error);
}

// ---- ChildProcess -------------------------------------------------------------------

TEST(ChildProcessFixture, RunCommandCapturesOutputAndExitCode) {
  RunResult r = run_command({find_executable("sh", "/bin/sh"), "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.stdout_text, "out\n");
  EXPECT_EQ(r.stderr_text, "err\n");

  RunResult slow = run_command({find_executable("sleep", "/bin/sleep"), "10"}, 200ms);
  EXPECT_TRUE(slow.timed_out);

  EXPECT_THROW(ChildProcess::spawn({"/nonexistent/binary"}), std::system_error);
}

// ---- ServiceProcess -------------------------------------------------------------------

TEST(ServiceProcessFixture, SanitizerReportsAreFoundInTheLog) {
  EXPECT_EQ(sanitizer_report("info [main] stopped\n"), "");
  EXPECT_EQ(sanitizer_report("x\n==7==ERROR: LeakSanitizer: detected memory leaks\nDirect leak\n"),
            "==7==ERROR: LeakSanitizer: detected memory leaks\nDirect leak\n");
  EXPECT_EQ(sanitizer_report("==8==ERROR: AddressSanitizer: heap-use-after-free", 17), "==8==ERROR: Addre");
  EXPECT_EQ(sanitizer_report("a\nsrc/x.cpp:3:5: runtime error: signed integer overflow\n"),
            "src/x.cpp:3:5: runtime error: signed integer overflow\n");
}

// ---- WebhookReceiver + HttpClient -----------------------------------------------------

TEST(WebhookReceiverFixture, RecordsPostWithHeadersAndBody) {
  WebhookReceiver hook;
  EXPECT_EQ(hook.url("/events"), "http://127.0.0.1:" + std::to_string(hook.port()) + "/events");
  HttpClient client("127.0.0.1", hook.port());
  auto before = std::chrono::system_clock::now();
  HttpResponse r = client.post("/events?x=1", R"({"id":"m1","n":2})", {{"X-Signature", "sha256=abc"}});
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(hook.wait_for_count(1, 1s));
  auto reqs = hook.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const RecordedRequest& req = reqs[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/events?x=1");
  EXPECT_EQ(req.header("x-signature"), "sha256=abc");
  EXPECT_EQ(req.headers.at("x-signature"), "sha256=abc");  // names are lower-case
  EXPECT_EQ(req.header("Content-Type"), "application/json");
  EXPECT_EQ(req.json().at("id").as_string(), "m1");
  EXPECT_EQ(req.json().at("n").as_int64(), 2);
  EXPECT_GE(req.system_ms + 5, std::chrono::duration_cast<std::chrono::milliseconds>(before.time_since_epoch()).count());
  EXPECT_GT(req.steady_ms, 0);
  EXPECT_EQ(req.connection_id, 1u);

  hook.clear();
  EXPECT_EQ(hook.count(), 0u);
  EXPECT_FALSE(hook.wait_for_count(1, 50ms));
}

TEST(WebhookReceiverFixture, ScriptedStatusAndHeaders) {
  WebhookReceiver hook;
  hook.set_handler([](const RecordedRequest& req) {
    WebhookResponse res;
    if (req.target == "/busy") {
      res.status = 503;
      res.headers["Retry-After"] = "7";
      res.body = "try later";
    }
    return res;
  });
  HttpClient client("127.0.0.1", hook.port());
  HttpResponse busy = client.post("/busy", "{}");
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.header("retry-after"), "7");
  EXPECT_EQ(busy.body, "try later");
  EXPECT_EQ(client.post("/ok", "{}").status, 200);

  WebhookResponse teapot;
  teapot.status = 418;
  hook.set_handler(nullptr);
  hook.set_default_response(teapot);
  EXPECT_EQ(client.get("/").status, 418);
  EXPECT_EQ(hook.count(), 3u);
}

TEST(WebhookReceiverFixture, DelayUsesATimerNotTheThread) {
  WebhookReceiver hook;
  hook.set_handler([](const RecordedRequest& req) {
    WebhookResponse res;
    if (req.target == "/slow") res.delay = 600ms;
    return res;
  });
  auto start = std::chrono::steady_clock::now();
  auto slow = std::async(std::launch::async, [port = hook.port()] {
    HttpClient c("127.0.0.1", port);
    return c.post("/slow", "{}").status;
  });
  ASSERT_TRUE(hook.wait_for_count(1, 2s));
  HttpClient fast("127.0.0.1", hook.port());
  EXPECT_EQ(fast.post("/fast", "{}").status, 200);
  EXPECT_LT(elapsed_ms(start), 500);  // not queued behind the delayed answer
  EXPECT_EQ(slow.get(), 200);
  EXPECT_GE(elapsed_ms(start), 600);
}

TEST(WebhookReceiverFixture, KeepAliveUsesOneConnection) {
  WebhookReceiver hook;
  HttpClient client("127.0.0.1", hook.port());
  EXPECT_EQ(client.post("/a", "1").status, 200);
  EXPECT_EQ(client.post("/b", "2").status, 200);
  EXPECT_EQ(client.get("/c").status, 200);
  EXPECT_EQ(hook.connections_accepted(), 1u);
  EXPECT_EQ(client.connections_opened(), 1u);
  auto reqs = hook.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].connection_id, reqs[2].connection_id);
}

TEST(WebhookReceiverFixture, ClientReconnectsWhenServerCloses) {
  WebhookReceiver hook;
  hook.set_handler([](const RecordedRequest& req) {
    WebhookResponse res;
    res.close_connection = req.target == "/close";
    return res;
  });
  HttpClient client("127.0.0.1", hook.port());
  HttpResponse closing = client.get("/close");
  EXPECT_EQ(closing.status, 200);
  EXPECT_EQ(closing.header("connection"), "close");
  EXPECT_EQ(client.get("/again").status, 200);
  EXPECT_EQ(hook.connections_accepted(), 2u);

  // A server-side idle close the client does not hear about: retried on a fresh connection.
  WebhookReceiverOptions short_idle;
  short_idle.idle_timeout = 100ms;
  WebhookReceiver idle(short_idle);
  HttpClient c2("127.0.0.1", idle.port());
  EXPECT_EQ(c2.get("/1").status, 200);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(c2.get("/2").status, 200);
  EXPECT_EQ(idle.connections_accepted(), 2u);
  EXPECT_EQ(idle.count(), 2u);
}

TEST(WebhookReceiverFixture, DroppedConnectionFailsTheClient) {
  WebhookReceiver hook;
  WebhookResponse drop;
  drop.drop_connection = true;
  hook.set_default_response(drop);
  HttpClient client("127.0.0.1", hook.port());
  EXPECT_THROW(client.post("/x", "{}"), std::system_error);
  EXPECT_EQ(hook.count(), 1u);
}

TEST(WebhookReceiverFixture, RawRequests) {
  WebhookReceiver hook;
  std::string ok = raw_request(hook.port(), "GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
  auto start = std::chrono::steady_clock::now();
  std::string bad = raw_request(hook.port(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(bad, "");  // the receiver closes on a parse error
  EXPECT_LT(elapsed_ms(start), 2000);
  // Keep-alive request without close: read until the 300 ms deadline.
  start = std::chrono::steady_clock::now();
  std::string open = raw_request(hook.port(), "GET /k HTTP/1.1\r\nHost: x\r\n\r\n", 300ms);
  EXPECT_NE(open.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_GE(elapsed_ms(start), 290);
  EXPECT_EQ(hook.count(), 2u);
}

TEST(WebhookReceiverFixture, HttpsWithTestCertificate) {
  TempDir dir("ms-cert");
  TestCertificate cert = make_test_certificate(dir.path());
  WebhookReceiverOptions options;
  options.cert_file = cert.cert_file;
  options.key_file = cert.key_file;
  WebhookReceiver hook(options);
  EXPECT_TRUE(hook.tls());
  EXPECT_EQ(hook.url("/h"), "https://127.0.0.1:" + std::to_string(hook.port()) + "/h");

  HttpClientOptions tls;
  tls.ca_file = cert.cert_file;
  HttpClient client("127.0.0.1", hook.port(), tls);
  EXPECT_EQ(client.post("/h", R"({"secure":true})").status, 200);
  EXPECT_EQ(client.post("/h2", "{}").status, 200);  // keep-alive over TLS
  EXPECT_EQ(hook.connections_accepted(), 1u);
  ASSERT_EQ(hook.count(), 2u);
  EXPECT_TRUE(hook.requests()[0].json().at("secure").as_bool());

  HttpClient localhost("localhost", hook.port(), tls);  // DNS SAN + SNI
  EXPECT_EQ(localhost.get("/").status, 200);

  HttpClientOptions system_cas;  // does not trust the self-signed certificate
  system_cas.tls = true;
  HttpClient untrusting("127.0.0.1", hook.port(), system_cas);
  EXPECT_THROW(untrusting.get("/"), std::system_error);
  EXPECT_EQ(hook.count(), 3u);
  for (int i = 0; i < 100 && hook.tls_handshake_failures() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(hook.tls_handshake_failures(), 1u);
}

}  // namespace
}  // namespace ms::test

// ---- the Prometheus text parser the metrics tests rely on -------------------------

namespace ms::test {
namespace {

TEST(PrometheusTextParser, ReadsSamplesAndRejectsWhatPrometheusWould) {
  const std::string good =
      "# HELP c_total A counter.\n# TYPE c_total counter\nc_total{a=\"x\\\"y\",b=\"\"} 3\n"
      "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.7\nh_count 2\n";
  auto m = parse_prometheus_text(good);
  EXPECT_EQ(m.value("c_total", {{"a", "x\"y"}, {"b", ""}}), 3.0);
  EXPECT_EQ(m.value("h_count"), 2.0);
  for (const std::string& bad : {
           std::string("c_total 1\n"),                                         // no TYPE
           std::string("# TYPE c counter\nc{a=x} 1\n"),                       // unquoted value
           std::string("# TYPE c counter\nc{a=\"x} 1\n"),                     // unterminated
           std::string("# TYPE c counter\nc 1 2 3\n"),                        // trailing text
           std::string("# TYPE c counter\nc one\n"),                          // not a number
           std::string("# TYPE c counter\n1c 1\n"),                           // bad name
           std::string("# TYPE c counter\n# TYPE c gauge\nc 1\n"),            // two TYPEs
           std::string("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"),  // not cumulative
           std::string("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n"),  // +Inf != count
       }) {
    EXPECT_THROW(parse_prometheus_text(bad), std::runtime_error) << bad;
  }
}

}  // namespace
}  // namespace ms::test
