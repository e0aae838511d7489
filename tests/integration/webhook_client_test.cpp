// ms::http::WebhookClient against real receivers (tests/support/webhook_receiver.h):
// keep-alive pooling, the pool cap, stale connections, timeouts, the SSRF
// guard, HTTPS verification, redirects and response size limits.
//
// Each test runs the client on an io_context in the test thread, driven by
// run_until() with a bound; the receiver serves on its own thread.
#include "http/webhook_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "http/ssrf_guard.h"
#include "support/child_process.h"
#include "support/webhook_receiver.h"

namespace ms::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::RecordedRequest;
using test::WebhookReceiver;
using test::WebhookReceiverOptions;
using Failure = WebhookResponse::Failure;
using Reply = test::WebhookResponse;  // what the receiver answers

std::int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count();
}

// Runs the io_context in this thread until `done` or `limit`.
bool run_until(asio::io_context& ioc, const std::function<bool()>& done, std::chrono::milliseconds limit = 15s) {
  ioc.restart();
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) return false;
    // Short slices: `done` may turn true on another thread (the receiver) with no
    // handler of ours to wake us, and it may be true only for a moment.
    auto slice = std::min<std::chrono::steady_clock::duration>(end - now, std::chrono::milliseconds(5));
    if (ioc.run_one_for(slice) == 0 && ioc.stopped()) {  // no work of ours left: wait for the other thread
      ioc.restart();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return true;
}

void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

// Starts a post() now; the result lands in *out when it completes.
void spawn_post(asio::io_context& ioc, WebhookClient& client, WebhookRequest req, std::optional<WebhookResponse>* out) {
  auto task = [&client, out, r = std::move(req)]() mutable -> asio::awaitable<void> {
    WebhookRequest local = std::move(r);
    asio::awaitable<WebhookResponse> op = client.post(std::move(local));
    WebhookResponse res = co_await std::move(op);
    *out = std::move(res);
  };
  asio::co_spawn(ioc, std::move(task), rethrow);
}

WebhookResponse post(asio::io_context& ioc, WebhookClient& client, WebhookRequest req) {
  std::optional<WebhookResponse> out;
  spawn_post(ioc, client, std::move(req), &out);
  EXPECT_TRUE(run_until(ioc, [&] { return out.has_value(); })) << "post() did not finish";
  return out.value_or(WebhookResponse{});
}

WebhookResponse post(asio::io_context& ioc, WebhookClient& client, const std::string& url, std::string body = "{}") {
  WebhookRequest req;
  req.url = url;
  req.body = std::move(body);
  return post(ioc, client, std::move(req));
}

// Lets the client's own timers (idle sweeping) run for a while.
void run_for(asio::io_context& ioc, std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  run_until(ioc, [&] { return std::chrono::steady_clock::now() >= end; }, d + 1s);
}

// A receiver answer: 200 unless `edit` changes it.
Reply reply(const std::function<void(Reply&)>& edit) {
  Reply r;
  edit(r);
  return r;
}

Reply delayed(std::chrono::milliseconds d) {
  return reply([d](Reply& r) { r.delay = d; });
}

WebhookClientOptions allow_loopback() {
  WebhookClientOptions o;
  std::vector<std::string> allow{"127.0.0.0/8"};
  o.guard = std::make_shared<SsrfGuard>(std::move(allow));
  return o;
}

std::string describe(const WebhookResponse& r) {
  return "status=" + std::to_string(r.status) + " failure=" + std::string(to_string(r.failure)) + " error=" + r.error;
}

// ---- basic request / response ------------------------------------------------------

