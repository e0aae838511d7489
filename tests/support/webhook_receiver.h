// A real HTTP/1.1 (optionally HTTPS) server that plays a subscriber's webhook
// endpoint: it records every request and answers as the test scripts it.
//
//   WebhookReceiver hook;                      // listening on 127.0.0.1:<port> already
//   hook.set_handler([](const RecordedRequest& r) {
//     return WebhookResponse{.status = 503, .headers = {{"retry-after", "1"}}};
//   });
//   ... subscribe hook.url("/events") ...
//   ASSERT_TRUE(hook.wait_for_count(1, std::chrono::seconds(5)));
//
// Threading: Beast runs on a private io_context on its own thread (all of it in
// webhook_receiver.cpp). The handler runs on that thread; every public method is
// thread-safe. The destructor stops the io_context and joins the thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

namespace ms::test {

struct RecordedRequest {
  std::string method;  // "POST"
  std::string target;  // "/events?x=1"
  std::map<std::string, std::string> headers;  // lower-case names; repeats joined with ", "
  std::string body;
  std::int64_t steady_ms = 0;  // arrival, steady_clock since its epoch
  std::int64_t system_ms = 0;  // arrival, Unix time
  std::uint64_t connection_id = 0;  // 1-based, in order of accept

  // Header value by (any-case) name; empty if absent.
  std::string header(const std::string& name) const;
  bool has_header(const std::string& name) const;
  boost::json::value json() const;  // parses body; throws on invalid JSON
};

struct WebhookResponse {
  int status = 200;
  std::map<std::string, std::string> headers;  // extra headers
  std::string body;
  std::chrono::milliseconds delay{0};  // wait (timer, not blocking) before answering
  bool close_connection = false;       // answer with Connection: close, then close
  bool drop_connection = false;        // after the delay, close without answering
};

struct WebhookReceiverOptions {
  // Both set: HTTPS with this certificate chain and key (PEM files).
  std::string cert_file;
  std::string key_file;
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(30);  // per connection, between requests
};

class WebhookReceiver {
 public:
  using Handler = std::function<WebhookResponse(const RecordedRequest&)>;

  // Binds 127.0.0.1:0 and starts serving before returning.
  explicit WebhookReceiver(WebhookReceiverOptions options = {});
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::uint16_t port() const;
  bool tls() const;
  std::string url(const std::string& path = "/") const;  // http(s)://127.0.0.1:<port><path>

  // Used when no handler is set (initially 200, empty body, no delay).
  void set_default_response(WebhookResponse response);
  // Called for each request after it is recorded; empty function: default response.
  void set_handler(Handler handler);

  std::vector<RecordedRequest> requests() const;  // copy, in arrival order
  std::size_t count() const;
  // True once at least n requests were recorded; false after the timeout.
  bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout) const;
  void clear();  // forgets recorded requests (counters stay)

  std::uint64_t connections_accepted() const;
  std::uint64_t tls_handshake_failures() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct TestCertificate {
  std::string cert_file;  // self-signed, CN=localhost, SAN IP:127.0.0.1 and DNS:localhost
  std::string key_file;   // RSA 2048, unencrypted
};
// Runs `openssl req -x509 ...` (fork/exec) writing cert.pem and key.pem into dir.
// Throws std::runtime_error with openssl's output if it fails.
TestCertificate make_test_certificate(const std::string& dir);

}  // namespace ms::test
