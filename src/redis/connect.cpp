#include "redis/connect.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>

namespace ms::redis {

namespace asio = boost::asio;
using asio::ip::tcp;

asio::awaitable<boost::system::error_code> connect_with_timeout(tcp::socket& socket, std::string host,
                                                                std::uint16_t port,
                                                                std::chrono::milliseconds timeout) {
  constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
  // The deadline's state outlives this frame: its handler may run after we return.
  struct Deadline {
    bool done = false;
    bool timed_out = false;
  };
  auto state = std::make_shared<Deadline>();
  auto resolver = std::make_shared<tcp::resolver>(socket.get_executor());
  asio::steady_timer deadline(socket.get_executor());
  deadline.expires_after(timeout);
  deadline.async_wait([state, resolver, &socket](boost::system::error_code ec) {
    if (ec || state->done) return;
    state->timed_out = true;
    resolver->cancel();
    boost::system::error_code ignored;
    socket.close(ignored);
  });
  auto [rec, results] = co_await resolver->async_resolve(host, std::to_string(port), kUseTuple);
  if (rec || state->timed_out) {
    state->done = true;
    co_return state->timed_out ? asio::error::timed_out : rec;
  }
  auto [cec, ep] = co_await asio::async_connect(socket, results, kUseTuple);
  state->done = true;
  if (state->timed_out) co_return asio::error::timed_out;
  if (cec) co_return cec;
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  co_return boost::system::error_code{};
}

}  // namespace ms::redis