TEST(WebhookClient, PostsBodyAndHeadersAndReadsResponse) {
  WebhookReceiver hook;
  hook.set_handler([](const RecordedRequest&) {
    Reply r;
    r.status = 200;
    r.headers = {{"X-Reply", "yes"}, {"Content-Type", "application/json"}};
    r.body = R"({"ok":true})";
    return r;
  });
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), allow_loopback());

  WebhookRequest req;
  req.url = hook.url("/events?x=1&y=%20z");
  req.headers = {{"webhook-id", "msg_1"}, {"X-Custom", "v"}};
  req.body = R"({"data":42})";
  WebhookResponse res = post(ioc, client, std::move(req));

  ASSERT_EQ(res.failure, Failure::none) << describe(res);
  EXPECT_TRUE(res.error.empty());
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, R"({"ok":true})");
  EXPECT_FALSE(res.body_truncated);
  EXPECT_EQ(res.header("x-reply"), std::optional<std::string_view>("yes"));
  EXPECT_EQ(res.header("server"), std::optional<std::string_view>("ms-test-webhook-receiver"));
  EXPECT_FALSE(res.header("nope").has_value());

  ASSERT_EQ(hook.count(), 1u);
  RecordedRequest got = hook.requests().at(0);
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/events?x=1&y=%20z");
  EXPECT_EQ(got.body, R"({"data":42})");
  EXPECT_EQ(got.header("content-type"), "application/json");
  EXPECT_EQ(got.header("content-length"), "11");
  EXPECT_EQ(got.header("user-agent"), "messaging_service/0.1");
  EXPECT_EQ(got.header("host"), "127.0.0.1:" + std::to_string(hook.port()));
  EXPECT_EQ(got.header("webhook-id"), "msg_1");
  EXPECT_EQ(got.header("x-custom"), "v");
}

TEST(WebhookClient, CallerContentTypeReplacesDefaultAndFramingHeadersAreIgnored) {
  WebhookReceiver hook;
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), allow_loopback());
  WebhookRequest req;
  req.url = hook.url();  // path "/" and no query
  req.headers = {{"Content-Type", "application/cloudevents+json"}, {"Content-Length", "999"}, {"Host", "evil"}};
  req.body = "{}";
  WebhookResponse res = post(ioc, client, std::move(req));
  ASSERT_EQ(res.status, 200) << describe(res);
  RecordedRequest got = hook.requests().at(0);
  EXPECT_EQ(got.target, "/");
  EXPECT_EQ(got.header("content-type"), "application/cloudevents+json");
  EXPECT_EQ(got.header("content-length"), "2");
  EXPECT_EQ(got.header("host"), "127.0.0.1:" + std::to_string(hook.port()));
}

TEST(WebhookClient, RejectsBadUrlsAndHeadersWithoutNetwork) {
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), {});
  for (const char* url : {"ftp://example.com/x", "not a url", "/relative/path", "http://127.0.0.1:99999/",
                          "http://127.0.0.1:0/", "http:///nohost", "mailto:a@b.c"}) {
    WebhookResponse res = post(ioc, client, url);
    EXPECT_EQ(res.failure, Failure::bad_url) << url << ": " << describe(res);
    EXPECT_EQ(res.status, 0);
    EXPECT_FALSE(res.error.empty());
  }
  WebhookRequest req;
  req.url = "http://127.0.0.1:1/";
  req.headers = {{"x-evil", "a\r\nInjected: yes"}};
  EXPECT_EQ(post(ioc, client, std::move(req)).failure, Failure::bad_url);
  EXPECT_EQ(client.stats().created, 0u);
}

TEST(WebhookClient, RedirectIsNotFollowed) {
  WebhookReceiver hook;
  hook.set_default_response(reply([](Reply& r) {
    r.status = 302;
    r.headers = {{"Location", "http://127.0.0.1:1/elsewhere"}};
  }));
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), allow_loopback());
  WebhookResponse res = post(ioc, client, hook.url("/hook"));
  EXPECT_EQ(res.failure, Failure::none) << describe(res);
  EXPECT_EQ(res.status, 302);
  EXPECT_EQ(res.header("location"), std::optional<std::string_view>("http://127.0.0.1:1/elsewhere"));
  EXPECT_EQ(hook.count(), 1u);
}

// ---- pooling -------------------------------------------------------------------------

TEST(WebhookClient, KeepAliveReusesOneConnection) {
  WebhookReceiver hook;
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), allow_loopback());
  for (int i = 0; i < 3; ++i) {
    WebhookResponse res = post(ioc, client, hook.url("/k"), "{\"i\":" + std::to_string(i) + "}");
    ASSERT_EQ(res.status, 200) << describe(res);
  }
  EXPECT_EQ(hook.count(), 3u);
  EXPECT_EQ(hook.connections_accepted(), 1u);
  auto s = client.stats();
  EXPECT_EQ(s.created, 1u);
  EXPECT_EQ(s.reused, 2u);
  EXPECT_EQ(s.stale_retries, 0u);
  EXPECT_EQ(s.origins, 1u);
  EXPECT_EQ(s.open, 1u);
  EXPECT_EQ(s.idle, 1u);
}

