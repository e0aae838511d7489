// Resolve and connect a TCP socket, the whole bounded by a timeout. Used by both
// connection types; runs on the socket's executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace ms::redis {

boost::asio::awaitable<boost::system::error_code> connect_with_timeout(boost::asio::ip::tcp::socket& socket,
                                                                       std::string host, std::uint16_t port,
                                                                       std::chrono::milliseconds timeout);

}  // namespace ms::redis
