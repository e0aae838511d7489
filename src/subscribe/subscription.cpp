#include "subscribe/subscription.h"

#include "base/clock.h"
#include "messaging/channel_name.h"
#include "messaging/json_text.h"
#include "messaging/ulid.h"
#include "subscribe/signer.h"

#include <boost/json/object.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace ms::subscribe {
namespace {

using boost::json::object;
using boost::json::value;

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::size_t kMinSecretBytes = 16;
constexpr std::size_t kMaxSecretBytes = 64;
constexpr std::size_t kMaxJsonDepth = 16;  // the deepest valid body is 3 levels

// Headers the service sets itself (API.md "Webhook delivery"), plus the hop-by-hop
// and framing headers that would break the request: never taken from `headers`.
constexpr std::array<std::string_view, 19> kReservedHeaders = {
    "content-type",      "content-length",    "content-encoding",   "host",       "webhook-id",
    "webhook-timestamp", "webhook-signature", "traceparent",        "tracestate", "x-subscription-id",
    "x-delivery-attempt", "connection",       "transfer-encoding",  "keep-alive", "proxy-connection",
    "te",                "trailer",           "upgrade",            "expect"};

// Integer fields: [lo, hi] as in API.md.
struct IntRange {
  std::int64_t lo;
  std::int64_t hi;
};
constexpr IntRange kAckDeadline{1000, 43200000};
constexpr IntRange kTimeout{100, 60000};
constexpr IntRange kMaxInFlight{1, 1000};
constexpr IntRange kMaxAttempts{1, 100};
constexpr IntRange kInitialBackoff{1, 3600000};
constexpr IntRange kMaxBackoff{1, 86400000};

std::string_view sv(const boost::json::string& s) { return {s.data(), s.size()}; }

// Unsigned fields go out as int64 where they fit, so readers can use as_int64().
value number(std::uint64_t n) {
  if (n <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return value(static_cast<std::int64_t>(n));
  }
  return value(n);
}

FieldError error(std::string message, std::string field = {}) { return {std::move(message), std::move(field)}; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// RFC 9110 tchar
bool is_token(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// field-value: visible characters, spaces, tabs and obs-text; no CR, LF, NUL or other controls.
bool is_header_value(std::string_view v) {
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

std::optional<object> parse_object(std::string_view body, FieldError& err) {
  if (body.empty()) {
    err = error("malformed JSON: body is empty");
    return std::nullopt;
  }
  boost::json::parse_options opts;
  opts.max_depth = kMaxJsonDepth;
  boost::json::parser parser({}, opts);
  boost::system::error_code ec;
  std::size_t consumed = parser.write(body.data(), body.size(), ec);
  if (ec) {
    err = error("malformed JSON: " + ec.message() + " at offset " + std::to_string(consumed));
    return std::nullopt;
  }
  value root = parser.release();
  if (auto* o = root.if_object()) return std::move(*o);
  err = error("body must be a JSON object");
  return std::nullopt;
}

// nullptr when absent; `null` counts as absent where `null_is_absent`.
const value* member(const object& o, std::string_view name, bool null_is_absent = true) {
  auto it = o.find(name);
  if (it == o.end()) return nullptr;
  if (null_is_absent && it->value().is_null()) return nullptr;
  return &it->value();
}

// An integer (an integral double such as 1e3 counts) or nullopt.
std::optional<std::int64_t> as_integer(const value& v) {
  if (auto* i = v.if_int64()) return *i;
  if (auto* u = v.if_uint64()) {
    if (*u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return static_cast<std::int64_t>(*u);
    return std::nullopt;
  }
  if (auto* d = v.if_double()) {
    if (std::isfinite(*d) && std::trunc(*d) == *d && std::fabs(*d) < 9.2e18) return static_cast<std::int64_t>(*d);
  }
  return std::nullopt;
}

std::optional<double> as_number(const value& v) {
  if (auto* i = v.if_int64()) return static_cast<double>(*i);
  if (auto* u = v.if_uint64()) return static_cast<double>(*u);
  if (auto* d = v.if_double()) {
    if (std::isfinite(*d)) return *d;
  }
  return std::nullopt;
}

std::optional<FieldError> read_int(const value& v, const std::string& field, IntRange range, std::int64_t& out) {
  auto n = as_integer(v);
  if (!n || *n < range.lo || *n > range.hi) {
    return error(field + " must be an integer from " + std::to_string(range.lo) + " to " + std::to_string(range.hi),
                 field);
  }
  out = *n;
  return std::nullopt;
}

template <class T>
std::optional<FieldError> read_int_field(const object& o, std::string_view name, const std::string& prefix,
                                         IntRange range, T& out) {
  const value* v = member(o, name, false);
  if (!v) return std::nullopt;
  std::int64_t n = 0;
  if (auto e = read_int(*v, prefix + std::string(name), range, n)) return e;
  out = static_cast<T>(n);
  return std::nullopt;
}

std::optional<FieldError> read_number_field(const object& o, std::string_view name, const std::string& field,
                                            double lo, double hi, std::string_view range_text, double& out) {
  const value* v = member(o, name, false);
  if (!v) return std::nullopt;
  auto n = as_number(*v);
  if (!n || *n < lo || *n > hi) return error(field + " must be a number from " + std::string(range_text), field);
  out = *n;
  return std::nullopt;
}

std::optional<FieldError> read_endpoint(const value& v, const ValidationLimits& limits, std::string& out) {
  const auto* s = v.if_string();
  if (!s) return error("endpoint must be a string", "endpoint");
  std::string_view text = sv(*s);
  if (text.empty()) return error("endpoint must not be empty", "endpoint");
  if (text.size() > limits.max_endpoint) {
    return error("endpoint is longer than " + std::to_string(limits.max_endpoint) + " bytes", "endpoint");
  }
  auto parsed = boost::urls::parse_uri(boost::core::string_view(text.data(), text.size()));
  if (!parsed) return error("endpoint must be an absolute http or https URL", "endpoint");
  const boost::urls::url_view& url = *parsed;
  if (url.scheme_id() != boost::urls::scheme::http && url.scheme_id() != boost::urls::scheme::https) {
    return error("endpoint must use http or https", "endpoint");
  }
  if (!url.has_authority() || url.encoded_host().empty()) return error("endpoint must have a host", "endpoint");
  // Boost.URL 1.81 lets a path that does not start with '/' follow the authority, so
  // "http://1.2.3.4.5/" would mean host 1.2.3.4 and path ".5/"; RFC 3986 forbids that.
  if (auto path = url.encoded_path(); !path.empty() && path.front() != '/') {
    return error("endpoint must be an absolute http or https URL", "endpoint");
  }
  if (url.has_userinfo()) {
    return error("endpoint must not contain user information (send credentials in headers)", "endpoint");
  }
  if (url.has_port()) {
    // port_number() wraps values above 65535, so read the digits here.
    auto port = url.port();
    unsigned n = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || n == 0 || n > 65535) {
      return error("endpoint has an invalid port", "endpoint");
    }
  }
  if (url.has_fragment()) return error("endpoint must not have a fragment", "endpoint");
  out = std::string(text);
  return std::nullopt;
}

std::optional<FieldError> read_secret(const value& v, std::string& out) {
  const auto* s = v.if_string();
  if (!s) return error("secret must be a string", "secret");
  std::string_view text = sv(*s);
  if (text.substr(0, kSecretPrefix.size()) != kSecretPrefix) {
    return error("secret must start with \"whsec_\"", "secret");
  }
  auto key = base64_decode(text.substr(kSecretPrefix.size()));
  if (!key || key->size() < kMinSecretBytes || key->size() > kMaxSecretBytes) {
    return error("secret must be \"whsec_\" followed by the base64 of " + std::to_string(kMinSecretBytes) + " to " +
                     std::to_string(kMaxSecretBytes) + " bytes",
                 "secret");
  }
  out = std::string(text);
  return std::nullopt;
}

// Merges the given retry fields over `out` and checks the result.
std::optional<FieldError> read_retry(const value& v, RetryPolicy& out) {
  const auto* o = v.if_object();
  if (!o) return error("retry must be an object", "retry");
  RetryPolicy r = out;
  const std::string prefix = "retry.";
  if (auto e = read_int_field(*o, "max_attempts", prefix, kMaxAttempts, r.max_attempts)) return e;
  if (auto e = read_int_field(*o, "initial_backoff_ms", prefix, kInitialBackoff, r.initial_backoff_ms)) return e;
  if (auto e = read_int_field(*o, "max_backoff_ms", prefix, kMaxBackoff, r.max_backoff_ms)) return e;
  if (auto e = read_number_field(*o, "multiplier", "retry.multiplier", 1.0, 10.0, "1 to 10", r.multiplier)) return e;
  if (auto e = read_number_field(*o, "jitter", "retry.jitter", 0.0, 1.0, "0 to 1", r.jitter)) return e;
  if (r.max_backoff_ms < r.initial_backoff_ms) {
    // Point at the field the request gave (both, or only one of them).
    if (o->contains("max_backoff_ms")) {
      return error("retry.max_backoff_ms (" + std::to_string(r.max_backoff_ms) +
                       ") must not be less than retry.initial_backoff_ms (" + std::to_string(r.initial_backoff_ms) +
                       ")",
                   "retry.max_backoff_ms");
    }
    return error("retry.initial_backoff_ms (" + std::to_string(r.initial_backoff_ms) +
                     ") must not be more than retry.max_backoff_ms (" + std::to_string(r.max_backoff_ms) + ")",
                 "retry.initial_backoff_ms");
  }
  out = r;
  return std::nullopt;
}

std::optional<FieldError> read_filter(const value& v, const ValidationLimits& limits,
                                      std::vector<std::pair<std::string, std::string>>& out) {
  const auto* o = v.if_object();
  if (!o) return error("filter must be an object like {\"attributes\": {\"type\": \"order\"}}", "filter");
  std::vector<std::pair<std::string, std::string>> attrs;
  if (const value* a = member(*o, "attributes")) {
    const auto* ao = a->if_object();
    if (!ao) return error("filter.attributes must be an object of string values", "filter.attributes");
    if (ao->size() > limits.max_filter) {
      return error("filter.attributes may hold at most " + std::to_string(limits.max_filter) + " entries",
                   "filter.attributes");
    }
    for (const auto& kv : *ao) {
      std::string_view name(kv.key().data(), kv.key().size());
      if (name.empty()) return error("filter attribute names must not be empty", "filter.attributes");
      const std::string field = "filter.attributes." + std::string(name);
      const auto* s = kv.value().if_string();
      if (!s) return error(field + " must be a string", field);
      attrs.emplace_back(std::string(name), std::string(sv(*s)));
    }
  }
  out = std::move(attrs);
  return std::nullopt;
}

std::optional<FieldError> read_headers(const value& v, const ValidationLimits& limits,
                                       std::vector<std::pair<std::string, std::string>>& out) {
  const auto* o = v.if_object();
  if (!o) return error("headers must be an object of string values", "headers");
  if (o->size() > limits.max_headers) {
    return error("headers may hold at most " + std::to_string(limits.max_headers) + " entries", "headers");
  }
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& kv : *o) {
    std::string_view name(kv.key().data(), kv.key().size());
    const std::string field = "headers." + std::string(name);
    if (!is_token(name) || name.size() > limits.max_header_value) {
      return error(field + ": header names must be 1 to " + std::to_string(limits.max_header_value) +
                       " letters, digits or !#$%&'*+-.^_`|~",
                   field);
    }
    for (auto reserved : kReservedHeaders) {
      if (iequals(name, reserved)) return error(field + ": " + std::string(reserved) + " is set by the service", field);
    }
    for (const auto& seen : headers) {
      if (iequals(name, seen.first)) return error(field + " is given twice (header names ignore case)", field);
    }
    const auto* s = kv.value().if_string();
    if (!s) return error(field + " must be a string", field);
    std::string_view text = sv(*s);
    if (text.size() > limits.max_header_value) {
      return error(field + " is longer than " + std::to_string(limits.max_header_value) + " bytes", field);
    }
    if (!is_header_value(text)) return error(field + " must not contain control characters (CR, LF, ...)", field);
    headers.emplace_back(std::string(name), std::string(text));
  }
  out = std::move(headers);
  return std::nullopt;
}

std::optional<FieldError> read_description(const value& v, const ValidationLimits& limits, std::string& out) {
  const auto* s = v.if_string();
  if (!s) return error("description must be a string", "description");
  if (s->size() > limits.max_description) {
    return error("description is longer than " + std::to_string(limits.max_description) + " bytes", "description");
  }
  out = std::string(sv(*s));
  return std::nullopt;
}

std::optional<FieldError> read_state(const value& v, State& out) {
  const auto* s = v.if_string();
  if (s && *s == "active") {
    out = State::active;
  } else if (s && *s == "paused") {
    out = State::paused;
  } else {
    return error("state must be \"active\" or \"paused\"", "state");
  }
  return std::nullopt;
}

// "<ms>-<seq>", both unsigned 64-bit decimals (a Redis stream entry id).
bool is_position(std::string_view p) {
  auto dash = p.find('-');
  if (dash == std::string_view::npos) return false;
  auto number = [](std::string_view part) {
    if (part.empty() || part.size() > 20) return false;
    std::uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), n);
    return ec == std::errc() && ptr == part.data() + part.size();
  };
  return number(p.substr(0, dash)) && number(p.substr(dash + 1));
}

std::optional<FieldError> read_start(const value& v, Subscription& s) {
  if (const auto* str = v.if_string()) {
    if (*str == "latest" || *str == "earliest") {
      s.start = std::string(sv(*str));
      s.start_position.clear();
      return std::nullopt;
    }
  } else if (const auto* o = v.if_object()) {
    const value* p = member(*o, "position");
    const auto* ps = p ? p->if_string() : nullptr;
    if (!ps || !is_position(sv(*ps))) {
      return error("start.position must be a stream position like \"1733076000123-0\"", "start.position");
    }
    s.start = "position";
    s.start_position = std::string(sv(*ps));
    return std::nullopt;
  }
  return error("start must be \"latest\", \"earliest\" or {\"position\": \"<ms>-<seq>\"}", "start");
}

// The fields both create and patch take. In a patch, null clears filter, headers and
// description; anywhere else null means "absent" (create) or is a type error (patch).
std::optional<FieldError> read_changeable(const object& o, const ValidationLimits& limits, bool patch,
                                          Subscription& s) {
  if (const value* v = member(o, "endpoint", !patch)) {
    if (auto e = read_endpoint(*v, limits, s.endpoint)) return e;
  }
  if (const value* v = member(o, "secret", !patch)) {
    if (auto e = read_secret(*v, s.secret)) return e;
  }
  if (member(o, "timeout_ms", !patch)) {
    if (auto e = read_int_field(o, "timeout_ms", "", kTimeout, s.timeout_ms)) return e;
  }
  if (member(o, "max_in_flight", !patch)) {
    if (auto e = read_int_field(o, "max_in_flight", "", kMaxInFlight, s.max_in_flight)) return e;
  }
  if (const value* v = member(o, "retry", !patch)) {
    if (auto e = read_retry(*v, s.retry)) return e;
  }
  if (const value* v = member(o, "filter", false)) {
    if (v->is_null()) {
      s.filter_attributes.clear();
    } else if (auto e = read_filter(*v, limits, s.filter_attributes)) {
      return e;
    }
  }
  if (const value* v = member(o, "headers", false)) {
    if (v->is_null()) {
      s.headers.clear();
    } else if (auto e = read_headers(*v, limits, s.headers)) {
      return e;
    }
  }
  if (const value* v = member(o, "description", false)) {
    if (v->is_null()) {
      s.description.clear();
    } else if (auto e = read_description(*v, limits, s.description)) {
      return e;
    }
  }
  if (const value* v = member(o, "state", !patch)) {
    State state = s.state;
    if (auto e = read_state(*v, state)) return e;
    s.state = state;
    s.disabled_reason.clear();  // "active" re-enables a disabled subscription
  }
  return std::nullopt;
}

// --- stored form ---------------------------------------------------------------

// Boost.JSON 1.81 does not round doubles correctly when parsing (it can be off by an
// ulp), so the stored form keeps the two doubles as shortest round-trip text, read
// back with std::from_chars: from_stored(to_stored(s)) gives s bit for bit.
std::string double_text(double d) {
  std::array<char, 64> buf{};
  auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), d);
  return ec == std::errc() ? std::string(buf.data(), ptr) : "0";
}