TEST(WebhookClient, PoolCapMakesCallersWaitForAConnection) {
  WebhookReceiver hook;
  hook.set_default_response(delayed(200ms));
  asio::io_context ioc;
  WebhookClientOptions opts = allow_loopback();
  opts.max_connections_per_origin = 2;
  WebhookClient client(ioc.get_executor(), opts);

  constexpr int kPosts = 5;
  std::vector<std::optional<WebhookResponse>> results(kPosts);
  for (int i = 0; i < kPosts; ++i) {
    WebhookRequest req;
    req.url = hook.url("/slow");
    req.body = "{}";
    spawn_post(ioc, client, std::move(req), &results[i]);
  }
  std::size_t max_open = 0;
  std::size_t max_waiting = 0;
  auto all_done = [&] {
    auto s = client.stats();
    max_open = std::max(max_open, s.open);
    max_waiting = std::max(max_waiting, s.waiting);
    for (const auto& r : results) {
      if (!r) return false;
    }
    return true;
  };
  ASSERT_TRUE(run_until(ioc, all_done));
  for (const auto& r : results) EXPECT_EQ(r->status, 200) << describe(*r);
  EXPECT_LE(hook.connections_accepted(), 2u);
  EXPECT_LE(max_open, 2u);
  EXPECT_GE(max_waiting, 1u);
  auto s = client.stats();
  EXPECT_LE(s.created, 2u);
  EXPECT_EQ(s.reused + s.created, static_cast<std::uint64_t>(kPosts));
  EXPECT_EQ(s.waiting, 0u);
}

TEST(WebhookClient, WaitingForAFullPoolIsBoundedByTheTimeout) {
  WebhookReceiver hook;
  hook.set_default_response(delayed(800ms));
  asio::io_context ioc;
  WebhookClientOptions opts = allow_loopback();
  opts.max_connections_per_origin = 1;
  WebhookClient client(ioc.get_executor(), opts);

  std::optional<WebhookResponse> first;
  std::optional<WebhookResponse> second;
  WebhookRequest a;
  a.url = hook.url("/a");
  a.timeout = 5s;
  WebhookRequest b;
  b.url = hook.url("/b");
  b.timeout = 200ms;
  spawn_post(ioc, client, std::move(a), &first);
  spawn_post(ioc, client, std::move(b), &second);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(ioc, [&] { return second.has_value(); }));
  EXPECT_LT(elapsed_ms(start), 700);
  EXPECT_EQ(second->failure, Failure::timeout) << describe(*second);
  EXPECT_NE(second->error.find("waiting for a free connection"), std::string::npos) << second->error;
  ASSERT_TRUE(run_until(ioc, [&] { return first.has_value(); }));
  EXPECT_EQ(first->status, 200) << describe(*first);
  EXPECT_EQ(hook.count(), 1u);
  EXPECT_EQ(client.stats().waiting, 0u);
}

TEST(WebhookClient, ConnectionClosedByServerIsNotReused) {
  WebhookReceiver hook;
  hook.set_default_response(reply([](Reply& r) { r.close_connection = true; }));
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), allow_loopback());
  for (int i = 0; i < 2; ++i) ASSERT_EQ(post(ioc, client, hook.url()).status, 200);
  EXPECT_EQ(hook.connections_accepted(), 2u);
  auto s = client.stats();
  EXPECT_EQ(s.reused, 0u);
  EXPECT_EQ(s.stale_retries, 0u);
  EXPECT_EQ(s.idle, 0u);
  EXPECT_EQ(s.open, 0u);
}

TEST(WebhookClient, IdleConnectionClosedByServerIsReplaced) {
  WebhookReceiverOptions ro;
  ro.idle_timeout = 100ms;  // the receiver closes keep-alive connections idle this long
  WebhookReceiver hook(ro);
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), allow_loopback());
  ASSERT_EQ(post(ioc, client, hook.url()).status, 200);
  std::this_thread::sleep_for(400ms);
  WebhookResponse res = post(ioc, client, hook.url());
  EXPECT_EQ(res.status, 200) << describe(res);
  EXPECT_EQ(hook.connections_accepted(), 2u);
  EXPECT_EQ(hook.count(), 2u);
  auto s = client.stats();
  EXPECT_EQ(s.created, 2u);
  // Found dead before use (a closed socket is readable at EOF), or at worst retried once.
  EXPECT_LE(s.stale_retries, 1u);
}

