// Fuzzes what any client can send on a connection: the bytes are read exactly as the
// server reads them (http/request_reader.h: Beast's parser with the server's limits,
// the header-count and request-target checks, the conversion to http::Request), one
// keep-alive request after another, then routed by a Router built from the real route
// table (api::route_table()) and passed through api::AccessGate with API keys and a
// metrics key configured, so Authorization headers are parsed too.
//
// Beyond "no crash, no leak, no UB" it checks:
// - a refusal is 400, 413, 414 or 431; an accepted request respects every limit;
// - the conversion keeps the target, splits path and query, lower-cases names;
// - a route match names a route of the table with the request's method (HEAD → GET);
// - the access check answers only 401/403 in the contract's error shape, never
//   refuses an open route, always refuses a scoped route without a key, and lets
//   the admin key through.
// The limits are small so that the fuzzer reaches them; they are the same checks
// the server runs with its configured values.
#include "api/access.h"
#include "api/routes.h"
#include "config/config.h"
#include "http/request_reader.h"
#include "http/router.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

using namespace ms;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

http::RequestLimits limits() {
  http::RequestLimits l;
  l.max_body_bytes = 2048;
  l.max_header_bytes = 4096;
  l.max_header_count = 16;
  l.max_url_bytes = 512;
  return l;
}

// The route table's patterns, each route's handler a placeholder that is never called
// (only matching is fuzzed; not a coroutine, see CMakeLists.txt).
const http::Router& router() {
  static const http::Router r = [] {
    http::Router out;
    for (const auto& spec : api::route_table()) {
      out.add(spec.method, spec.pattern, [](http::RouteRequest) { return boost::asio::awaitable<http::Response>{}; });
    }
    return out;
  }();
  return r;
}

const api::AccessGate& gate() {
  static const api::AccessGate g = [] {
    config::Config cfg;
    cfg.api_keys = {{"pub-key", {"publish"}}, {"sub-key", {"subscribe"}}, {"admin-key", {"admin"}}};
    cfg.metrics_key = "metrics-key";
    cfg.rate_limit_rps = 0;  // off: a time-dependent answer would make runs irreproducible
    return api::AccessGate(cfg);
  }();
  return g;
}

void check_error_shape(const http::Response& res) {
  boost::system::error_code ec;
  auto v = boost::json::parse(res.body, ec);
  check(!ec && v.is_object(), "an access refusal is a JSON object");
  const auto* err = v.as_object().if_contains("error");
  check(err != nullptr && err->is_object(), "an access refusal has an error object");
  const auto* code = err->as_object().if_contains("code");
  const auto* message = err->as_object().if_contains("message");
  check(code != nullptr && code->is_string() && message != nullptr && message->is_string(),
        "an access refusal has a code and a message");
}

void check_request(const http::Request& req, const http::RequestLimits& lim) {
  check(req.target.size() <= lim.max_url_bytes, "accepted target within max_url_bytes");
  check(req.headers.size() <= lim.max_header_count, "accepted header count within max_header_count");
  check(req.body.size() <= lim.max_body_bytes, "accepted body within max_body_bytes");
  check(!req.method.empty() && !req.target.empty(), "method and target are set");
  const auto q = req.target.find('?');
  check(req.path == req.target.substr(0, q), "path is the target before '?'");
  check(q == std::string::npos ? req.query.empty() : req.query == req.target.substr(q + 1), "query after '?'");
  for (const auto& [name, value] : req.headers) {
    for (char c : name) check(!std::isupper(static_cast<unsigned char>(c)), "header names are lower-case");
  }
}

void route(const http::Request& req) {
  const auto& r = router();
  auto m = r.match(req.method, req.path);
  check(m.status == 0 || m.status == 404 || m.status == 405, "match status");
  if (m.status == 405) check(!m.allow.empty(), "405 names the allowed methods");
  // Query parameters the handlers read.
  for (const char* name : {"limit", "after", "channel"}) (void)req.query_param(name);

  const auto& g = gate();
  (void)g.caller(req);
  (void)g.may_see(req, "key_0123456789abcdef");
  if (auto denied = g.check(req, api::Guard::metrics, 0)) {
    check(denied->status == 401, "the metrics key check answers 401");
    check_error_shape(*denied);
  }
  if (m.status != 0) return;

  const auto table = api::route_table();
  const api::RouteSpec* spec = nullptr;
  for (std::size_t i = 0; i < r.routes().size(); ++i) {
    if (m.handler == &r.routes()[i].handler) spec = &table[i];
  }
  check(spec != nullptr, "a match is a route of the table");
  check(req.method == spec->method || (req.method == "HEAD" && std::string_view(spec->method) == "GET"),
        "a match has the request's method");
  for (const auto& [name, value] : m.params) check(!value.empty(), "path parameters are not empty");

  auto denied = g.check(req, spec->guard, spec->scopes);
  if (spec->guard == api::Guard::open) check(!denied, "an open route is never refused");
  if (spec->guard == api::Guard::scoped && !req.header("authorization")) {
    check(denied && denied->status == 401, "a scoped route without a key is 401");
  }
  if (spec->guard == api::Guard::scoped && req.header("authorization") == "Bearer admin-key") {
    check(!denied, "the admin key may call every scoped route");
  }
  if (denied) {
    check(denied->status == 401 || denied->status == 403, "access answers 401 or 403 (rate limit off)");
    check_error_shape(*denied);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const auto lim = limits();
  // Requests on one connection, as the server's keep-alive loop reads them.
  for (int n = 0; n < 8 && !rest.empty(); ++n) {
    auto out = http::read_request(rest, lim);
    check(out.consumed <= rest.size(), "consumed within the input");
    if (out.kind == http::ReadOutcome::Kind::refused) {
      const int s = out.refusal->status;
      check(s == 400 || s == 413 || s == 414 || s == 431, "refusal status");
      check(!out.refusal->message.empty(), "refusal message");
      break;
    }
    if (out.kind == http::ReadOutcome::Kind::closed) break;
    check(out.request.has_value(), "a request outcome holds the request");
    check(out.consumed > 0, "a request consumes bytes");
    check_request(*out.request, lim);
    route(*out.request);
    if (!out.keep_alive) break;
    rest.remove_prefix(out.consumed);
  }
  return 0;
}
