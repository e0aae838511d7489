#include "api/errors.h"

#include "messaging/json_text.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace ms::api {

namespace {

// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8_sequence(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F)) return 0;  // overlong, surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) > 0x8F)) return 0;  // overlong, > U+10FFFF
    return 4;
  }
  return 0;
}

// `text` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD.
// Error messages quote what the client sent (a path, a header): raw bytes there
// would make the body invalid JSON (found by fuzz_http_request).
std::string valid_utf8(std::string text) {
  const auto sequence_at = [&](std::size_t i) { return utf8_sequence(std::string_view(text).substr(i)); };
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t n = sequence_at(i);
    if (n == 0) break;
    i += n;
  }
  if (i == text.size()) return text;  // the usual case: nothing to replace
  std::string out(text, 0, i);
  while (i < text.size()) {
    const std::size_t n = sequence_at(i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text, i, n);
      i += n;
    }
  }
  return out;
}

}  // namespace

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
  // Outside the string literals the text is ASCII, so this fixes strings in place.
  return http::Response::json(status, valid_utf8(boost::json::serialize(body)));
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