TEST(WebhookClient, StalePooledConnectionIsRetriedOnceOnAFreshOne) {
  WebhookReceiver hook;
  // The second request is read and then the connection dropped without an
  // answer: for the client a pooled connection that died under it.
  hook.set_handler([&hook](const RecordedRequest&) {
    Reply r;
    if (hook.count() == 2) r.drop_connection = true;
    return r;
  });
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), allow_loopback());
  ASSERT_EQ(post(ioc, client, hook.url("/1")).status, 200);
  WebhookResponse res = post(ioc, client, hook.url("/2"));
  EXPECT_EQ(res.failure, Failure::none) << describe(res);
  EXPECT_EQ(res.status, 200);
  auto s = client.stats();
  EXPECT_EQ(s.stale_retries, 1u);
  EXPECT_EQ(s.created, 2u);
  EXPECT_EQ(hook.connections_accepted(), 2u);
  EXPECT_EQ(hook.count(), 3u);  // at-least-once: the dropped attempt was received too
}

TEST(WebhookClient, FreshConnectionDroppedIsNotRetried) {
  WebhookReceiver hook;
  hook.set_default_response(reply([](Reply& r) { r.drop_connection = true; }));
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), allow_loopback());
  WebhookResponse res = post(ioc, client, hook.url());
  EXPECT_EQ(res.failure, Failure::protocol) << describe(res);
  EXPECT_EQ(res.status, 0);
  EXPECT_EQ(hook.count(), 1u);
  EXPECT_EQ(client.stats().stale_retries, 0u);
  EXPECT_EQ(client.stats().open, 0u);
}

TEST(WebhookClient, IdleConnectionsAreClosedAfterIdleTimeout) {
  WebhookReceiver hook;
  asio::io_context ioc;
  WebhookClientOptions opts = allow_loopback();
  opts.idle_timeout = 100ms;
  WebhookClient client(ioc.get_executor(), opts);
  ASSERT_EQ(post(ioc, client, hook.url()).status, 200);
  EXPECT_EQ(client.stats().idle, 1u);
  run_for(ioc, 400ms);
  auto s = client.stats();
  EXPECT_EQ(s.idle, 0u);
  EXPECT_EQ(s.open, 0u);
  EXPECT_EQ(s.origins, 0u);
}

TEST(WebhookClient, LargeResponseBodyIsTruncatedAndConnectionNotReused) {
  WebhookReceiver hook;
  hook.set_default_response(reply([](Reply& r) { r.body = std::string(100000, 'x'); }));
  asio::io_context ioc;
  WebhookClientOptions opts = allow_loopback();
  opts.max_response_body = 1024;
  WebhookClient client(ioc.get_executor(), opts);
  WebhookResponse res = post(ioc, client, hook.url());
  EXPECT_EQ(res.failure, Failure::none) << describe(res);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, std::string(1024, 'x'));
  EXPECT_TRUE(res.body_truncated);
  EXPECT_EQ(client.stats().idle, 0u);
  ASSERT_EQ(post(ioc, client, hook.url()).status, 200);
  EXPECT_EQ(hook.connections_accepted(), 2u);
  EXPECT_EQ(client.stats().reused, 0u);
}

// ---- failures ------------------------------------------------------------------------

TEST(WebhookClient, TimeoutBoundsTheWholeCall) {
  WebhookReceiver hook;
  hook.set_default_response(delayed(2s));
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), allow_loopback());
  WebhookRequest req;
  req.url = hook.url("/slow");
  req.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  WebhookResponse res = post(ioc, client, std::move(req));
  const auto took = elapsed_ms(start);
  EXPECT_EQ(res.failure, Failure::timeout) << describe(res);
  EXPECT_EQ(res.status, 0);
  EXPECT_EQ(res.error.rfind("timeout after 300 ms", 0), 0u) << res.error;
  EXPECT_GE(took, 250);
  EXPECT_LT(took, 1000);
  EXPECT_EQ(client.stats().open, 0u);  // a timed-out connection is not pooled
  EXPECT_EQ(client.stats().idle, 0u);
}

TEST(WebhookClient, ConnectionRefusedIsConnectFailure) {
  const std::uint16_t port = test::free_port();  // nothing listens there
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), allow_loopback());
  WebhookResponse res = post(ioc, client, "http://127.0.0.1:" + std::to_string(port) + "/x");
  EXPECT_EQ(res.failure, Failure::connect) << describe(res);
  EXPECT_NE(res.error.find("connection refused"), std::string::npos) << res.error;
  EXPECT_EQ(client.stats().open, 0u);
  EXPECT_EQ(client.stats().origins, 0u);
}

