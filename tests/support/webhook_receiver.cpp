#include "support/webhook_receiver.h"

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/parse.hpp>

#include "support/child_process.h"

namespace ms::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kWriteTimeout = std::chrono::seconds(10);
constexpr std::size_t kBodyLimit = 64 * 1024 * 1024;
constexpr std::uint32_t kHeaderLimit = 64 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::int64_t ms_since_epoch(auto time_point) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time_point.time_since_epoch()).count();
}

}  // namespace

// ---- RecordedRequest ----------------------------------------------------------

std::string RecordedRequest::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

bool RecordedRequest::has_header(const std::string& name) const { return headers.count(lower(name)) > 0; }

boost::json::value RecordedRequest::json() const { return boost::json::parse(body); }

// ---- Impl -----------------------------------------------------------------------

// Lives on the receiver's io thread except for the mutex-guarded state.
// Member order matters: the ssl context must outlive the io_context, whose
// destruction destroys suspended sessions (and their ssl streams).
struct WebhookReceiver::Impl {
  explicit Impl(WebhookReceiverOptions opts) : options(std::move(opts)) {}

  WebhookReceiverOptions options;
  std::optional<ssl::context> ssl_ctx;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::vector<RecordedRequest> records;  // guarded by mu
  WebhookResponse default_response;      // guarded by mu
  Handler handler;                       // guarded by mu
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> handshake_failures{0};

  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::uint16_t port = 0;
  std::thread thread;

  awaitable<void> accept_loop();
  awaitable<void> serve_plain(tcp::socket socket, std::uint64_t id);
  awaitable<void> serve_tls(tcp::socket socket, std::uint64_t id);
  // Returns true when the session ended in an orderly way (worth a TLS close_notify).
  template <class Stream>
  awaitable<bool> session(Stream& stream, std::uint64_t id);

  void record(const RecordedRequest& request);
  WebhookResponse answer(const RecordedRequest& request);
};

awaitable<void> WebhookReceiver::Impl::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) continue;
    std::uint64_t id = ++accepted;
    if (ssl_ctx) {
      asio::co_spawn(ioc, serve_tls(std::move(socket), id), asio::detached);
    } else {
      asio::co_spawn(ioc, serve_plain(std::move(socket), id), asio::detached);
    }
  }
}

awaitable<void> WebhookReceiver::Impl::serve_plain(tcp::socket socket, std::uint64_t id) {
  beast::tcp_stream stream(std::move(socket));
  if (co_await session(stream, id)) {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
}

awaitable<void> WebhookReceiver::Impl::serve_tls(tcp::socket socket, std::uint64_t id) {
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *ssl_ctx);
  beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
  auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
  if (ec) {
    ++handshake_failures;
    co_return;
  }
  if (co_await session(stream, id)) {
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(kUseTuple);  // stream_truncated etc. are normal here
  }
}

template <class Stream>
awaitable<bool> WebhookReceiver::Impl::session(Stream& stream, std::uint64_t id) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    parser.header_limit(kHeaderLimit);
    beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
    auto [read_ec, read_n] = co_await http::async_read(stream, buffer, parser, kUseTuple);
    if (read_ec) co_return read_ec == http::error::end_of_stream;

    const auto& req = parser.get();
    RecordedRequest rec;
    rec.method = std::string(req.method_string());
    rec.target = std::string(req.target());
    for (const auto& field : req) {
      auto [it, fresh] = rec.headers.try_emplace(lower(field.name_string()), std::string(field.value()));
      if (!fresh) it->second += ", " + std::string(field.value());
    }
    rec.body = req.body();
    rec.steady_ms = ms_since_epoch(std::chrono::steady_clock::now());
    rec.system_ms = ms_since_epoch(std::chrono::system_clock::now());
    rec.connection_id = id;
    record(rec);
    WebhookResponse script = answer(rec);

    if (script.delay.count() > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor);
      timer.expires_after(script.delay);
      co_await timer.async_wait(kUseTuple);
    }
    if (script.drop_connection) co_return false;

    http::response<http::string_body> res;
    res.version(req.version());
    res.result(static_cast<unsigned>(script.status));
    res.set(http::field::server, "ms-test-webhook-receiver");
    for (const auto& [name, value] : script.headers) res.set(name, value);
    res.body() = std::move(script.body);
    const bool keep_alive = req.keep_alive() && !script.close_connection;
    res.keep_alive(keep_alive);
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
    auto [write_ec, write_n] = co_await http::async_write(stream, res, kUseTuple);
    if (write_ec) co_return false;
    if (!keep_alive) co_return true;
  }
}

