// Errors of the Redis client (transport level; a Redis "-ERR" reply is a Reply, not an error).
#pragma once

#include <boost/system/error_code.hpp>

namespace ms::redis {

enum class errc {
  not_connected = 1,  // no connection to Redis right now
  connection_lost,    // the connection dropped with the command in flight
  timeout,            // no reply within the command timeout
  protocol_error,     // the reply stream could not be parsed
  shutting_down,      // the client was stopped
  bad_url,
};

const boost::system::error_category& category();
inline boost::system::error_code make_error_code(errc e) { return {static_cast<int>(e), category()}; }

}  // namespace ms::redis

template <>
struct boost::system::is_error_code_enum<ms::redis::errc> : std::true_type {};