TEST(WebhookClient, UnresolvableHostIsConnectFailure) {
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), {});
  WebhookRequest req;
  req.url = "http://no-such-host.invalid/x";  // .invalid never resolves (RFC 6761)
  req.timeout = 5s;
  WebhookResponse res = post(ioc, client, std::move(req));
  EXPECT_TRUE(res.failure == Failure::connect || res.failure == Failure::timeout) << describe(res);
  EXPECT_NE(res.error.find("no-such-host.invalid"), std::string::npos) << res.error;
}

TEST(WebhookClient, SsrfGuardRefusesLoopbackUnlessAllowed) {
  WebhookReceiver hook;
  asio::io_context ioc;
  {
    WebhookClientOptions opts;
    opts.guard = std::make_shared<SsrfGuard>();
    WebhookClient client(ioc.get_executor(), opts);
    WebhookResponse res = post(ioc, client, hook.url("/x"));
    EXPECT_EQ(res.failure, Failure::refused_address) << describe(res);
    EXPECT_EQ(res.status, 0);
    EXPECT_NE(res.error.find("127.0.0.1"), std::string::npos) << res.error;
    EXPECT_NE(res.error.find("loopback"), std::string::npos) << res.error;
    // A name is judged by what it resolves to (DNS rebinding gets no further).
    WebhookResponse by_name = post(ioc, client, "http://localhost:" + std::to_string(hook.port()) + "/x");
    EXPECT_EQ(by_name.failure, Failure::refused_address) << describe(by_name);
    EXPECT_NE(by_name.error.find("loopback"), std::string::npos) << by_name.error;
    EXPECT_EQ(client.stats().origins, 0u);
  }
  EXPECT_EQ(hook.connections_accepted(), 0u);
  EXPECT_EQ(hook.count(), 0u);

  WebhookClient allowed(ioc.get_executor(), allow_loopback());
  EXPECT_EQ(post(ioc, allowed, hook.url("/x")).status, 200);
  WebhookResponse by_name = post(ioc, allowed, "http://localhost:" + std::to_string(hook.port()) + "/x");
  EXPECT_EQ(by_name.status, 200) << describe(by_name);
  EXPECT_EQ(hook.count(), 2u);
}

TEST(WebhookClient, CloseAllFailsLaterPosts) {
  WebhookReceiver hook;
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), allow_loopback());
  ASSERT_EQ(post(ioc, client, hook.url()).status, 200);
  client.close_all();
  EXPECT_EQ(client.stats().open, 0u);
  WebhookResponse res = post(ioc, client, hook.url());
  EXPECT_EQ(res.failure, Failure::connect) << describe(res);
  EXPECT_EQ(hook.count(), 1u);
}

TEST(WebhookClient, CloseAllWakesWaitersAndFailsBusyCalls) {
  WebhookReceiver hook;
  hook.set_default_response(delayed(2s));
  asio::io_context ioc;
  WebhookClientOptions opts = allow_loopback();
  opts.max_connections_per_origin = 1;
  WebhookClient client(ioc.get_executor(), opts);
  std::optional<WebhookResponse> busy;
  std::optional<WebhookResponse> waiting;
  WebhookRequest a;
  a.url = hook.url("/a");
  WebhookRequest b;
  b.url = hook.url("/b");
  spawn_post(ioc, client, std::move(a), &busy);
  spawn_post(ioc, client, std::move(b), &waiting);
  ASSERT_TRUE(run_until(ioc, [&] { return hook.count() == 1 && client.stats().waiting == 1; }));
  const auto start = std::chrono::steady_clock::now();
  client.close_all();
  ASSERT_TRUE(run_until(ioc, [&] { return busy && waiting; }));
  EXPECT_LT(elapsed_ms(start), 1000);
  EXPECT_NE(busy->failure, Failure::none) << describe(*busy);
  EXPECT_EQ(waiting->failure, Failure::connect) << describe(*waiting);
  auto s = client.stats();
  EXPECT_EQ(s.open, 0u);
  EXPECT_EQ(s.origins, 0u);
}

// ---- HTTPS ---------------------------------------------------------------------------

class WebhookClientTls : public ::testing::Test {
 protected:
  test::TempDir dir_{"ms-webhook-tls"};
};