std::optional<double> stored_double(const value* v) {
  if (!v) return std::nullopt;
  if (const auto* s = v->if_string()) {
    double d = 0;
    auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), d);
    if (ec == std::errc() && ptr == s->data() + s->size() && std::isfinite(d)) return d;
    return std::nullopt;
  }
  return as_number(*v);
}

boost::json::array pairs_to_json(const std::vector<std::pair<std::string, std::string>>& pairs) {
  boost::json::array a;
  for (const auto& [k, v] : pairs) a.push_back(boost::json::array{boost::json::string(k), boost::json::string(v)});
  return a;
}

std::optional<std::vector<std::pair<std::string, std::string>>> pairs_from_json(const value* v) {
  if (!v) return std::nullopt;
  const auto* a = v->if_array();
  if (!a) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : *a) {
    const auto* pair = e.if_array();
    if (!pair || pair->size() != 2 || !(*pair)[0].is_string() || !(*pair)[1].is_string()) return std::nullopt;
    out.emplace_back(std::string(sv((*pair)[0].get_string())), std::string(sv((*pair)[1].get_string())));
  }
  return out;
}

bool stored_string(const object& o, std::string_view name, std::string& out) {
  const value* v = member(o, name, false);
  if (!v || !v->is_string()) return false;
  out = std::string(sv(v->get_string()));
  return true;
}

