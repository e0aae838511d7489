#include "support/http_client.h"

#include <cctype>
#include <exception>
#include <optional>
#include <set>
#include <stdexcept>
#include <system_error>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/parse.hpp>

namespace ms::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint64_t kBodyLimit = 256ull * 1024 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// The server closed a kept-alive connection before answering.
bool is_stale_connection(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == ssl::error::stream_truncated;
}

// Runs one coroutine to completion on a private io_context; rethrows its exception.
template <class T>
T run_sync(asio::io_context& ioc, awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr error;
  asio::co_spawn(ioc, std::move(task), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result.emplace(std::move(value));
  });
  ioc.restart();
  ioc.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

[[noreturn]] void fail(const beast::error_code& ec, const std::string& what) {
  throw std::system_error(ec, what);
}

}  // namespace

// ---- HttpResponse -----------------------------------------------------------------

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

bool HttpResponse::has_header(const std::string& name) const { return headers.count(lower(name)) > 0; }

boost::json::value HttpResponse::json() const { return boost::json::parse(body); }

// ---- HttpClient::Impl ---------------------------------------------------------------

// Member order: the ssl context outlives the streams and the io_context.
struct HttpClient::Impl {
  Impl(std::string h, std::uint16_t p, HttpClientOptions o) : host(std::move(h)), port(p), options(std::move(o)) {
    if (!options.ca_file.empty()) options.tls = true;
    if (options.tls) {
      ssl_ctx.emplace(ssl::context::tls_client);
      if (options.ca_file.empty()) {
        ssl_ctx->set_default_verify_paths();
      } else {
        ssl_ctx->load_verify_file(options.ca_file);
      }
    }
  }

  std::string host;
  std::uint16_t port;
  HttpClientOptions options;
  std::optional<ssl::context> ssl_ctx;
  asio::io_context ioc{1};
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  std::uint64_t opened = 0;
  std::uint64_t used = 0;  // requests answered on the current connection

  bool connected() const { return plain.has_value() || secure.has_value(); }

  void close() {
    beast::error_code ignored;
    if (plain) plain->socket().close(ignored);
    if (secure) beast::get_lowest_layer(*secure).socket().close(ignored);
    plain.reset();
    secure.reset();
    buffer.clear();
    used = 0;
  }

  awaitable<beast::error_code> connect() {
    tcp::resolver resolver(ioc);
    auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port), kUseTuple);
    if (rec) co_return rec;
    beast::tcp_stream stream(ioc);
    stream.expires_after(options.timeout);
    auto [cec, ep] = co_await stream.async_connect(results, kUseTuple);
    if (cec) co_return cec;
    ++opened;
    if (!ssl_ctx) {
      plain.emplace(std::move(stream));
      co_return beast::error_code{};
    }
    secure.emplace(std::move(stream), *ssl_ctx);
    if (!is_ip_literal(host)) SSL_set_tlsext_host_name(secure->native_handle(), host.c_str());  // SNI
    secure->set_verify_mode(ssl::verify_peer);
    secure->set_verify_callback(ssl::host_name_verification(host));
    beast::get_lowest_layer(*secure).expires_after(options.timeout);
    auto [hec] = co_await secure->async_handshake(ssl::stream_base::client, kUseTuple);
    if (hec) {
      secure.reset();
      co_return hec;
    }
    co_return beast::error_code{};
  }

  template <class Stream>
  awaitable<beast::error_code> exchange(Stream& stream, http::request<http::string_body>& req, HttpResponse& out) {
    beast::get_lowest_layer(stream).expires_after(options.timeout);
    auto [wec, wn] = co_await http::async_write(stream, req, kUseTuple);
    if (wec) co_return wec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    if (req.method() == http::verb::head) parser.skip(true);
    beast::get_lowest_layer(stream).expires_after(options.timeout);
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kUseTuple);
    if (rec) co_return rec;
    const auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      auto [it, fresh] = out.headers.try_emplace(lower(field.name_string()), std::string(field.value()));
      if (!fresh) it->second += ", " + std::string(field.value());
    }
    out.body = res.body();
    if (!res.keep_alive()) close();
    co_return beast::error_code{};
  }

  awaitable<HttpResponse> perform(http::request<http::string_body> req) {
    const std::string what = "HTTP " + std::string(req.method_string()) + " " + std::string(req.target()) + " to " +
                             host + ":" + std::to_string(port);
    for (int attempt = 0;; ++attempt) {
      if (!connected()) {
        beast::error_code ec = co_await connect();
        if (ec) fail(ec, what + " (connect)");
      }
      const bool reused = used > 0;
      HttpResponse out;
      beast::error_code ec;
      if (secure) {
        ec = co_await exchange(*secure, req, out);
      } else {
        ec = co_await exchange(*plain, req, out);
      }
      if (!ec) {
        if (connected()) ++used;
        co_return out;
      }
      close();
      if (!(reused && attempt == 0 && is_stale_connection(ec))) fail(ec, what);
    }
  }
};

