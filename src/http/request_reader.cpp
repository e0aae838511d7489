#include "http/request_reader.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cctype>
#include <iterator>

namespace ms::http {

namespace bhttp = boost::beast::http;

namespace {

constexpr std::size_t kReadBytes = 65536;  // what Beast's read loop asks the socket for at most

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Refusal url_too_long(const RequestLimits& limits) {
  return {414, "request target longer than " + std::to_string(limits.max_url_bytes) + " bytes"};
}

}  // namespace

void apply_limits(RequestParser& parser, const RequestLimits& limits) {
  parser.body_limit(limits.max_body_bytes);
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
}

std::size_t read_buffer_limit(const RequestLimits& limits) { return limits.max_header_bytes + kReadBytes; }

std::size_t field_count(const RequestParser& parser) {
  const auto& fields = parser.get();
  return static_cast<std::size_t>(std::distance(fields.begin(), fields.end()));
}

std::optional<Refusal> check_header(const RequestParser& parser, const RequestLimits& limits) {
  const auto& header = parser.get();
  if (header.target().size() > limits.max_url_bytes) return url_too_long(limits);
  // Bounded by max_header_bytes, so counting after the fact costs little.
  if (field_count(parser) > limits.max_header_count) {
    return Refusal{431, "more than " + std::to_string(limits.max_header_count) + " request header fields"};
  }
  return std::nullopt;
}

std::optional<Refusal> refusal_for(const boost::system::error_code& ec, const RequestParser& parser,
                                   const RequestLimits& limits) {
  if (ec == bhttp::error::body_limit) {
    return Refusal{413, "request body larger than " + std::to_string(limits.max_body_bytes) + " bytes"};
  }
  if (ec == bhttp::error::header_limit) {
    // The target is set once the request line is complete: still empty, the
    // request line alone overran the limit, which is a target too long (RFC 9110 §15.5.15).
    const auto target = parser.get().target();
    if (target.empty() || target.size() > limits.max_url_bytes) return url_too_long(limits);
    return Refusal{431, "request headers larger than " + std::to_string(limits.max_header_bytes) + " bytes"};
  }
  if (ec == bhttp::error::buffer_overflow) {
    return Refusal{400, "chunk extensions or trailer fields longer than " + std::to_string(read_buffer_limit(limits)) +
                            " bytes"};
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    return Refusal{400, "malformed HTTP request: " + ec.message()};
  }
  return std::nullopt;  // the peer went away, a timeout, a socket error
}

Request to_request(RequestParser& parser, std::size_t header_fields, std::string remote_address) {
  auto& in = parser.get();
  Request r;
  r.method = std::string(in.method_string());
  r.target = std::string(in.target());
  const auto q = r.target.find('?');
  r.path = r.target.substr(0, q);  // segments are decoded by the router
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  r.headers.reserve(std::min<std::size_t>(header_fields, 32));
  for (const auto& f : in) {
    if (r.headers.size() == header_fields) break;  // the rest are trailers
    r.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
  }
  r.body = std::move(in.body());
  r.remote_address = std::move(remote_address);
  return r;
}

namespace {

// Beast's read loop (http::async_read_some inside async_read_header / async_read)
// over a fixed buffer: parse what is there, at most `window` bytes of it (the read
// buffer's limit); when the parser needs more, a full window is a buffer overflow
// and anything less the end of the stream.
class MemoryRead {
 public:
  MemoryRead(std::string_view bytes, RequestParser& parser, std::size_t window)
      : bytes_(bytes), parser_(parser), window_(window) {}

  template <class Done>
  boost::system::error_code until(Done done) {
    boost::system::error_code ec;
    while (!done()) {
      const std::size_t available = std::min(bytes_.size() - pos_, window_);
      if (available > 0) {
        pos_ += parser_.put(boost::asio::buffer(bytes_.data() + pos_, available), ec);
        if (!ec) continue;  // parsed a step; the condition decides
        if (ec != bhttp::error::need_more) return ec;
        if (available == window_) return bhttp::error::buffer_overflow;
      }
      // The parser needs more and the stream has ended.
      if (!parser_.got_some()) return bhttp::error::end_of_stream;
      ec = {};
      parser_.put_eof(ec);
      return ec;
    }
    return {};
  }
  std::size_t consumed() const { return pos_; }

 private:
  std::string_view bytes_;
  RequestParser& parser_;
  std::size_t window_;
  std::size_t pos_ = 0;
};

}  // namespace

ReadOutcome read_request(std::string_view bytes, const RequestLimits& limits) {
  ReadOutcome out;
  RequestParser parser;
  apply_limits(parser, limits);
  MemoryRead read(bytes, parser, read_buffer_limit(limits));

  auto fail = [&](const boost::system::error_code& ec) {
    out.refusal = refusal_for(ec, parser, limits);
    out.kind = out.refusal ? ReadOutcome::Kind::refused : ReadOutcome::Kind::closed;
    out.consumed = read.consumed();
    return out;
  };

  parser.eager(false);  // as async_read_header
  if (auto ec = read.until([&] { return parser.is_header_done(); })) return fail(ec);
  if (auto refusal = check_header(parser, limits)) {
    out.kind = ReadOutcome::Kind::refused;
    out.refusal = std::move(refusal);
    out.consumed = read.consumed();
    return out;
  }
  const std::size_t header_fields = field_count(parser);
  parser.eager(true);  // as async_read
  if (auto ec = read.until([&] { return parser.is_done(); })) return fail(ec);
  out.keep_alive = parser.get().keep_alive();
  out.request = to_request(parser, header_fields, "127.0.0.1");
  out.kind = ReadOutcome::Kind::request;
  out.consumed = read.consumed();
  return out;
}

}  // namespace ms::http