template <class T>
bool stored_uint(const object& o, std::string_view name, T& out) {
  const value* v = member(o, name, false);
  if (!v) return false;
  if (const auto* u = v->if_uint64()) {
    if (*u > std::numeric_limits<T>::max()) return false;
    out = static_cast<T>(*u);
    return true;
  }
  if (const auto* i = v->if_int64()) {
    if (*i < 0 || static_cast<std::uint64_t>(*i) > std::numeric_limits<T>::max()) return false;
    out = static_cast<T>(*i);
    return true;
  }
  return false;
}

bool stored_int(const object& o, std::string_view name, std::int64_t& out) {
  const value* v = member(o, name, false);
  if (!v || !v->is_int64()) {
    if (v && v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      out = static_cast<std::int64_t>(v->get_uint64());
      return true;
    }
    return false;
  }
  out = v->get_int64();
  return true;
}

}  // namespace

std::variant<Subscription, FieldError> parse_create(std::string_view body, const ValidationLimits& limits) {
  FieldError err;
  auto root = parse_object(body, err);
  if (!root) return err;
  const object& o = *root;
  Subscription s;

  const value* channel = member(o, "channel");
  if (!channel) return error("channel is required", "channel");
  const auto* cs = channel->if_string();
  if (!cs) return error("channel must be a string", "channel");
  std::string_view name = sv(*cs);
  if (!messaging::is_valid_channel(name) && !messaging::is_valid_pattern(name)) {
    return error(messaging::is_pattern(name) ? messaging::pattern_error(name) : messaging::channel_error(name),
                 "channel");
  }
  s.channel = std::string(name);

  if (!member(o, "endpoint")) return error("endpoint is required", "endpoint");
  if (auto e = read_changeable(o, limits, false, s)) return std::move(*e);

  if (const value* v = member(o, "ack_mode")) {
    const auto* m = v->if_string();
    if (m && *m == "response") {
      s.ack_mode = AckMode::response;
    } else if (m && *m == "explicit") {
      s.ack_mode = AckMode::explicit_ack;
    } else {
      return error("ack_mode must be \"response\" or \"explicit\"", "ack_mode");
    }
  }
  if (member(o, "ack_deadline_ms")) {
    if (auto e = read_int_field(o, "ack_deadline_ms", "", kAckDeadline, s.ack_deadline_ms)) return std::move(*e);
  }
  if (const value* v = member(o, "ordered")) {
    if (!v->is_bool()) return error("ordered must be true or false", "ordered");
    s.ordered = v->get_bool();
  }
  if (const value* v = member(o, "start")) {
    if (auto e = read_start(*v, s)) return std::move(*e);
  }
  return s;
}