void WebhookReceiver::Impl::record(const RecordedRequest& request) {
  {
    std::lock_guard lock(mu);
    records.push_back(request);
  }
  cv.notify_all();
}

WebhookResponse WebhookReceiver::Impl::answer(const RecordedRequest& request) {
  Handler h;
  {
    std::lock_guard lock(mu);
    if (!handler) return default_response;
    h = handler;
  }
  try {
    return h(request);  // outside the lock: the handler may call count() etc.
  } catch (const std::exception& e) {
    WebhookResponse failed;
    failed.status = 500;
    failed.body = std::string("test handler threw: ") + e.what();
    return failed;
  }
}

// ---- WebhookReceiver --------------------------------------------------------------

WebhookReceiver::WebhookReceiver(WebhookReceiverOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  Impl& im = *impl_;
  const bool want_tls = !im.options.cert_file.empty() || !im.options.key_file.empty();
  if (want_tls) {
    if (im.options.cert_file.empty() || im.options.key_file.empty()) {
      throw std::invalid_argument("WebhookReceiver: TLS needs both cert_file and key_file");
    }
    im.ssl_ctx.emplace(ssl::context::tls_server);
    im.ssl_ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                            ssl::context::single_dh_use);
    im.ssl_ctx->use_certificate_chain_file(im.options.cert_file);
    im.ssl_ctx->use_private_key_file(im.options.key_file, ssl::context::pem);
  }
  tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"), 0);
  im.acceptor.open(endpoint.protocol());
  im.acceptor.set_option(tcp::acceptor::reuse_address(true));
  im.acceptor.bind(endpoint);
  im.acceptor.listen(asio::socket_base::max_listen_connections);
  im.port = im.acceptor.local_endpoint().port();
  asio::co_spawn(im.ioc, im.accept_loop(), asio::detached);
  im.thread = std::thread([&im] { im.ioc.run(); });
}

WebhookReceiver::~WebhookReceiver() {
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t WebhookReceiver::port() const { return impl_->port; }

bool WebhookReceiver::tls() const { return impl_->ssl_ctx.has_value(); }

std::string WebhookReceiver::url(const std::string& path) const {
  return std::string(tls() ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) + path;
}

void WebhookReceiver::set_default_response(WebhookResponse response) {
  std::lock_guard lock(impl_->mu);
  impl_->default_response = std::move(response);
}

void WebhookReceiver::set_handler(Handler handler) {
  std::lock_guard lock(impl_->mu);
  impl_->handler = std::move(handler);
}

std::vector<RecordedRequest> WebhookReceiver::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->records;
}

std::size_t WebhookReceiver::count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->records.size();
}

bool WebhookReceiver::wait_for_count(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->records.size() >= n; });
}

void WebhookReceiver::clear() {
  std::lock_guard lock(impl_->mu);
  impl_->records.clear();
}

std::uint64_t WebhookReceiver::connections_accepted() const { return impl_->accepted.load(); }

std::uint64_t WebhookReceiver::tls_handshake_failures() const { return impl_->handshake_failures.load(); }

// ---- make_test_certificate -----------------------------------------------------------

TestCertificate make_test_certificate(const std::string& dir) {
  std::string openssl = find_executable("openssl", "/usr/bin/openssl");
  if (openssl.empty()) throw std::runtime_error("openssl not found on PATH or at /usr/bin/openssl");
  TestCertificate cert{dir + "/cert.pem", dir + "/key.pem"};
  RunResult r = run_command({openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "2", "-keyout",
                             cert.key_file, "-out", cert.cert_file},
                            std::chrono::seconds(60));
  if (r.timed_out || r.exit_code != 0) {
    throw std::runtime_error("openssl req failed (exit " + std::to_string(r.exit_code) + "): " + r.stderr_text +
                             r.stdout_text);
  }
  return cert;
}

}  // namespace ms::test
