#include "observe/otlp_exporter.h"

#include "base/clock.h"
#include "observe/log.h"
#include "observe/otlp_json.h"
#include "observe/otlp_metrics.h"

#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace ms::observe {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxResponseBody = 1024 * 1024;  // a collector answers with a few bytes
constexpr std::chrono::milliseconds kStopGrace{250};   // past the shutdown deadline, before ioc.stop()

std::string message_of(const beast::error_code& ec) {
  std::string m = ec.message();
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}

std::string endpoint_text(const tcp::endpoint& ep) {
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

// The one keep-alive connection to the collector. Lives in the export
// coroutine's frame (so it goes with the frame if the io_context is torn down
// mid-operation). At most one of plain / tls is set; neither: closed.
struct Connection {
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;  // kept across requests
  std::string peer;

  bool open() const { return plain.has_value() || tls.has_value(); }
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  void close() {
    if (!open()) return;
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
    plain.reset();
    tls.reset();
    buffer.clear();
  }

  // Fails the operation in flight (operation_aborted) without destroying the
  // stream it runs on; the owner close()s afterwards.
  void abort() {
    if (!open()) return;
    beast::error_code ignored;
    lowest().socket().close(ignored);
  }

  // An idle connection the collector closed (EOF), reset, or wrote to unasked
  // is not worth a request.
  bool looks_alive() {
    if (!open()) return false;
    auto& socket = lowest().socket();
    if (!socket.is_open() || buffer.size() != 0) return false;
    if (tls && SSL_pending(tls->native_handle()) > 0) return false;
    char byte = 0;
    const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n >= 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
};

// One request/response on the connection.
struct Exchange {
  bool ok = false;
  beast::error_code ec;
  const char* phase = "";         // where it failed
  bool nothing_received = false;  // failed before any byte of a response
  int status = 0;
  bool keep_alive = false;
  std::optional<std::string> retry_after;
  std::string body;
};

template <class Stream>
asio::awaitable<Exchange> exchange(Stream& stream, Connection& conn, bhttp::request<bhttp::string_body>& request,
                                   Clock::time_point deadline) {
  Exchange x;
  conn.lowest().expires_at(deadline);
  auto [write_ec, written] = co_await bhttp::async_write(stream, request, kUseTuple);
  if (write_ec) {
    x.ec = write_ec;
    x.phase = "sending the request";
    x.nothing_received = true;
    co_return x;
  }
  for (;;) {  // loops only over interim 1xx responses
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    conn.lowest().expires_at(deadline);
    auto [read_ec, read] = co_await bhttp::async_read(stream, conn.buffer, parser, kUseTuple);
    if (read_ec) {
      x.ec = read_ec;
      x.phase = "reading the response";
      x.nothing_received = !parser.got_some();
      co_return x;
    }
    auto& res = parser.get();
    const unsigned status = res.result_int();
    if (status >= 100 && status < 200) continue;
    x.ok = true;
    x.status = static_cast<int>(status);
    x.keep_alive = res.keep_alive();
    if (auto it = res.find(bhttp::field::retry_after); it != res.end()) x.retry_after = std::string(it->value());
    x.body = std::move(res.body());
    co_return x;
  }
}

}  // namespace

// ---- Impl -------------------------------------------------------------------------

// Owned by the exporter's thread except for the state under `mu` (the queue
// and the flags export_span / shutdown read). Member order matters: the ssl
// context outlives the io_context, whose destruction destroys a suspended
// export coroutine and the connection in its frame.
struct OtlpExporter::Impl {
  Impl(const OtlpConfig& cfg, OtlpRetryPolicy policy)
      : config(cfg), endpoint(*cfg.endpoint), retry(std::move(policy)), rng(std::random_device{}()) {}

  const OtlpConfig config;
  const OtlpEndpoint endpoint;
  const OtlpRetryPolicy retry;
  OtlpMetrics& metrics = OtlpMetrics::get();
  std::shared_ptr<spdlog::logger> log = logger("otlp");
  std::optional<ssl::context> ssl_ctx;

  // ---- shared with other threads, guarded by mu
  mutable std::mutex mu;
  std::condition_variable cv;  // `finished` turned true
  std::deque<SpanData> queue;
  bool wake_posted = false;  // a wake for a full batch is on its way to the io thread
  bool stopping = false;     // shutdown() called: export_span drops
  bool finished = false;     // the export coroutine returned
  bool drained = false;      // ... with the queue empty and every batch concluded

  // ---- the io thread's
  asio::io_context ioc{1};
  asio::steady_timer wake{ioc};   // the loop's wait for spans / the schedule delay
  asio::steady_timer pause{ioc};  // a backoff between tries
  std::optional<Clock::time_point> shutdown_deadline;
  bool hard_stop = false;          // the deadline passed: abandon the batch in flight
  Connection* active = nullptr;    // the coroutine's connection, for hard_stop to close
  Clock::time_point not_before{};  // the collector's Retry-After outlasted a batch: hold off until then
  bool failing = false;            // the last batch failed (later failures log at debug)
  std::mt19937_64 rng;
  std::thread thread;

  bhttp::request<bhttp::string_body> build_request(std::string body) const;
  asio::awaitable<void> run();
  asio::awaitable<void> send_batch(Connection& conn, std::vector<SpanData>& batch);
  asio::awaitable<ExportTry> post_once(Connection& conn, bhttp::request<bhttp::string_body>& request,
                                       Clock::time_point deadline);
  asio::awaitable<std::string> connect(Connection& conn, Clock::time_point deadline);

  double random_unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }
};

