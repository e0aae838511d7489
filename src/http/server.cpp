#include "http/server.h"

#include "http/request_reader.h"
#include "observe/log.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <list>

namespace ms::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

namespace {
struct Session {
  beast::tcp_stream* stream = nullptr;
  bool busy = false;
};
}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  asio::any_io_executor ex;
  ServerOptions opts;
  const Router& router;
  ServerCounters& counters;
  tcp::acceptor acceptor;
  std::list<Session> sessions;
  bool draining = false;
  std::function<void()> on_drained;
  RequestLimits limits;
  std::shared_ptr<spdlog::logger> log = observe::logger("http");

  Impl(asio::any_io_executor e, ServerOptions o, const Router& r, ServerCounters& c)
      : ex(std::move(e)), opts(std::move(o)), router(r), counters(c), acceptor(ex) {
    limits.max_body_bytes = opts.max_body_bytes;
    limits.max_header_bytes = opts.max_header_bytes;
    limits.max_header_count = opts.max_header_count;
    limits.max_url_bytes = opts.max_url_bytes;
  }

  Response error(int status, std::string_view message) const {
    if (opts.error_response) return opts.error_response(status, message);
    return Response::json(status, std::string("{\"error\":{\"message\":\"") + std::string(message) + "\"}}");
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (acceptor.is_open()) {
      auto [ec, sock] = co_await acceptor.async_accept(kUseTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
        log->warn("accept failed: {}", ec.message());
        continue;
      }
      if (counters.connections.load(std::memory_order_relaxed) >= opts.max_connections) {
        counters.rejected.fetch_add(1, std::memory_order_relaxed);
        boost::system::error_code ignored;
        sock.close(ignored);
        continue;
      }
      counters.connections.fetch_add(1, std::memory_order_relaxed);
      counters.accepted.fetch_add(1, std::memory_order_relaxed);
      asio::co_spawn(ex, session(std::move(sock)), asio::detached);
    }
  }

  asio::awaitable<void> write(beast::tcp_stream& stream, Response res, bool keep_alive, unsigned version, bool head) {
    bhttp::response<bhttp::string_body> out;
    out.version(version);
    out.result(static_cast<unsigned>(res.status));
    if (!res.content_type.empty() && (res.status != 204)) out.set(bhttp::field::content_type, res.content_type);
    for (auto& [k, v] : res.headers) out.insert(k, v);
    out.keep_alive(keep_alive);
    out.body() = std::move(res.body);
    out.prepare_payload();
    if (head) out.body().clear();
    stream.expires_after(opts.request_timeout);
    bhttp::response_serializer<bhttp::string_body> sr(out);
    if (head) sr.split(true);
    if (head) {
      co_await bhttp::async_write_header(stream, sr, kUseTuple);
    } else {
      co_await bhttp::async_write(stream, sr, kUseTuple);
    }
  }

  asio::awaitable<void> session(tcp::socket sock) {
    auto self = shared_from_this();
    std::string remote;
    {
      boost::system::error_code ec;
      auto ep = sock.remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string();
    }
    beast::tcp_stream stream(std::move(sock));
    auto it = sessions.insert(sessions.end(), Session{&stream, false});
    beast::flat_buffer buffer(read_buffer_limit(limits));
    bool first = true;
    for (;;) {
      if (draining) break;
      RequestParser parser;
      apply_limits(parser, limits);
      it->busy = false;
      stream.expires_after(first ? opts.request_timeout : opts.idle_timeout);
      first = false;
      auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kUseTuple);
      std::optional<Refusal> refusal;
      std::size_t header_fields = 0;
      if (!hec) {
        it->busy = true;
        refusal = check_header(parser, limits);
        header_fields = field_count(parser);
      }
      if (!hec && !refusal) {
        auto expect = parser.get()[bhttp::field::expect];
        if (beast::iequals(expect, "100-continue")) {
          bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, parser.get().version()};
          stream.expires_after(opts.request_timeout);
          co_await bhttp::async_write(stream, cont, kUseTuple);
        }
        stream.expires_after(opts.request_timeout);
        auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
        hec = bec;
      }
      if (hec) {
        it->busy = true;
        refusal = refusal_for(hec, parser, limits);
        if (!refusal) break;  // the client went away, a timeout: nobody to answer
      }
      if (refusal) {
        auto res = error(refusal->status, refusal->message);  // named: no non-trivial temporaries in co_await (g++ 12)
        co_await write(stream, std::move(res), false, 11, false);
        break;
      }
      counters.requests.fetch_add(1, std::memory_order_relaxed);
      auto& in = parser.get();
      bool keep_alive = in.keep_alive() && !draining;
      unsigned version = in.version();
      bool head = in.method() == bhttp::verb::head;
      Request req = to_request(parser, header_fields, remote);
      Response res;
      auto m = router.match(req.method, req.path);
      if (m.status == 404) {
        res = error(404, "no route for " + req.method + " " + req.path);
      } else if (m.status == 405) {
        res = error(405, "method " + req.method + " not allowed on " + req.path);
        res.with_header("allow", m.allow);
      } else {
        try {
          res = co_await (*m.handler)(RouteRequest{req, m.params});
        } catch (const std::exception& e) {
          log->error("handler for {} {} threw: {}", req.method, req.path, e.what());
          res = error(500, "internal error");
        }
      }
      keep_alive = keep_alive && !draining;
      co_await write(stream, std::move(res), keep_alive, version, head);
      if (!keep_alive) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.close();
    sessions.erase(it);
    counters.connections.fetch_sub(1, std::memory_order_relaxed);
    if (draining && sessions.empty() && on_drained) {
      auto fn = std::move(on_drained);
      on_drained = nullptr;
      fn();
    }
  }
};

Server::Server(asio::any_io_executor ex, ServerOptions options, const Router& router, ServerCounters& counters)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options), router, counters)) {}

Server::~Server() { abort(); }

Result<std::uint16_t> Server::listen() {
  auto& i = *impl_;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(i.opts.host, ec);
  if (ec) {
    // A host name: resolve it once at start-up (before serving, so blocking is fine).
    tcp::resolver resolver(i.ex);
    auto results = resolver.resolve(i.opts.host, std::to_string(i.opts.port), ec);
    if (ec || results.empty()) return ec ? ec : make_error_code(boost::system::errc::address_not_available);
    addr = results.begin()->endpoint().address();
  }
  tcp::endpoint ep(addr, i.opts.port);
  i.acceptor.open(ep.protocol(), ec);
  if (ec) return ec;
  i.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  int one = 1;
  ::setsockopt(i.acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  i.acceptor.bind(ep, ec);
  if (ec) return ec;
  i.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  return i.acceptor.local_endpoint().port();
}

void Server::start() { asio::co_spawn(impl_->ex, impl_->accept_loop(), asio::detached); }

void Server::shutdown(std::function<void()> done) {
  auto& i = *impl_;
  i.draining = true;
  boost::system::error_code ignored;
  i.acceptor.close(ignored);
  for (auto& s : i.sessions) {
    if (!s.busy) s.stream->socket().cancel(ignored);  // idle keep-alive: wake its read, it exits
  }
  if (i.sessions.empty()) {
    done();
  } else {
    i.on_drained = std::move(done);
  }
}

void Server::abort() {
  auto& i = *impl_;
  i.draining = true;
  i.on_drained = nullptr;
  boost::system::error_code ignored;
  i.acceptor.close(ignored);
  for (auto& s : i.sessions) s.stream->socket().close(ignored);
}

std::size_t Server::open_connections() const { return impl_->sessions.size(); }

}  // namespace ms::http