TEST_F(WebhookClientTls, HttpsWithTestCaIsVerifiedAndKeptAlive) {
  test::TestCertificate cert = test::make_test_certificate(dir_.path());
  WebhookReceiverOptions ro;
  ro.cert_file = cert.cert_file;
  ro.key_file = cert.key_file;
  WebhookReceiver hook(ro);
  asio::io_context ioc;
  WebhookClientOptions opts = allow_loopback();
  opts.ca_file = cert.cert_file;
  WebhookClient client(ioc.get_executor(), opts);

  WebhookRequest req;
  req.url = hook.url("/secure");
  ASSERT_EQ(req.url.rfind("https://127.0.0.1:", 0), 0u);
  req.body = R"({"tls":true})";
  WebhookResponse res = post(ioc, client, std::move(req));
  ASSERT_EQ(res.failure, Failure::none) << describe(res);
  EXPECT_EQ(res.status, 200);
  ASSERT_EQ(post(ioc, client, hook.url("/again")).status, 200);
  EXPECT_EQ(hook.connections_accepted(), 1u);  // TLS connection kept alive
  EXPECT_EQ(client.stats().reused, 1u);
  EXPECT_EQ(hook.requests().at(0).body, R"({"tls":true})");

  // By name: SNI is sent and the DNS SAN is checked.
  WebhookResponse by_name = post(ioc, client, "https://localhost:" + std::to_string(hook.port()) + "/name");
  EXPECT_EQ(by_name.status, 200) << describe(by_name);
  EXPECT_EQ(hook.tls_handshake_failures(), 0u);
}

TEST_F(WebhookClientTls, UntrustedCertificateIsTlsFailure) {
  test::TestCertificate cert = test::make_test_certificate(dir_.path());
  WebhookReceiverOptions ro;
  ro.cert_file = cert.cert_file;
  ro.key_file = cert.key_file;
  WebhookReceiver hook(ro);
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), allow_loopback());  // system CAs only
  WebhookResponse res = post(ioc, client, hook.url("/x"));
  EXPECT_EQ(res.failure, Failure::tls) << describe(res);
  EXPECT_EQ(res.error.rfind("tls: ", 0), 0u) << res.error;
  EXPECT_NE(res.error.find("certificate verify failed"), std::string::npos) << res.error;
  EXPECT_EQ(hook.count(), 0u);
  EXPECT_EQ(client.stats().open, 0u);
}

TEST_F(WebhookClientTls, CertificateForAnotherNameIsTlsFailure) {
  const std::string openssl = test::find_executable("openssl", "/usr/bin/openssl");
  ASSERT_FALSE(openssl.empty());
  const std::string cert_file = dir_.file("other.pem");
  const std::string key_file = dir_.file("other.key");
  test::RunResult made = test::run_command({openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                                            "/CN=other.test", "-addext", "subjectAltName=DNS:other.test", "-days", "2",
                                            "-keyout", key_file, "-out", cert_file},
                                           60s);
  ASSERT_EQ(made.exit_code, 0) << made.stderr_text;
  WebhookReceiverOptions ro;
  ro.cert_file = cert_file;
  ro.key_file = key_file;
  WebhookReceiver hook(ro);
  asio::io_context ioc;
  WebhookClientOptions opts = allow_loopback();
  opts.ca_file = cert_file;  // trusted, but not for 127.0.0.1 or localhost
  WebhookClient client(ioc.get_executor(), opts);
  WebhookResponse res = post(ioc, client, hook.url("/x"));
  EXPECT_EQ(res.failure, Failure::tls) << describe(res);
  EXPECT_EQ(res.error.rfind("tls: certificate verify failed", 0), 0u) << res.error;
  EXPECT_NE(res.error.find("IP address mismatch"), std::string::npos) << res.error;
  WebhookResponse by_name = post(ioc, client, "https://localhost:" + std::to_string(hook.port()) + "/x");
  EXPECT_EQ(by_name.failure, Failure::tls) << describe(by_name);
  EXPECT_NE(by_name.error.find("hostname mismatch"), std::string::npos) << by_name.error;
  EXPECT_EQ(hook.count(), 0u);
  EXPECT_EQ(client.stats().open, 0u);
}

TEST_F(WebhookClientTls, BadCaFileThrowsAtConstruction) {
  asio::io_context ioc;
  WebhookClientOptions opts;
  opts.ca_file = dir_.file("missing.pem");
  EXPECT_THROW(WebhookClient(ioc.get_executor(), opts), std::exception);
}

}  // namespace
}  // namespace ms::http