bhttp::request<bhttp::string_body> OtlpExporter::Impl::build_request(std::string body) const {
  bhttp::request<bhttp::string_body> req(bhttp::verb::post, endpoint.target, 11);
  req.set(bhttp::field::host, endpoint.host_header);
  const std::string& version = config.resource.service_version;
  req.set(bhttp::field::user_agent, "messaging_service-otlp-exporter" + (version.empty() ? "" : "/" + version));
  req.set(bhttp::field::content_type, "application/json");
  for (const auto& [name, value] : config.headers) req.insert(name, value);
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

asio::awaitable<std::string> OtlpExporter::Impl::connect(Connection& conn, Clock::time_point deadline) {
  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code addr_ec;
  const auto literal = asio::ip::make_address(endpoint.host, addr_ec);
  if (!addr_ec) {
    endpoints.emplace_back(literal, endpoint.port);
  } else {
    // DNS on the resolver's own thread, never waited for past the deadline or
    // a hard stop: on either the lookup is abandoned (its state is shared with
    // the completion handler, which still runs later and finds nobody).
    struct ResolveState {
      explicit ResolveState(asio::io_context& ioc) : resolver(ioc), done_timer(ioc) {}
      tcp::resolver resolver;
      asio::steady_timer done_timer;
      bool done = false;
      beast::error_code ec;
      tcp::resolver::results_type results;
    };
    auto state = std::make_shared<ResolveState>(ioc);
    state->done_timer.expires_at(deadline);
    auto on_resolved = [state](beast::error_code ec, tcp::resolver::results_type results) {
      state->ec = ec;
      state->results = std::move(results);
      state->done = true;
      state->done_timer.cancel();
    };
    std::string service = std::to_string(endpoint.port);
    state->resolver.async_resolve(endpoint.host, service, tcp::resolver::numeric_service, std::move(on_resolved));
    while (!state->done && !hard_stop && Clock::now() < deadline) {
      co_await state->done_timer.async_wait(kUseTuple);
    }
    if (!state->done) {
      state->resolver.cancel();
      co_return "timeout resolving " + endpoint.host;
    }
    if (state->ec) co_return "cannot resolve " + endpoint.host + ": " + message_of(state->ec);
    for (const auto& entry : state->results) endpoints.push_back(entry.endpoint());
  }

  std::string error = "no address found for " + endpoint.host;
  for (const tcp::endpoint& ep : endpoints) {
    if (hard_stop) co_return "shutting down";
    if (endpoint.tls) {
      conn.tls.emplace(ioc, *ssl_ctx);
    } else {
      conn.plain.emplace(ioc);
    }
    conn.lowest().expires_at(deadline);
    auto [ec] = co_await conn.lowest().async_connect(ep, kUseTuple);
    if (ec) {
      error = "connect to " + endpoint_text(ep) +
              " failed: " + (ec == beast::error::timeout ? std::string("timeout") : message_of(ec));
      conn.close();
      if (ec == beast::error::timeout) break;
      continue;
    }
    conn.peer = endpoint_text(ep);
    if (conn.tls) {
      auto& stream = *conn.tls;
      if (addr_ec && !SSL_set_tlsext_host_name(stream.native_handle(), endpoint.host.c_str())) {
        conn.close();
        co_return "tls: cannot set SNI host name " + endpoint.host;
      }
      stream.set_verify_mode(ssl::verify_peer);
      stream.set_verify_callback(ssl::host_name_verification(endpoint.host));
      conn.lowest().expires_at(deadline);
      auto [hs_ec] = co_await stream.async_handshake(ssl::stream_base::client, kUseTuple);
      if (hs_ec) {
        const long verify = SSL_get_verify_result(stream.native_handle());
        std::string text = verify != X509_V_OK
                               ? std::string("tls: certificate verify failed: ") + X509_verify_cert_error_string(verify)
                               : "tls handshake with " + conn.peer + " failed: " + message_of(hs_ec);
        conn.close();
        co_return text;
      }
    }
    log->debug("connected to {} ({})", endpoint.url, conn.peer);
    co_return std::string();
  }
  co_return error;
}

// One try: on the kept connection when it still looks alive, else a new one.
// A kept connection that breaks before answering anything (the collector
// closed it while idle) gets one immediate second chance on a new connection,
// which is not a try of its own.
asio::awaitable<ExportTry> OtlpExporter::Impl::post_once(Connection& conn, bhttp::request<bhttp::string_body>& request,
                                                         Clock::time_point deadline) {
  ExportTry out;
  bool reused = conn.open();
  if (reused && !conn.looks_alive()) {
    conn.close();
    reused = false;
  }
  for (;;) {
    if (!conn.open()) {
      std::string error = co_await connect(conn, deadline);
      if (!error.empty()) {
        out.error = std::move(error);
        co_return out;
      }
    }
    Exchange x;
    if (conn.tls) {
      x = co_await exchange(*conn.tls, conn, request, deadline);
    } else {
      x = co_await exchange(*conn.plain, conn, request, deadline);
    }
    if (x.ok) {
      if (!x.keep_alive) conn.close();
      out.responded = true;
      out.status = x.status;
      out.retry_after = std::move(x.retry_after);
      out.body = std::move(x.body);
      co_return out;
    }
    const std::string peer = conn.peer;
    conn.close();
    const bool timed_out = x.ec == beast::error::timeout || Clock::now() >= deadline;
    if (reused && x.nothing_received && !timed_out && !hard_stop) {
      reused = false;
      log->debug("kept connection to {} was closed by the collector ({}); reconnecting", peer, message_of(x.ec));
      continue;
    }
    out.error = timed_out ? std::string("timeout ") + x.phase
                          : std::string(x.phase) + " from " + peer + ": " + message_of(x.ec);
    co_return out;
  }
}

asio::awaitable<void> OtlpExporter::Impl::send_batch(Connection& conn, std::vector<SpanData>& batch) {
  const auto count = static_cast<double>(batch.size());
  auto request = build_request(encode_otlp_traces_json(batch, config.resource));
  const Clock::time_point batch_deadline = Clock::now() + config.export_timeout;
  auto fail = [&](const std::string& reason) {
    metrics.export_failures.Increment();
    metrics.dropped_export_failed.Increment(count);
    if (!failing) {
      log->warn("trace export to {} failed, {} spans dropped: {}", endpoint.url, batch.size(), reason);
    } else {
      log->debug("trace export to {} failed, {} spans dropped: {}", endpoint.url, batch.size(), reason);
    }
    failing = true;
  };
  for (int attempt = 1;; ++attempt) {
    Clock::time_point until = batch_deadline;
    if (shutdown_deadline) until = std::min(until, *shutdown_deadline);
    if (hard_stop || Clock::now() >= until) {
      fail("the export timeout or the shutdown deadline passed");
      co_return;
    }
    const Clock::time_point try_deadline = std::min(Clock::now() + config.timeout, until);
    ExportTry result = co_await post_once(conn, request, try_deadline);

    Clock::time_point now = Clock::now();
    const bool answered_ok = result.responded && result.status >= 200 && result.status <= 299;
    if (!answered_ok && (hard_stop || (shutdown_deadline && now >= *shutdown_deadline))) {
      fail("cut short by the shutdown deadline (" +
           (result.responded ? "collector answered " + std::to_string(result.status) : result.error) + ")");
      co_return;
    }
    if (shutdown_deadline) until = std::min(until, *shutdown_deadline);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
    auto random = [this] { return random_unit(); };
    RetryStep step = next_step(retry, attempt, result, left, unix_ms_now(), random);

    if (step.action == RetryStep::Action::done) {
      const PartialSuccess partial = decode_otlp_traces_response(result.body);
      const auto rejected =
          std::clamp<std::int64_t>(partial.rejected_spans, 0, static_cast<std::int64_t>(batch.size()));
      metrics.exported.Increment(count - static_cast<double>(rejected));
      if (rejected > 0) {
        metrics.dropped_rejected.Increment(static_cast<double>(rejected));
        log->warn("collector at {} rejected {} of {} spans: {}", endpoint.url, rejected, batch.size(),
                  partial.error_message);
      }
      if (failing) log->info("trace export to {} works again", endpoint.url);
      failing = false;
      co_return;
    }
    if (step.action == RetryStep::Action::give_up) {
      if (step.hold_off.count() > 0) not_before = now + step.hold_off;
      fail(step.reason);
      co_return;
    }
    log->debug("trace export try {} to {} failed ({}); retrying in {} ms", attempt, endpoint.url, step.reason,
               step.delay.count());
    const Clock::time_point retry_at = now + step.delay;
    for (;;) {  // the pause ends early on shutdown, to check the deadline
      if (shutdown_deadline && retry_at > *shutdown_deadline) break;  // the next pass gives up
      if (hard_stop || Clock::now() >= retry_at) break;
      pause.expires_at(retry_at);
      co_await pause.async_wait(kUseTuple);
    }
    if (shutdown_deadline && retry_at > *shutdown_deadline) {
      fail(step.reason + "; shutting down before the next try");
      co_return;
    }
  }
}

asio::awaitable<void> OtlpExporter::Impl::run() {
  Connection conn;
  active = &conn;
  Clock::time_point next_flush = Clock::now() + config.schedule_delay;
  for (;;) {
    const Clock::time_point now = Clock::now();
    if (hard_stop || (shutdown_deadline && now >= *shutdown_deadline)) break;
    std::vector<SpanData> batch;
    const bool held = now < not_before;
    bool empty_and_stopping = false;
    {
      std::lock_guard lock(mu);
      const bool full = queue.size() >= config.max_export_batch_size;
      const bool due = now >= next_flush || shutdown_deadline.has_value();
      if (!held && !queue.empty() && (full || due)) {
        const std::size_t n = std::min(queue.size(), config.max_export_batch_size);
        batch.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        wake_posted = false;
      }
      empty_and_stopping = queue.empty() && batch.empty() && shutdown_deadline.has_value();
    }
    if (empty_and_stopping) {
      std::lock_guard lock(mu);
      drained = true;
      break;
    }
    if (batch.empty()) {
      if (now >= next_flush) next_flush = now + config.schedule_delay;  // nothing was due: a new period
      Clock::time_point wake_at = held ? not_before : next_flush;
      if (shutdown_deadline) wake_at = std::min(wake_at, *shutdown_deadline);
      wake.expires_at(wake_at);
      co_await wake.async_wait(kUseTuple);
      continue;
    }
    co_await send_batch(conn, batch);
    next_flush = Clock::now() + config.schedule_delay;
  }
  active = nullptr;
  conn.close();
}

// ---- OtlpExporter -------------------------------------------------------------------

OtlpExporter::OtlpExporter(const OtlpConfig& config, OtlpRetryPolicy retry) {
  if (!config.enabled()) throw std::invalid_argument("OtlpExporter: no endpoint configured (trace export is off)");
  OtlpConfig checked = config;  // sizes and delays a hand-made config may have left at zero
  checked.max_queue_size = std::max<std::size_t>(checked.max_queue_size, 1);
  checked.max_export_batch_size = std::clamp<std::size_t>(checked.max_export_batch_size, 1, checked.max_queue_size);
  checked.schedule_delay = std::max(checked.schedule_delay, std::chrono::milliseconds(1));
  impl_ = std::make_unique<Impl>(checked, std::move(retry));
  Impl& im = *impl_;
  if (im.endpoint.tls) {
    im.ssl_ctx.emplace(ssl::context::tls_client);
    im.ssl_ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3);
    boost::system::error_code ec;
    im.ssl_ctx->set_default_verify_paths(ec);
    if (ec) im.log->warn("cannot load the system CA store: {}", ec.message());
    if (!config.ca_file.empty()) {
      im.ssl_ctx->load_verify_file(config.ca_file, ec);
      if (ec) throw std::runtime_error("OtlpExporter: cannot load CA file " + config.ca_file + ": " + ec.message());
    }
  }
  asio::co_spawn(im.ioc, im.run(), [&im](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        im.log->error("trace exporter stopped: {}", ex.what());
      }
    }
    {
      std::lock_guard lock(im.mu);
      im.finished = true;
      im.stopping = true;  // nobody sends any more: drop at the door
    }
    im.cv.notify_all();
  });
  im.thread = std::thread([&im] { im.ioc.run(); });
  ::pthread_setname_np(im.thread.native_handle(), "otlp-exporter");
}

