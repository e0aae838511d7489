// observe/otlp_json.h: the ExportTraceServiceRequest JSON, checked field by
// field after parsing it back with Boost.JSON (never as text: see STACK.md on
// number formatting).
#include "observe/otlp_json.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace ms::observe {
namespace {

namespace json = boost::json;

TraceId trace_id_of(std::uint8_t first, std::uint8_t last) {
  TraceId id{};
  id[0] = first;
  id[15] = last;
  return id;
}

SpanData sample_span() {
  SpanData s;
  // 4bf92f3577b34da6a3ce929d0e0e4736 / 00f067aa0ba902b7: the W3C trace-context example.
  s.trace_id = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
  s.span_id = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
  s.parent_span_id = {0xAB, 0xCD, 0xEF, 0x01, 0x23, 0x45, 0x67, 0x89};
  s.trace_state = "congo=t61rcWkgMzE";
  s.flags = 1;
  s.name = "publish orders";
  s.kind = SpanKind::producer;
  s.start_unix_ns = 1'700'000'000'123'456'789ULL;
  s.end_unix_ns = 18'446'744'073'709'551'615ULL;  // the largest uint64: must survive as a string
  s.attributes = {{"messaging.destination.name", std::string("orders")},
                  {"messaging.batch.message_count", std::int64_t{-9'223'372'036'854'775'807LL - 1}},
                  {"ratio", 2.5},
                  {"retry", true}};
  s.status = StatusCode::error;
  s.status_message = "redis unavailable";
  return s;
}

Resource sample_resource() {
  Resource r;
  r.service_name = "billing";
  r.service_version = "0.1.0";
  r.attributes = {{"service.instance.id", std::string("i-1")}, {"telemetry.sdk.language", std::string("cpp")}};
  return r;
}

json::value encode(const std::vector<SpanData>& spans, const Resource& r = sample_resource()) {
  return json::parse(encode_otlp_traces_json(spans, r));
}

const json::object& only_scope_spans(const json::value& v) {
  const auto& rs = v.at("resourceSpans").as_array();
  EXPECT_EQ(rs.size(), 1u);
  const auto& ss = rs.at(0).at("scopeSpans").as_array();
  EXPECT_EQ(ss.size(), 1u);
  return ss.at(0).as_object();
}

const json::object& first_span(const json::value& v) {
  return only_scope_spans(v).at("spans").as_array().at(0).as_object();
}

// The value object of the attribute named `key` in an OTLP KeyValue array.
const json::object* attribute(const json::array& attrs, std::string_view key) {
  for (const auto& kv : attrs) {
    if (kv.at("key").as_string() == key) return &kv.at("value").as_object();
  }
  return nullptr;
}

TEST(OtlpJson, HexIds) {
  EXPECT_EQ(to_hex(trace_id_of(0xAB, 0x01)), "ab000000000000000000000000000001");
  SpanId s{0xff, 0, 0, 0, 0, 0, 0x0a, 0x10};
  EXPECT_EQ(to_hex(s), "ff00000000000a10");
}

TEST(OtlpJson, TopLevelShapeAndScope) {
  json::value v = encode({sample_span()});
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.as_object().size(), 1u);  // only resourceSpans
  const auto& scope_spans = only_scope_spans(v);
  const auto& scope = scope_spans.at("scope").as_object();
  EXPECT_EQ(scope.at("name").as_string(), "messaging_service");
  EXPECT_EQ(scope.at("version").as_string(), "0.1.0");
  EXPECT_EQ(scope_spans.at("spans").as_array().size(), 1u);
}

TEST(OtlpJson, ResourceAttributes) {
  json::value v = encode({sample_span()});
  const auto& attrs = v.at("resourceSpans").at(0).at("resource").at("attributes").as_array();
  ASSERT_EQ(attrs.size(), 4u);
  EXPECT_EQ(attrs.at(0).at("key").as_string(), "service.name");  // first, always
  EXPECT_EQ(attrs.at(0).at("value").at("stringValue").as_string(), "billing");
  EXPECT_EQ(attribute(attrs, "service.version")->at("stringValue").as_string(), "0.1.0");
  EXPECT_EQ(attribute(attrs, "service.instance.id")->at("stringValue").as_string(), "i-1");
  EXPECT_EQ(attribute(attrs, "telemetry.sdk.language")->at("stringValue").as_string(), "cpp");
}

