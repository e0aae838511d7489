// The outgoing HTTP(S) client that delivers webhooks: one POST per call, with
// per-origin keep-alive pools, a total deadline per call, TLS with peer and
// host name verification, and the SSRF guard applied to every address it
// actually connects to.
//
//   WebhookClient client(ioc.get_executor(), {.guard = std::make_shared<SsrfGuard>()});
//   WebhookRequest req{.url = "https://billing.internal/hooks", .body = envelope};
//   WebhookResponse res = co_await client.post(std::move(req));
//   if (res.failure != WebhookResponse::Failure::none) ... res.error ...
//
// Threading: one WebhookClient per shard; every call (post, stats, close_all,
// the destructor) is made on the executor given to the constructor, which must
// be single-threaded (an io_context run by one thread). post() never blocks
// the thread and never throws: every failure comes back in the response.
//
// Lifetime: in-flight post() calls keep the client's internals alive, so the
// client may be destroyed while they run (they then fail quickly, as after
// close_all()). Beast stays inside webhook_client.cpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ms::http {

class SsrfGuard;  // http/ssrf_guard.h

struct WebhookRequest {
  std::string url;  // http:// or https://; the fragment is ignored, userinfo is not sent
  // Sent after the client's own headers. A caller's content-type or user-agent
  // replaces the default; host, content-length, transfer-encoding and
  // connection are the client's to set and are ignored here.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent as POST
  std::chrono::milliseconds timeout{10000};  // total: pool wait + DNS + connect + TLS + write + read
};

struct WebhookResponse {
  int status = 0;  // 0 when no response (see error)
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names, in order, repeats kept
  std::string body;  // at most max_response_body bytes
  bool body_truncated = false;  // the body was longer than max_response_body (the connection is then closed)
  // Empty on a response; else e.g. "timeout after 10000 ms (reading response)",
  // "connect to 127.0.0.1:9 failed: connection refused",
  // "address 10.0.0.1 is not allowed (private)", "tls: certificate verify failed".
  std::string error;
  enum class Failure {
    none,             // a response arrived (any status, 3xx included: redirects are not followed)
    timeout,          // the request's timeout ran out, in any phase
    connect,          // DNS failure, TCP connect failure, client closed
    tls,              // handshake or certificate verification failed
    refused_address,  // every resolved address was refused by the SSRF guard
    protocol,         // the connection broke or the peer did not speak HTTP/1.x properly
    bad_url,          // not an absolute http(s) URL, bad port, bad header
  } failure = Failure::none;

  // First value of the header (name in lower case); nullopt if absent.
  std::optional<std::string_view> header(std::string_view lower_name) const;
};

std::string_view to_string(WebhookResponse::Failure failure);  // "none", "timeout", ...

struct WebhookClientOptions {
  // Pool cap per origin (scheme + host + port), counting connections being
  // opened, in use and idle. Callers beyond it wait for a free connection
  // (bounded by their timeout), first come first served.
  std::size_t max_connections_per_origin = 32;
  std::chrono::milliseconds idle_timeout{30000};  // idle pooled connections are closed after this
  std::string ca_file;  // extra CA file (PEM) trusted besides the system store
  std::size_t max_response_body = 64 * 1024;
  std::size_t max_response_header = 32 * 1024;  // status line + headers; larger → Failure::protocol
  std::shared_ptr<const SsrfGuard> guard;  // null = allow every address
  std::string user_agent = "messaging_service/0.1";
};

class WebhookClient {
 public:
  // Throws boost::system::system_error when ca_file cannot be loaded.
  WebhookClient(boost::asio::any_io_executor ex, WebhookClientOptions opts);
  ~WebhookClient();  // close_all()
  WebhookClient(const WebhookClient&) = delete;
  WebhookClient& operator=(const WebhookClient&) = delete;

  // Sends req.body as an HTTP/1.1 POST and reads the response. At most one
  // retry, on a fresh connection, when a pooled connection turns out to have
  // been closed by the server before it answered anything.
  boost::asio::awaitable<WebhookResponse> post(WebhookRequest req);

  struct PoolStats {
    std::size_t origins = 0;  // origins with at least one connection or waiter
    std::size_t open = 0;     // connections open or being opened
    std::size_t idle = 0;     // of which idle in a pool
    std::uint64_t created = 0;        // connections established (TCP + TLS done), ever
    std::uint64_t reused = 0;         // requests sent on a pooled connection, ever
    std::uint64_t stale_retries = 0;  // retries after a pooled connection was found closed, ever
    std::size_t waiting = 0;          // callers waiting for a connection (pool cap reached)
  };
  PoolStats stats() const;

  // For shutdown: closes idle and busy connections (busy calls fail), wakes
  // waiters with an error, and makes later post() calls fail at once.
  void close_all();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ms::http