std::variant<Subscription, FieldError> apply_patch(const Subscription& current, std::string_view body,
                                                   const ValidationLimits& limits) {
  FieldError err;
  auto root = parse_object(body, err);
  if (!root) return err;
  const object& o = *root;
  for (std::string_view fixed : {"id", "channel", "ack_mode", "ack_deadline_ms", "ordered", "start"}) {
    if (o.contains(fixed)) return error(std::string(fixed) + " cannot be changed", std::string(fixed));
  }
  Subscription s = current;
  if (auto e = read_changeable(o, limits, true, s)) return std::move(*e);
  ++s.generation;
  return s;
}

boost::json::object to_json(const Subscription& s) {
  object o;
  o["id"] = s.id;
  o["channel"] = s.channel;
  o["endpoint"] = s.endpoint;
  o["secret"] = s.secret;
  o["ack_mode"] = to_string(s.ack_mode);
  o["ack_deadline_ms"] = number(s.ack_deadline_ms);
  o["timeout_ms"] = number(s.timeout_ms);
  o["max_in_flight"] = number(s.max_in_flight);
  o["ordered"] = s.ordered;
  o["retry"] = object{{"max_attempts", number(s.retry.max_attempts)},
                      {"initial_backoff_ms", number(s.retry.initial_backoff_ms)},
                      {"max_backoff_ms", number(s.retry.max_backoff_ms)},
                      {"multiplier", s.retry.multiplier},
                      {"jitter", s.retry.jitter}};
  if (s.start == "position") {
    o["start"] = object{{"position", s.start_position}};
  } else {
    o["start"] = s.start;
  }
  if (s.filter_attributes.empty()) {
    o["filter"] = nullptr;
  } else {
    object attrs;
    for (const auto& [k, v] : s.filter_attributes) attrs[k] = v;
    o["filter"] = object{{"attributes", std::move(attrs)}};
  }
  object headers;
  for (const auto& [k, v] : s.headers) headers[k] = v;
  o["headers"] = std::move(headers);
  o["description"] = s.description;
  o["state"] = to_string(s.state);
  if (s.state == State::disabled) o["disabled_reason"] = s.disabled_reason;
  o["created_at"] = format_rfc3339_ms(s.created_at_ms);
  o["updated_at"] = format_rfc3339_ms(s.updated_at_ms);
  if (!s.owner.empty()) o["owner"] = s.owner;
  return o;
}

