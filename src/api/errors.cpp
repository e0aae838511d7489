#include "api/errors.h"

#include "messaging/json_text.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace ms::api {

std::string_view code_for_status(int status) {
  switch (status) {
    case 400: return "invalid_argument";
    case 401: return "unauthenticated";
    case 403: return "permission_denied";
    case 404: return "not_found";
    case 405: return "invalid_argument";  // the contract has no code of its own for it
    case 409: return "conflict";
    case 413: return "payload_too_large";
    case 414: return "invalid_argument";
    case 415: return "unsupported_media_type";
    case 429: return "rate_limited";
    case 431: return "invalid_argument";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal" : "invalid_argument";
  }
}

http::Response error_response(int status, std::string_view message, boost::json::object details) {
  boost::json::object err;
  err["code"] = code_for_status(status);
  err["message"] = message;
  if (!details.empty()) err["details"] = std::move(details);
  boost::json::object body;
  body["error"] = std::move(err);
  return http::Response::json(status, boost::json::serialize(body));
}

http::Response unavailable(std::string_view message, int retry_after_seconds) {
  auto r = error_response(503, message);
  r.with_header("retry-after", std::to_string(retry_after_seconds));
  return r;
}

// Numbers in their shortest round-trip form (Boost.JSON 1.81 would write 2.0 as 2E0).
http::Response json_response(int status, const boost::json::value& body) {
  return http::Response::json(status, messaging::to_json(body));
}

}  // namespace ms::api
