// Reading one HTTP/1.1 request: Beast's request parser with the server's limits,
// the limits Beast does not enforce itself (header count, request-target length),
// the mapping of a failed read to the answer the client gets, and the conversion
// to the handlers' http::Request.
//
// The server drives these steps from its socket (server.cpp); read_request() runs
// them over bytes already in memory, the way Beast's read loop does, for the fuzzer
// (tests/fuzz/fuzz_http_request.cpp) and unit tests. Both share every check.
//
// Plain functions, no state of their own: call them on the parser's thread.
#pragma once

#include "http/message.h"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ms::http {

struct RequestLimits {
  std::size_t max_body_bytes = 1048576;  // → 413 (counts chunk data, not chunked framing)
  // Request line + headers (Beast's header_limit) → 431. Beast applies it to what
  // is still unparsed, so a header arriving in pieces may reach twice this.
  std::size_t max_header_bytes = 16384;
  std::size_t max_header_count = 100;  // header fields, repeats counted → 431
  // The request-target (path + query) → 414. A request line longer than
  // max_header_bytes is answered 414 as well.
  std::size_t max_url_bytes = 8192;
};

// The answer to a request the server will not serve; the connection closes after it.
struct Refusal {
  int status = 400;  // 400, 413, 414 or 431
  std::string message;
};

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Sets the limits Beast enforces on a fresh parser (one parser per request).
void apply_limits(RequestParser& parser, const RequestLimits& limits);

// The most unparsed bytes a connection's read buffer may hold: a header plus one
// read. Beast bounds neither a chunk-extension line nor the trailer section of a
// chunked body, so without this bound one request could make the server buffer
// without end; past it the read fails (buffer_overflow → 400).
std::size_t read_buffer_limit(const RequestLimits& limits);

// Once the header is parsed, before any body is read or 100 Continue sent:
// too many header fields (431) or too long a request-target (414).
std::optional<Refusal> check_header(const RequestParser& parser, const RequestLimits& limits);

// How many fields the message holds now. Taken when the header is done: Beast
// appends a chunked body's trailer fields after them.
std::size_t field_count(const RequestParser& parser);

// What to answer when reading the request failed with `ec`; nullopt when the
// connection just closes without an answer (the client went away mid-request or
// before sending anything, a timeout, a socket error).
std::optional<Refusal> refusal_for(const boost::system::error_code& ec, const RequestParser& parser,
                                   const RequestLimits& limits);

// The parsed request as handlers see it: the first `header_fields` fields (names
// lower-cased; trailer fields are dropped, as RFC 9110 §6.5.2 allows, so a trailer
// can never pass for a header such as Authorization), the query split off the path
// (segments are percent-decoded by the router). Moves the body out.
Request to_request(RequestParser& parser, std::size_t header_fields, std::string remote_address);

// The server's steps over an in-memory buffer whose end is the end of the stream,
// handed to the parser at most read_buffer_limit() unparsed bytes at a time.
struct ReadOutcome {
  enum class Kind {
    request,  // `request` holds it; `consumed` bytes belong to it (the rest is the next one)
    refused,  // `refusal` is what the server answers before closing
    closed,   // the server closes without an answer
  };
  Kind kind = Kind::closed;
  std::optional<Request> request;
  std::optional<Refusal> refusal;
  std::size_t consumed = 0;
  bool keep_alive = false;  // for `request`: may another request follow on the connection
};
ReadOutcome read_request(std::string_view bytes, const RequestLimits& limits);

}  // namespace ms::http