// Its own shape (not to_json's): filter and headers as [name, value] pairs so order and
// any duplicates survive, doubles as text (see double_text), times as integers.
std::string to_stored(const Subscription& s) {
  object o;
  o["id"] = s.id;
  o["channel"] = s.channel;
  o["endpoint"] = s.endpoint;
  o["secret"] = s.secret;
  o["ack_mode"] = to_string(s.ack_mode);
  o["ack_deadline_ms"] = number(s.ack_deadline_ms);
  o["timeout_ms"] = number(s.timeout_ms);
  o["max_in_flight"] = number(s.max_in_flight);
  o["ordered"] = s.ordered;
  o["retry"] = object{{"max_attempts", number(s.retry.max_attempts)},
                      {"initial_backoff_ms", number(s.retry.initial_backoff_ms)},
                      {"max_backoff_ms", number(s.retry.max_backoff_ms)},
                      {"multiplier", double_text(s.retry.multiplier)},
                      {"jitter", double_text(s.retry.jitter)}};
  o["start"] = s.start;
  o["start_position"] = s.start_position;
  o["filter_attributes"] = pairs_to_json(s.filter_attributes);
  o["headers"] = pairs_to_json(s.headers);
  o["description"] = s.description;
  o["state"] = to_string(s.state);
  o["disabled_reason"] = s.disabled_reason;
  o["created_at_ms"] = s.created_at_ms;
  o["updated_at_ms"] = s.updated_at_ms;
  o["generation"] = number(s.generation);
  if (!s.owner.empty()) o["owner"] = s.owner;
  return messaging::to_json(o);
}