// ---- HttpClient -----------------------------------------------------------------------

HttpClient::HttpClient(std::string host, std::uint16_t port, HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(host), port, std::move(options))) {}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

HttpResponse HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                                 const HttpHeaders& headers) {
  http::request<http::string_body> req;
  http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    req.method_string(method);
  } else {
    req.method(verb);
  }
  req.target(target);
  req.version(11);
  req.set(http::field::host, impl_->host + ":" + std::to_string(impl_->port));
  req.set(http::field::user_agent, "ms-test-client");
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  std::set<std::string> seen;
  for (const auto& [name, value] : headers) {
    std::string key = lower(name);
    if (value.empty()) {
      req.erase(key);
    } else if (seen.count(key) > 0) {
      req.insert(key, value);
    } else {
      req.set(key, value);
    }
    seen.insert(key);
  }
  req.body() = body;
  req.prepare_payload();
  return run_sync(impl_->ioc, impl_->perform(std::move(req)));
}

HttpResponse HttpClient::get(const std::string& target, const HttpHeaders& headers) {
  return request("GET", target, "", headers);
}
HttpResponse HttpClient::post(const std::string& target, const std::string& body, const HttpHeaders& headers) {
  return request("POST", target, body, headers);
}
HttpResponse HttpClient::put(const std::string& target, const std::string& body, const HttpHeaders& headers) {
  return request("PUT", target, body, headers);
}
HttpResponse HttpClient::patch(const std::string& target, const std::string& body, const HttpHeaders& headers) {
  return request("PATCH", target, body, headers);
}
HttpResponse HttpClient::del(const std::string& target, const HttpHeaders& headers) {
  return request("DELETE", target, "", headers);
}

void HttpClient::close() { impl_->close(); }
std::uint64_t HttpClient::connections_opened() const { return impl_->opened; }
std::uint16_t HttpClient::port() const { return impl_->port; }

// ---- raw_request ------------------------------------------------------------------------

namespace {

awaitable<std::string> raw_exchange(asio::io_context& ioc, std::uint16_t port, std::string bytes,
                                    std::chrono::milliseconds timeout) {
  beast::tcp_stream stream(ioc);
  stream.expires_after(timeout);  // one deadline for the whole exchange
  tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), port);
  auto [cec] = co_await stream.async_connect(ep, kUseTuple);
  if (cec) fail(cec, "raw_request connect 127.0.0.1:" + std::to_string(port));
  std::string received;
  auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(bytes), kUseTuple);
  if (wec) co_return received;  // the server may close before reading everything
  char chunk[16 * 1024];
  for (;;) {
    auto [rec, n] = co_await stream.async_read_some(asio::buffer(chunk), kUseTuple);
    received.append(chunk, n);
    if (rec) break;  // eof, reset or the deadline
  }
  co_return received;
}

}  // namespace

std::string raw_request(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout) {
  asio::io_context ioc{1};
  return run_sync(ioc, raw_exchange(ioc, port, bytes, timeout));
}

}  // namespace ms::test
