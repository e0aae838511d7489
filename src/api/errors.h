// The contract's error shape, in one place:
// {"error": {"code": "invalid_argument", "message": "...", "details": {...}}}
#pragma once

#include "http/message.h"

#include <boost/json/object.hpp>

#include <string_view>

namespace ms::api {

// The contract's code for an HTTP status (400 → invalid_argument, ...).
std::string_view code_for_status(int status);

http::Response error_response(int status, std::string_view message, boost::json::object details = {});

// 503 with Retry-After, for Redis being unreachable or too slow.
http::Response unavailable(std::string_view message, int retry_after_seconds = 1);

// A JSON response from a value.
http::Response json_response(int status, const boost::json::value& body);

}  // namespace ms::api