OtlpExporter::~OtlpExporter() { shutdown(Clock::now()); }

void OtlpExporter::export_span(SpanData span) {
  Impl& im = *impl_;
  bool wake = false;
  {
    std::lock_guard lock(im.mu);
    if (im.stopping) {
      im.metrics.dropped_shutdown.Increment();
      return;
    }
    if (im.queue.size() >= im.config.max_queue_size) {
      im.metrics.dropped_queue_full.Increment();
      return;
    }
    im.queue.push_back(std::move(span));
    if (im.queue.size() >= im.config.max_export_batch_size && !im.wake_posted) {
      im.wake_posted = true;
      wake = true;
    }
  }
  if (wake) asio::post(im.ioc, [&im] { im.wake.cancel(); });
}

std::size_t OtlpExporter::queued() const {
  std::lock_guard lock(impl_->mu);
  return impl_->queue.size();
}

bool OtlpExporter::shutdown(Clock::time_point deadline) {
  Impl& im = *impl_;
  if (!im.thread.joinable()) {
    std::lock_guard lock(im.mu);
    return im.drained;
  }
  {
    std::lock_guard lock(im.mu);
    im.stopping = true;
  }
  asio::post(im.ioc, [&im, deadline] {
    im.shutdown_deadline = deadline;
    im.wake.cancel();
    im.pause.cancel();
  });
  std::unique_lock lock(im.mu);
  if (!im.cv.wait_until(lock, deadline, [&im] { return im.finished; })) {
    lock.unlock();
    // The deadline passed mid-batch: cut the I/O in flight.
    asio::post(im.ioc, [&im] {
      im.hard_stop = true;
      if (im.active) im.active->abort();
      im.wake.cancel();
      im.pause.cancel();
    });
    lock.lock();
    im.cv.wait_for(lock, kStopGrace, [&im] { return im.finished; });
  }
  lock.unlock();
  im.ioc.stop();  // a no-op when the coroutine is done; else the frame goes with the io_context
  im.thread.join();
  std::lock_guard relock(im.mu);
  if (!im.queue.empty()) {
    im.metrics.dropped_shutdown.Increment(static_cast<double>(im.queue.size()));
    im.log->warn("trace exporter shut down with {} spans unsent", im.queue.size());
    im.queue.clear();
  }
  return im.drained;
}

}  // namespace ms::observe
