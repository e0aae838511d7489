#include "observe/otlp_json.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cmath>
#include <cstddef>
#include <type_traits>

namespace ms::observe {

namespace json = boost::json;

namespace {

template <std::size_t N>
std::string hex_of(const std::array<std::uint8_t, N>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * N, '0');
  for (std::size_t i = 0; i < N; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0x0F];
  }
  return out;
}

// AnyValue: exactly one of stringValue | intValue | doubleValue | boolValue.
json::object any_value(const AttributeValue& v) {
  json::object out;
  std::visit(
      [&out](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          out["stringValue"] = x;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out["intValue"] = std::to_string(x);  // int64: a decimal string
        } else if constexpr (std::is_same_v<T, double>) {
          if (std::isnan(x)) {
            out["doubleValue"] = "NaN";
          } else if (std::isinf(x)) {
            out["doubleValue"] = x > 0 ? "Infinity" : "-Infinity";
          } else {
            out["doubleValue"] = x;
          }
        } else {
          static_assert(std::is_same_v<T, bool>);
          out["boolValue"] = x;
        }
      },
      v);
  return out;
}

json::object key_value(std::string_view key, const AttributeValue& v) {
  json::object kv;
  kv["key"] = key;
  kv["value"] = any_value(v);
  return kv;
}

json::array attributes(const Attributes& attrs) {
  json::array out;
  out.reserve(attrs.size());
  for (const auto& [key, value] : attrs) out.push_back(key_value(key, value));
  return out;
}

json::object span_json(const SpanData& s) {
  json::object o;
  o["traceId"] = to_hex(s.trace_id);
  o["spanId"] = to_hex(s.span_id);
  if (!s.trace_state.empty()) o["traceState"] = s.trace_state;
  const bool root = std::all_of(s.parent_span_id.begin(), s.parent_span_id.end(), [](auto b) { return b == 0; });
  if (!root) o["parentSpanId"] = to_hex(s.parent_span_id);
  // Bits 0-7 are the W3C trace flags; we do not set the is-remote bits (8, 9):
  // "unknown" is their meaning when clear.
  o["flags"] = static_cast<std::uint32_t>(s.flags);
  o["name"] = s.name;
  o["kind"] = static_cast<int>(s.kind);
  o["startTimeUnixNano"] = std::to_string(s.start_unix_ns);
  o["endTimeUnixNano"] = std::to_string(s.end_unix_ns);
  o["attributes"] = attributes(s.attributes);
  json::object status;
  if (!s.status_message.empty()) status["message"] = s.status_message;
  status["code"] = static_cast<int>(s.status);
  o["status"] = std::move(status);
  return o;
}

}  // namespace

std::string to_hex(const TraceId& id) { return hex_of(id); }
std::string to_hex(const SpanId& id) { return hex_of(id); }

std::string encode_otlp_traces_json(const std::vector<SpanData>& spans, const Resource& resource) {
  json::array resource_attrs;
  resource_attrs.reserve(resource.attributes.size() + 2);
  resource_attrs.push_back(key_value("service.name", AttributeValue(resource.service_name)));
  if (!resource.service_version.empty()) {
    resource_attrs.push_back(key_value("service.version", AttributeValue(resource.service_version)));
  }
  for (const auto& [key, value] : resource.attributes) resource_attrs.push_back(key_value(key, value));

  json::object scope;
  scope["name"] = kScopeName;
  if (!resource.service_version.empty()) scope["version"] = resource.service_version;

  json::array span_array;
  span_array.reserve(spans.size());
  for (const SpanData& s : spans) span_array.push_back(span_json(s));

  json::object scope_spans;
  scope_spans["scope"] = std::move(scope);
  scope_spans["spans"] = std::move(span_array);

  json::object resource_obj;
  resource_obj["attributes"] = std::move(resource_attrs);

  json::object resource_spans;
  resource_spans["resource"] = std::move(resource_obj);
  json::array scope_spans_array;
  scope_spans_array.push_back(std::move(scope_spans));
  resource_spans["scopeSpans"] = std::move(scope_spans_array);

  json::array resource_spans_array;
  resource_spans_array.push_back(std::move(resource_spans));
  json::object request;
  request["resourceSpans"] = std::move(resource_spans_array);
  return json::serialize(request);
}

PartialSuccess decode_otlp_traces_response(std::string_view body) {
  PartialSuccess out;
  if (body.empty()) return out;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return out;
  const json::value* ps = v.as_object().if_contains("partialSuccess");
  if (!ps || !ps->is_object()) return out;
  const json::object& o = ps->as_object();
  if (const json::value* m = o.if_contains("errorMessage"); m && m->is_string()) {
    out.error_message = std::string(m->as_string());
  }
  if (const json::value* n = o.if_contains("rejectedSpans")) {
    // int64: a decimal string in OTLP JSON; numbers accepted too.
    if (n->is_string()) {
      const json::string& s = n->as_string();
      std::int64_t value = 0;
      auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), value);
      if (err == std::errc() && end == s.data() + s.size() && value > 0) out.rejected_spans = value;
    } else if (n->is_int64() && n->as_int64() > 0) {
      out.rejected_spans = n->as_int64();
    } else if (n->is_uint64()) {
      out.rejected_spans = static_cast<std::int64_t>(std::min<std::uint64_t>(n->as_uint64(), INT64_MAX));
    }
  }
  return out;
}

}  // namespace ms::observe