TEST(OtlpJson, NoVersionMeansNoServiceVersionAndNoScopeVersion) {
  Resource r;  // defaults
  json::value v = encode({sample_span()}, r);
  const auto& attrs = v.at("resourceSpans").at(0).at("resource").at("attributes").as_array();
  ASSERT_EQ(attrs.size(), 1u);
  EXPECT_EQ(attrs.at(0).at("value").at("stringValue").as_string(), "messaging_service");
  EXPECT_FALSE(only_scope_spans(v).at("scope").as_object().contains("version"));
}

TEST(OtlpJson, SpanFields) {
  json::value v = encode({sample_span()});
  const auto& s = first_span(v);
  EXPECT_EQ(s.at("traceId").as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s.at("spanId").as_string(), "00f067aa0ba902b7");
  EXPECT_EQ(s.at("parentSpanId").as_string(), "abcdef0123456789");  // lowercase
  EXPECT_EQ(s.at("traceState").as_string(), "congo=t61rcWkgMzE");
  ASSERT_TRUE(s.at("flags").is_number());
  EXPECT_EQ(s.at("flags").to_number<std::int64_t>(), 1);
  EXPECT_EQ(s.at("name").as_string(), "publish orders");
  ASSERT_TRUE(s.at("kind").is_int64());  // an integer, not "SPAN_KIND_PRODUCER"
  EXPECT_EQ(s.at("kind").as_int64(), 4);
  ASSERT_TRUE(s.at("startTimeUnixNano").is_string());
  EXPECT_EQ(s.at("startTimeUnixNano").as_string(), "1700000000123456789");
  EXPECT_EQ(s.at("endTimeUnixNano").as_string(), "18446744073709551615");
  const auto& status = s.at("status").as_object();
  EXPECT_EQ(status.at("code").as_int64(), 2);
  EXPECT_EQ(status.at("message").as_string(), "redis unavailable");
}

TEST(OtlpJson, AttributeValueKinds) {
  json::value v = encode({sample_span()});
  const auto& attrs = first_span(v).at("attributes").as_array();
  ASSERT_EQ(attrs.size(), 4u);
  EXPECT_EQ(attrs.at(0).at("key").as_string(), "messaging.destination.name");  // order kept
  const auto* str = attribute(attrs, "messaging.destination.name");
  ASSERT_NE(str, nullptr);
  EXPECT_EQ(str->size(), 1u);
  EXPECT_EQ(str->at("stringValue").as_string(), "orders");
  const auto* integer = attribute(attrs, "messaging.batch.message_count");
  ASSERT_NE(integer, nullptr);
  ASSERT_TRUE(integer->at("intValue").is_string());  // int64 as a decimal string
  EXPECT_EQ(integer->at("intValue").as_string(), "-9223372036854775808");
  const auto* dbl = attribute(attrs, "ratio");
  ASSERT_NE(dbl, nullptr);
  ASSERT_TRUE(dbl->at("doubleValue").is_double());
  EXPECT_DOUBLE_EQ(dbl->at("doubleValue").as_double(), 2.5);
  const auto* boolean = attribute(attrs, "retry");
  ASSERT_NE(boolean, nullptr);
  EXPECT_EQ(boolean->at("boolValue").as_bool(), true);
}

TEST(OtlpJson, NonFiniteDoublesAreProto3Strings) {
  SpanData s = sample_span();
  s.attributes = {{"nan", std::numeric_limits<double>::quiet_NaN()},
                  {"inf", std::numeric_limits<double>::infinity()},
                  {"-inf", -std::numeric_limits<double>::infinity()}};
  json::value v = encode({s});
  const auto& attrs = first_span(v).at("attributes").as_array();
  EXPECT_EQ(attribute(attrs, "nan")->at("doubleValue").as_string(), "NaN");
  EXPECT_EQ(attribute(attrs, "inf")->at("doubleValue").as_string(), "Infinity");
  EXPECT_EQ(attribute(attrs, "-inf")->at("doubleValue").as_string(), "-Infinity");
}