std::optional<Subscription> from_stored(std::string_view json) {
  boost::system::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = kMaxJsonDepth;
  boost::json::parser parser({}, opts);
  parser.write(json.data(), json.size(), ec);
  if (ec) return std::nullopt;
  value root = parser.release();
  const auto* o = root.if_object();
  if (!o) return std::nullopt;

  Subscription s;
  std::string ack_mode, state;
  if (!stored_string(*o, "id", s.id) || !stored_string(*o, "channel", s.channel) ||
      !stored_string(*o, "endpoint", s.endpoint) || !stored_string(*o, "secret", s.secret) ||
      !stored_string(*o, "ack_mode", ack_mode) || !stored_uint(*o, "ack_deadline_ms", s.ack_deadline_ms) ||
      !stored_uint(*o, "timeout_ms", s.timeout_ms) || !stored_uint(*o, "max_in_flight", s.max_in_flight) ||
      !stored_string(*o, "start", s.start) || !stored_string(*o, "start_position", s.start_position) ||
      !stored_string(*o, "description", s.description) || !stored_string(*o, "state", state) ||
      !stored_string(*o, "disabled_reason", s.disabled_reason) ||
      !stored_int(*o, "created_at_ms", s.created_at_ms) || !stored_int(*o, "updated_at_ms", s.updated_at_ms) ||
      !stored_uint(*o, "generation", s.generation)) {
    return std::nullopt;
  }
  if (member(*o, "owner", false) && !stored_string(*o, "owner", s.owner)) return std::nullopt;  // absent before keys
  const value* ordered = member(*o, "ordered", false);
  if (!ordered || !ordered->is_bool()) return std::nullopt;
  s.ordered = ordered->get_bool();

  if (ack_mode == "response") {
    s.ack_mode = AckMode::response;
  } else if (ack_mode == "explicit") {
    s.ack_mode = AckMode::explicit_ack;
  } else {
    return std::nullopt;
  }
  if (state == "active") {
    s.state = State::active;
  } else if (state == "paused") {
    s.state = State::paused;
  } else if (state == "disabled") {
    s.state = State::disabled;
  } else {
    return std::nullopt;
  }
  if (s.start != "latest" && s.start != "earliest" && s.start != "position") return std::nullopt;

  const value* retry = member(*o, "retry", false);
  const auto* r = retry ? retry->if_object() : nullptr;
  if (!r || !stored_uint(*r, "max_attempts", s.retry.max_attempts) ||
      !stored_uint(*r, "initial_backoff_ms", s.retry.initial_backoff_ms) ||
      !stored_uint(*r, "max_backoff_ms", s.retry.max_backoff_ms)) {
    return std::nullopt;
  }
  auto multiplier = stored_double(member(*r, "multiplier", false));
  auto jitter = stored_double(member(*r, "jitter", false));
  if (!multiplier || !jitter) return std::nullopt;
  s.retry.multiplier = *multiplier;
  s.retry.jitter = *jitter;

  auto filter = pairs_from_json(member(*o, "filter_attributes", false));
  auto headers = pairs_from_json(member(*o, "headers", false));
  if (!filter || !headers) return std::nullopt;
  s.filter_attributes = std::move(*filter);
  s.headers = std::move(*headers);
  return s;
}

std::string generate_secret() {
  std::array<unsigned char, 24> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    // Only when OpenSSL cannot seed itself. A guessable signing secret is worse than
    // stopping: there is no safe fallback.
    std::fputs("fatal: RAND_bytes failed while generating a webhook secret\n", stderr);
    std::abort();
  }
  return std::string(kSecretPrefix) +
         base64_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::string generate_id() { return "sub_" + messaging::new_ulid(); }

std::string_view to_string(State s) {
  switch (s) {
    case State::active:
      return "active";
    case State::paused:
      return "paused";
    case State::disabled:
      return "disabled";
  }
  return "active";
}

std::string_view to_string(AckMode m) { return m == AckMode::explicit_ack ? "explicit" : "response"; }

bool filter_matches(const Subscription& s, const std::vector<std::pair<std::string, std::string>>& attributes) {
  for (const auto& [name, wanted] : s.filter_attributes) {
    bool found = false;
    for (const auto& [k, v] : attributes) {
      if (k == name && v == wanted) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace ms::subscribe
