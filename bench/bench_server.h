// A minimal keep-alive HTTP/1.1 server on Boost.Beast for the bench programs
// (http_204_responder, webhook_sink): C++20 coroutines, plain sockets, no timeouts,
// N threads on one io_context. Binds 127.0.0.1 only.
//
// On start it prints "port <N>" (the bound port; --port=0 picks a free one) on
// stdout and flushes, so a script can wait for that line. It stops on SIGINT or
// SIGTERM, when its parent dies (PR_SET_PDEATHSIG), or after --max-seconds.
#pragma once

#include <signal.h>
#include <sys/prctl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
inline constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct ServerOptions {
  unsigned short port = 0;
  int threads = 1;
  int max_seconds = 1800;
};

// "--name=value" → value, for integer flags.
inline std::optional<long long> flag_value(std::string_view arg, std::string_view name) {
  std::string prefix = "--" + std::string(name) + "=";
  if (arg.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string v(arg.substr(prefix.size()));
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 0) {
    std::fprintf(stderr, "bad value for --%.*s\n", static_cast<int>(name.size()), name.data());
    std::exit(2);
  }
  return n;
}

// Parses --port, --threads, --max-seconds; returns false for an unknown argument.
inline bool parse_server_flag(std::string_view arg, ServerOptions& o) {
  if (auto v = flag_value(arg, "port")) {
    o.port = static_cast<unsigned short>(*v);
  } else if (auto t = flag_value(arg, "threads")) {
    o.threads = static_cast<int>(std::max(1ll, *t));
  } else if (auto m = flag_value(arg, "max-seconds")) {
    o.max_seconds = static_cast<int>(*m);
  } else {
    return false;
  }
  return true;
}

// Handler: void(Request&, Response&) — fills in status, body and headers; may be
// called on any of the threads concurrently.
template <class Handler>
asio::awaitable<void> serve_connection(tcp::socket sock, Handler& handler) {
  sock.set_option(tcp::no_delay(true));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    auto [rec, rn] = co_await http::async_read(sock, buffer, parser, kUseTuple);
    if (rec) break;
    Request& req = parser.get();
    Response res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.result(http::status::ok);
    handler(req, res);
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(sock, res, kUseTuple);
    if (wec || !res.keep_alive()) break;
  }
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_send, ignored);
  sock.close(ignored);
}

template <class Handler>
asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, Handler& handler) {
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(kUseTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serve_connection(std::move(sock), handler), asio::detached);
  }
}

template <class Handler>
int run_server(const ServerOptions& o, Handler& handler) {
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  asio::io_context ioc(o.threads);
  tcp::acceptor acceptor(ioc);
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), o.port);
  acceptor.open(ep.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  boost::system::error_code ec;
  acceptor.bind(ep, ec);
  if (ec) {
    std::fprintf(stderr, "bind 127.0.0.1:%u: %s\n", o.port, ec.message().c_str());
    return 1;
  }
  acceptor.listen(asio::socket_base::max_listen_connections);
  std::printf("port %u\n", acceptor.local_endpoint().port());
  std::fflush(stdout);

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { ioc.stop(); });
  asio::steady_timer deadline(ioc, std::chrono::seconds(o.max_seconds));
  deadline.async_wait([&](auto ec2) {
    if (!ec2) {
      std::fprintf(stderr, "max-seconds reached, stopping\n");
      ioc.stop();
    }
  });
  asio::co_spawn(ioc, accept_loop(acceptor, handler), asio::detached);

  std::vector<std::thread> threads;
  for (int i = 1; i < o.threads; ++i) threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  ioc.stop();
  for (auto& t : threads) t.join();
  return 0;
}

}  // namespace bench