TEST(OtlpJson, RootSpanHasNoParentAndDefaultsAreOmitted) {
  SpanData s;
  s.trace_id = trace_id_of(1, 2);
  s.span_id = {1, 2, 3, 4, 5, 6, 7, 8};
  s.name = "root";
  json::value v = encode({s});
  const auto& span = first_span(v);
  EXPECT_FALSE(span.contains("parentSpanId"));
  EXPECT_FALSE(span.contains("traceState"));
  EXPECT_EQ(span.at("kind").as_int64(), 1);  // internal
  EXPECT_EQ(span.at("startTimeUnixNano").as_string(), "0");
  EXPECT_TRUE(span.at("attributes").as_array().empty());
  const auto& status = span.at("status").as_object();
  EXPECT_EQ(status.at("code").as_int64(), 0);
  EXPECT_FALSE(status.contains("message"));
}

TEST(OtlpJson, FlagsKeepTheTraceFlagsByte) {
  SpanData s = sample_span();
  s.flags = 0;
  EXPECT_EQ(first_span(encode({s})).at("flags").to_number<std::int64_t>(), 0);
  s.flags = 0xFF;
  EXPECT_EQ(first_span(encode({s})).at("flags").to_number<std::int64_t>(), 255);
}

TEST(OtlpJson, EverySpanKindAndStatus) {
  std::vector<SpanData> spans;
  for (SpanKind k : {SpanKind::internal, SpanKind::server, SpanKind::client, SpanKind::producer, SpanKind::consumer}) {
    SpanData s = sample_span();
    s.kind = k;
    s.status = StatusCode::ok;
    s.status_message.clear();
    spans.push_back(s);
  }
  json::value v = encode(spans);
  const auto& arr = only_scope_spans(v).at("spans").as_array();
  ASSERT_EQ(arr.size(), 5u);
  for (std::size_t i = 0; i < arr.size(); ++i) {
    EXPECT_EQ(arr.at(i).at("kind").as_int64(), static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(arr.at(i).at("status").at("code").as_int64(), 1);
  }
}

TEST(OtlpJson, EscapesStrings) {
  SpanData s = sample_span();
  s.name = "quote \" backslash \\ newline \n tab \t ü";
  json::value v = encode({s});
  EXPECT_EQ(first_span(v).at("name").as_string(), s.name);
}

TEST(OtlpJson, EmptyBatchIsStillAValidRequest) {
  json::value v = encode({});
  EXPECT_TRUE(only_scope_spans(v).at("spans").as_array().empty());
}

TEST(OtlpJson, PartialSuccessResponse) {
  EXPECT_EQ(decode_otlp_traces_response("").rejected_spans, 0);
  EXPECT_EQ(decode_otlp_traces_response("{}").rejected_spans, 0);
  EXPECT_EQ(decode_otlp_traces_response("not json").rejected_spans, 0);
  EXPECT_EQ(decode_otlp_traces_response(R"({"partialSuccess":{}})").rejected_spans, 0);
  auto p = decode_otlp_traces_response(R"({"partialSuccess":{"rejectedSpans":"3","errorMessage":"too old"}})");
  EXPECT_EQ(p.rejected_spans, 3);
  EXPECT_EQ(p.error_message, "too old");
  EXPECT_EQ(decode_otlp_traces_response(R"({"partialSuccess":{"rejectedSpans":7}})").rejected_spans, 7);
  EXPECT_EQ(decode_otlp_traces_response(R"({"partialSuccess":{"rejectedSpans":"-1"}})").rejected_spans, 0);
  EXPECT_EQ(decode_otlp_traces_response(R"({"partialSuccess":{"rejectedSpans":"x"}})").rejected_spans, 0);
}

}  // namespace
}  // namespace ms::observe
