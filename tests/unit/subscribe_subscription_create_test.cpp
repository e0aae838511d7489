// parse_create(): defaults and every validation rule of API.md "Subscriptions / Create".
#include "subscribe/signer.h"
#include "subscribe/subscription.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace ms::subscribe {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

const std::string kMinimal = R"("channel":"orders.created","endpoint":"https://billing.internal/hooks")";

// {minimal fields, extra}
std::string body(const std::string& extra = {}) { return "{" + kMinimal + (extra.empty() ? "" : "," + extra) + "}"; }

Subscription ok(const std::string& text, const ValidationLimits& limits = {}) {
  auto r = parse_create(text, limits);
  if (auto* e = std::get_if<FieldError>(&r)) {
    ADD_FAILURE() << "unexpected error: " << e->message << " (field " << e->field << ") for " << text;
    return {};
  }
  return std::get<Subscription>(std::move(r));
}

FieldError bad(const std::string& text, const ValidationLimits& limits = {}) {
  auto r = parse_create(text, limits);
  if (!std::holds_alternative<FieldError>(r)) {
    ADD_FAILURE() << "expected an error for " << text;
    return {};
  }
  return std::get<FieldError>(std::move(r));
}

// The field the error names, checking that the message is there too.
std::string bad_field(const std::string& text, const ValidationLimits& limits = {}) {
  auto e = bad(text, limits);
  EXPECT_FALSE(e.message.empty()) << text;
  return e.field;
}

TEST(Create, MinimalBodyGetsTheDefaults) {
  auto s = ok(body());
  EXPECT_EQ(s.channel, "orders.created");
  EXPECT_EQ(s.endpoint, "https://billing.internal/hooks");
  EXPECT_EQ(s.secret, "");  // the caller generates one
  EXPECT_EQ(s.id, "");
  EXPECT_EQ(s.ack_mode, AckMode::response);
  EXPECT_EQ(s.ack_deadline_ms, 30000u);
  EXPECT_EQ(s.timeout_ms, 10000u);
  EXPECT_EQ(s.max_in_flight, 16u);
  EXPECT_FALSE(s.ordered);
  EXPECT_EQ(s.retry.max_attempts, 8u);
  EXPECT_EQ(s.retry.initial_backoff_ms, 1000u);
  EXPECT_EQ(s.retry.max_backoff_ms, 600000u);
  EXPECT_EQ(s.retry.multiplier, 2.0);
  EXPECT_EQ(s.retry.jitter, 0.2);
  EXPECT_EQ(s.start, "latest");
  EXPECT_EQ(s.start_position, "");
  EXPECT_TRUE(s.filter_attributes.empty());
  EXPECT_TRUE(s.headers.empty());
  EXPECT_EQ(s.description, "");
  EXPECT_EQ(s.state, State::active);
  EXPECT_EQ(s.disabled_reason, "");
  EXPECT_EQ(s.created_at_ms, 0);
  EXPECT_EQ(s.updated_at_ms, 0);
  EXPECT_EQ(s.generation, 0u);
}

TEST(Create, ApiExampleBody) {
  auto s = ok(R"({
    "channel": "orders.*",
    "endpoint": "https://billing.internal/hooks/orders",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "ack_mode": "explicit",
    "ack_deadline_ms": 60000,
    "timeout_ms": 5000,
    "max_in_flight": 4,
    "ordered": true,
    "retry": {"max_attempts": 5, "initial_backoff_ms": 500, "max_backoff_ms": 60000, "multiplier": 3, "jitter": 0.1},
    "start": "earliest",
    "filter": {"attributes": {"type": "order", "tenant": "acme"}},
    "headers": {"x-team": "billing", "Authorization": "Bearer abc"},
    "description": "billing listens to orders"
  })");
  EXPECT_EQ(s.channel, "orders.*");
  EXPECT_EQ(s.endpoint, "https://billing.internal/hooks/orders");
  EXPECT_EQ(s.secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(s.ack_mode, AckMode::explicit_ack);
  EXPECT_EQ(s.ack_deadline_ms, 60000u);
  EXPECT_EQ(s.timeout_ms, 5000u);
  EXPECT_EQ(s.max_in_flight, 4u);
  EXPECT_TRUE(s.ordered);
  EXPECT_EQ(s.retry.max_attempts, 5u);
  EXPECT_EQ(s.retry.initial_backoff_ms, 500u);
  EXPECT_EQ(s.retry.max_backoff_ms, 60000u);
  EXPECT_EQ(s.retry.multiplier, 3.0);
  EXPECT_EQ(s.retry.jitter, 0.1);
  EXPECT_EQ(s.start, "earliest");
  EXPECT_EQ(s.filter_attributes, (Pairs{{"type", "order"}, {"tenant", "acme"}}));
  EXPECT_EQ(s.headers, (Pairs{{"x-team", "billing"}, {"Authorization", "Bearer abc"}}));
  EXPECT_EQ(s.description, "billing listens to orders");
}

TEST(Create, UnknownFieldsAndNullsAreIgnored) {
  auto s = ok(body(R"("id":"sub_x","stats":{},"created_at":"x","colour":"blue","timeout_ms":null,"retry":null,)"
                   R"("filter":null,"headers":null,"description":null,"start":null,"secret":null,"state":null)"));
  EXPECT_EQ(s.id, "");
  EXPECT_EQ(s.timeout_ms, 10000u);
  EXPECT_EQ(s.retry.max_attempts, 8u);
  EXPECT_EQ(s.start, "latest");
  EXPECT_EQ(s.secret, "");
}

TEST(Create, BodyMustBeAJsonObject) {
  for (const char* text : {"", "   ", "[]", "null", "42", "\"x\"", "{", "{\"channel\":}", "not json", "{} {}"}) {
    auto e = bad(text);
    EXPECT_EQ(e.field, "") << text;
    EXPECT_FALSE(e.message.empty()) << text;
  }
  EXPECT_EQ(bad("[]").message, "body must be a JSON object");
  EXPECT_EQ(bad("").message, "malformed JSON: body is empty");
}

TEST(Create, DeepNestingIsRefusedWithoutCrashing) {
  std::string deep = body(R"("colour":)" + std::string(10000, '[') + std::string(10000, ']'));
  EXPECT_EQ(bad(deep).field, "");
}

// --- channel ---------------------------------------------------------------------

TEST(Create, ChannelIsRequired) {
  auto e = bad(R"({"endpoint":"https://x.test/"})");
  EXPECT_EQ(e.field, "channel");
  EXPECT_EQ(e.message, "channel is required");
  EXPECT_EQ(bad(R"({"channel":null,"endpoint":"https://x.test/"})").message, "channel is required");
}

TEST(Create, ChannelMayBeAPattern) {
  for (const char* ch : {"orders", "orders.created", "orders.*", "orders.>", "*.created", ">", "a-b_c:d.e"}) {
    auto s = ok(std::string(R"({"channel":")") + ch + R"(","endpoint":"https://x.test/"})");
    EXPECT_EQ(s.channel, ch);
  }
}

TEST(Create, InvalidChannels) {
  for (const char* ch : {"", "orders..created", ".orders", "orders.", "orders/created", "orders.>.x", "ord*rs",
                         "orders. created"}) {
    auto e = bad(std::string(R"({"channel":")") + ch + R"(","endpoint":"https://x.test/"})");
    EXPECT_EQ(e.field, "channel") << ch;
    EXPECT_FALSE(e.message.empty());
  }
  EXPECT_EQ(bad(R"({"channel":"","endpoint":"https://x.test/"})").message, "channel name must not be empty");
  EXPECT_EQ(bad(R"({"channel":"a.>.b","endpoint":"https://x.test/"})").message,
            "pattern may use '>' only as its last segment");
  EXPECT_EQ(bad(std::string(R"({"channel":")") + std::string(201, 'a') + R"(","endpoint":"https://x.test/"})").field,
            "channel");
  EXPECT_EQ(bad(R"({"channel":5,"endpoint":"https://x.test/"})").message, "channel must be a string");
}

// --- endpoint --------------------------------------------------------------------

std::string with_endpoint(const std::string& json_value) {
  return R"({"channel":"orders","endpoint":)" + json_value + "}";
}

TEST(Create, EndpointIsRequired) {
  auto e = bad(R"({"channel":"orders"})");
  EXPECT_EQ(e.field, "endpoint");
  EXPECT_EQ(e.message, "endpoint is required");
  EXPECT_EQ(bad(with_endpoint("null")).message, "endpoint is required");
}

TEST(Create, GoodEndpoints) {
  for (const char* url : {"http://localhost:8080/hook", "https://billing.internal/hooks/orders?tenant=acme",
                          "HTTPS://Billing.Internal/x", "http://127.0.0.1:1/", "http://[::1]:9000/hook",
                          "https://example.com", "http://example.com:65535/%20x"}) {
    EXPECT_EQ(ok(with_endpoint(std::string("\"") + url + "\"")).endpoint, url);
  }
}

TEST(Create, BadEndpoints) {
  const std::pair<const char*, const char*> cases[] = {
      {"5", "endpoint must be a string"},
      {"[]", "endpoint must be a string"},
      {R"("")", "endpoint must not be empty"},
      {R"("billing.internal/hooks")", "endpoint must be an absolute http or https URL"},
      {R"("/hooks")", "endpoint must be an absolute http or https URL"},
      {R"("https://exa mple.com/")", "endpoint must be an absolute http or https URL"},
      {R"("ftp://example.com/")", "endpoint must use http or https"},
      {R"("ws://example.com/")", "endpoint must use http or https"},
      {R"("file:///etc/passwd")", "endpoint must use http or https"},
      {R"("mailto:a@b.c")", "endpoint must use http or https"},
      {R"("http:/hooks")", "endpoint must have a host"},
      {R"("http:///hooks")", "endpoint must have a host"},
      {R"("http://")", "endpoint must have a host"},
      {R"("https://user:pw@example.com/")", "endpoint must not contain user information (send credentials in headers)"},
      {R"("https://user@example.com/")", "endpoint must not contain user information (send credentials in headers)"},
      {R"("http://example.com:99999/")", "endpoint has an invalid port"},
      {R"("http://example.com:0/")", "endpoint has an invalid port"},
      {R"("http://example.com:65536/")", "endpoint has an invalid port"},
      {R"("http://example.com:8o/")", "endpoint must be an absolute http or https URL"},
      {R"("http://example.com:80x")", "endpoint must be an absolute http or https URL"},
      {R"("http://1.2.3.4.5/")", "endpoint must be an absolute http or https URL"},
      {R"("http://1.2.3.4x/p")", "endpoint must be an absolute http or https URL"},
      {R"("http://example.com:/")", "endpoint has an invalid port"},
      {R"("https://example.com/#frag")", "endpoint must not have a fragment"},
  };
  for (const auto& [value, message] : cases) {
    auto e = bad(with_endpoint(value));
    EXPECT_EQ(e.field, "endpoint") << value;
    EXPECT_EQ(e.message, message) << value;
  }
}

TEST(Create, EndpointLengthLimit) {
  ValidationLimits limits;
  limits.max_endpoint = 30;
  const std::string fits = "https://example.com/" + std::string(10, 'a');  // 30 bytes
  EXPECT_EQ(ok(with_endpoint("\"" + fits + "\""), limits).endpoint, fits);
  auto e = bad(with_endpoint("\"" + fits + "a\""), limits);
  EXPECT_EQ(e.field, "endpoint");
  EXPECT_EQ(e.message, "endpoint is longer than 30 bytes");
  EXPECT_EQ(bad_field(with_endpoint("\"https://example.com/" + std::string(2048, 'a') + "\"")), "endpoint");
}

// --- secret ----------------------------------------------------------------------

std::string secret_of_bytes(std::size_t n) { return "whsec_" + base64_encode(std::string(n, 'k')); }

TEST(Create, Secrets) {
  EXPECT_EQ(ok(body(R"("secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")")).secret,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(ok(body(R"("secret":")" + secret_of_bytes(16) + "\"")).secret, secret_of_bytes(16));
  EXPECT_EQ(ok(body(R"("secret":")" + secret_of_bytes(64) + "\"")).secret, secret_of_bytes(64));
}

TEST(Create, BadSecrets) {
  const std::string length_message = "secret must be \"whsec_\" followed by the base64 of 16 to 64 bytes";
  const std::pair<std::string, std::string> cases[] = {
      {"42", "secret must be a string"},
      {R"("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")", "secret must start with \"whsec_\""},
      {R"("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")", "secret must start with \"whsec_\""},
      {R"("whsec_")", length_message},
      {R"("whsec_not base64 at all!")", length_message},
      {R"("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS")", length_message},  // length not a multiple of 4
      {R"("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS-")", length_message},  // URL-safe alphabet
      {"\"" + secret_of_bytes(15) + "\"", length_message},
      {"\"" + secret_of_bytes(65) + "\"", length_message},
  };
  for (const auto& [value, message] : cases) {
    auto e = bad(body("\"secret\":" + value));
    EXPECT_EQ(e.field, "secret") << value;
    EXPECT_EQ(e.message, message) << value;
  }
}

// --- scalar fields ---------------------------------------------------------------

TEST(Create, AckMode) {
  EXPECT_EQ(ok(body(R"("ack_mode":"response")")).ack_mode, AckMode::response);
  EXPECT_EQ(ok(body(R"("ack_mode":"explicit")")).ack_mode, AckMode::explicit_ack);
  for (const char* v : {R"("Explicit")", R"("manual")", R"("")", "1", "true"}) {
    auto e = bad(body(std::string("\"ack_mode\":") + v));
    EXPECT_EQ(e.field, "ack_mode");
    EXPECT_EQ(e.message, "ack_mode must be \"response\" or \"explicit\"");
  }
}

struct IntCase {
  const char* field;
  std::int64_t lo;
  std::int64_t hi;
};

TEST(Create, IntegerRanges) {
  const IntCase cases[] = {
      {"ack_deadline_ms", 1000, 43200000},
      {"timeout_ms", 100, 60000},
      {"max_in_flight", 1, 1000},
  };
  for (const auto& c : cases) {
    const std::string f = c.field;
    const std::string message =
        f + " must be an integer from " + std::to_string(c.lo) + " to " + std::to_string(c.hi);
    auto get = [&](const Subscription& s) -> std::uint64_t {
      if (f == "ack_deadline_ms") return s.ack_deadline_ms;
      if (f == "timeout_ms") return s.timeout_ms;
      return s.max_in_flight;
    };
    EXPECT_EQ(get(ok(body("\"" + f + "\":" + std::to_string(c.lo)))), static_cast<std::uint64_t>(c.lo));
    EXPECT_EQ(get(ok(body("\"" + f + "\":" + std::to_string(c.hi)))), static_cast<std::uint64_t>(c.hi));
    for (const std::string& v : {std::to_string(c.lo - 1), std::to_string(c.hi + 1), std::string("-1"),
                                std::string("0.5"), std::string("\"1000\""), std::string("true"),
                                std::string("[1000]"), std::string("18446744073709551615"),
                                std::string("1e300")}) {
      auto e = bad(body("\"" + f + "\":" + v));
      EXPECT_EQ(e.field, f) << v;
      EXPECT_EQ(e.message, message) << v;
    }
  }
}

TEST(Create, IntegralNumbersInExponentFormAreIntegers) {
  EXPECT_EQ(ok(body(R"("timeout_ms":2e3)")).timeout_ms, 2000u);
  EXPECT_EQ(ok(body(R"("timeout_ms":2500.0)")).timeout_ms, 2500u);
}

TEST(Create, Ordered) {
  EXPECT_TRUE(ok(body(R"("ordered":true)")).ordered);
  EXPECT_FALSE(ok(body(R"("ordered":false)")).ordered);
  for (const char* v : {R"("true")", "1", "0", "{}"}) {
    auto e = bad(body(std::string("\"ordered\":") + v));
    EXPECT_EQ(e.field, "ordered");
    EXPECT_EQ(e.message, "ordered must be true or false");
  }
}

TEST(Create, State) {
  EXPECT_EQ(ok(body(R"("state":"active")")).state, State::active);
  EXPECT_EQ(ok(body(R"("state":"paused")")).state, State::paused);
  for (const char* v : {R"("disabled")", R"("Paused")", "1", "true"}) {
    auto e = bad(body(std::string("\"state\":") + v));
    EXPECT_EQ(e.field, "state");
    EXPECT_EQ(e.message, "state must be \"active\" or \"paused\"");
  }
}

TEST(Create, Description) {
  EXPECT_EQ(ok(body(R"("description":"")")).description, "");
  EXPECT_EQ(ok(body(R"("description":"billing \u00e9")")).description, "billing \xc3\xa9");
  ValidationLimits limits;
  limits.max_description = 5;
  EXPECT_EQ(ok(body(R"("description":"12345")"), limits).description, "12345");
  auto e = bad(body(R"("description":"123456")"), limits);
  EXPECT_EQ(e.field, "description");
  EXPECT_EQ(e.message, "description is longer than 5 bytes");
  EXPECT_EQ(bad_field(body("\"description\":\"" + std::string(1025, 'd') + "\"")), "description");
  EXPECT_EQ(bad(body(R"("description":7)")).message, "description must be a string");
}

// --- retry -----------------------------------------------------------------------

TEST(Create, RetryFieldsMergeOverDefaults) {
  auto s = ok(body(R"("retry":{"max_attempts":3})"));
  EXPECT_EQ(s.retry.max_attempts, 3u);
  EXPECT_EQ(s.retry.initial_backoff_ms, 1000u);
  EXPECT_EQ(s.retry.max_backoff_ms, 600000u);
  EXPECT_EQ(s.retry.multiplier, 2.0);
  EXPECT_EQ(s.retry.jitter, 0.2);
  s = ok(body(R"("retry":{})"));
  EXPECT_EQ(s.retry.max_attempts, 8u);
  s = ok(body(R"("retry":{"jitter":0,"multiplier":1,"unknown":true})"));
  EXPECT_EQ(s.retry.jitter, 0.0);
  EXPECT_EQ(s.retry.multiplier, 1.0);
}

TEST(Create, RetryRanges) {
  const IntCase cases[] = {
      {"max_attempts", 1, 100},
      {"initial_backoff_ms", 1, 3600000},
      {"max_backoff_ms", 1, 86400000},
  };
  for (const auto& c : cases) {
    const std::string f = std::string("retry.") + c.field;
    const std::string message =
        f + " must be an integer from " + std::to_string(c.lo) + " to " + std::to_string(c.hi);
    for (const std::string& v : {std::to_string(c.lo - 1), std::to_string(c.hi + 1), std::string("1.5"),
                                std::string("\"5\""), std::string("null")}) {
      auto e = bad(body(std::string(R"("retry":{")") + c.field + "\":" + v + "}"));
      EXPECT_EQ(e.field, f) << v;
      EXPECT_EQ(e.message, message) << v;
    }
  }
  auto s = ok(body(R"("retry":{"max_attempts":100,"initial_backoff_ms":3600000,"max_backoff_ms":86400000})"));
  EXPECT_EQ(s.retry.max_attempts, 100u);
  EXPECT_EQ(s.retry.initial_backoff_ms, 3600000u);
  EXPECT_EQ(s.retry.max_backoff_ms, 86400000u);
  s = ok(body(R"("retry":{"max_attempts":1,"initial_backoff_ms":1,"max_backoff_ms":1})"));
  EXPECT_EQ(s.retry.max_attempts, 1u);
  EXPECT_EQ(s.retry.max_backoff_ms, 1u);
}

TEST(Create, RetryNumbers) {
  EXPECT_EQ(ok(body(R"("retry":{"multiplier":10})")).retry.multiplier, 10.0);
  EXPECT_EQ(ok(body(R"("retry":{"multiplier":1.5})")).retry.multiplier, 1.5);
  EXPECT_EQ(ok(body(R"("retry":{"jitter":1})")).retry.jitter, 1.0);
  EXPECT_EQ(ok(body(R"("retry":{"jitter":0.0})")).retry.jitter, 0.0);
  for (const char* v : {"0.99", "10.01", "0", "-2", "\"2\"", "null", "1e400"}) {
    auto e = bad(body(std::string(R"("retry":{"multiplier":)") + v + "}"));
    EXPECT_EQ(e.field, "retry.multiplier") << v;
    EXPECT_EQ(e.message, "retry.multiplier must be a number from 1 to 10") << v;
  }
  for (const char* v : {"-0.01", "1.01", "2", "\"0.2\"", "false"}) {
    auto e = bad(body(std::string(R"("retry":{"jitter":)") + v + "}"));
    EXPECT_EQ(e.field, "retry.jitter") << v;
    EXPECT_EQ(e.message, "retry.jitter must be a number from 0 to 1") << v;
  }
}

TEST(Create, RetryMaxBackoffMustNotBeBelowInitial) {
  auto e = bad(body(R"("retry":{"initial_backoff_ms":5000,"max_backoff_ms":4000})"));
  EXPECT_EQ(e.field, "retry.max_backoff_ms");
  EXPECT_EQ(e.message, "retry.max_backoff_ms (4000) must not be less than retry.initial_backoff_ms (5000)");
  // Only initial given, above the default max of 600000: the error names the field that was sent.
  e = bad(body(R"("retry":{"initial_backoff_ms":700000})"));
  EXPECT_EQ(e.field, "retry.initial_backoff_ms");
  EXPECT_EQ(e.message, "retry.initial_backoff_ms (700000) must not be more than retry.max_backoff_ms (600000)");
  e = bad(body(R"("retry":{"max_backoff_ms":999})"));
  EXPECT_EQ(e.field, "retry.max_backoff_ms");
  auto s = ok(body(R"("retry":{"initial_backoff_ms":700000,"max_backoff_ms":700000})"));
  EXPECT_EQ(s.retry.initial_backoff_ms, 700000u);
}

TEST(Create, RetryMustBeAnObject) {
  for (const char* v : {"[]", "5", "\"x\"", "true"}) {
    auto e = bad(body(std::string("\"retry\":") + v));
    EXPECT_EQ(e.field, "retry");
    EXPECT_EQ(e.message, "retry must be an object");
  }
}

// --- start -----------------------------------------------------------------------

TEST(Create, Start) {
  EXPECT_EQ(ok(body(R"("start":"latest")")).start, "latest");
  EXPECT_EQ(ok(body(R"("start":"earliest")")).start, "earliest");
  auto s = ok(body(R"("start":{"position":"1733076000123-0"})"));
  EXPECT_EQ(s.start, "position");
  EXPECT_EQ(s.start_position, "1733076000123-0");
  s = ok(body(R"("start":{"position":"0-0"})"));
  EXPECT_EQ(s.start_position, "0-0");
  s = ok(body(R"("start":{"position":"18446744073709551615-18446744073709551615"})"));
  EXPECT_EQ(s.start, "position");
}

TEST(Create, BadStart) {
  for (const char* v : {R"("position")", R"("now")", R"("")", "5", "[]", "true"}) {
    auto e = bad(body(std::string("\"start\":") + v));
    EXPECT_EQ(e.field, "start") << v;
    EXPECT_EQ(e.message, "start must be \"latest\", \"earliest\" or {\"position\": \"<ms>-<seq>\"}");
  }
  for (const char* v : {"{}", R"({"position":null})", R"({"position":5})", R"({"position":"abc"})",
                        R"({"position":"1733076000123"})", R"({"position":"-1"})", R"({"position":"1-"})",
                        R"({"position":"1-2-3"})", R"({"position":"+1-2"})", R"({"position":" 1-2"})",
                        R"({"position":"18446744073709551616-0"})"}) {
    auto e = bad(body(std::string("\"start\":") + v));
    EXPECT_EQ(e.field, "start.position") << v;
    EXPECT_EQ(e.message, "start.position must be a stream position like \"1733076000123-0\"");
  }
}

// --- filter ----------------------------------------------------------------------

TEST(Create, Filter) {
  auto s = ok(body(R"("filter":{"attributes":{"type":"order","tenant":""}})"));
  EXPECT_EQ(s.filter_attributes, (Pairs{{"type", "order"}, {"tenant", ""}}));
  EXPECT_TRUE(ok(body(R"("filter":{})")).filter_attributes.empty());
  EXPECT_TRUE(ok(body(R"("filter":{"attributes":{}})")).filter_attributes.empty());
  EXPECT_TRUE(ok(body(R"("filter":{"attributes":null})")).filter_attributes.empty());
}

TEST(Create, BadFilter) {
  EXPECT_EQ(bad_field(body(R"("filter":"type=order")")), "filter");
  EXPECT_EQ(bad_field(body(R"("filter":[])")), "filter");
  EXPECT_EQ(bad_field(body(R"("filter":{"attributes":["type"]})")), "filter.attributes");
  EXPECT_EQ(bad_field(body(R"("filter":{"attributes":{"":"x"}})")), "filter.attributes");
  auto e = bad(body(R"("filter":{"attributes":{"type":5}})"));
  EXPECT_EQ(e.field, "filter.attributes.type");
  EXPECT_EQ(e.message, "filter.attributes.type must be a string");
  EXPECT_EQ(bad_field(body(R"("filter":{"attributes":{"type":null}})")), "filter.attributes.type");
}

TEST(Create, FilterSizeLimit) {
  ValidationLimits limits;
  limits.max_filter = 2;
  EXPECT_EQ(ok(body(R"("filter":{"attributes":{"a":"1","b":"2"}})"), limits).filter_attributes.size(), 2u);
  auto e = bad(body(R"("filter":{"attributes":{"a":"1","b":"2","c":"3"}})"), limits);
  EXPECT_EQ(e.field, "filter.attributes");
  EXPECT_EQ(e.message, "filter.attributes may hold at most 2 entries");
}

// --- headers ---------------------------------------------------------------------

TEST(Create, Headers) {
  auto s = ok(body(R"("headers":{"x-team":"billing","Authorization":"Bearer t0k3n","X-Empty":"","X-Tab":"a\tb",)"
                   R"("!#$%&'*+-.^_`|~09azAZ":"token chars"})"));
  EXPECT_EQ(s.headers, (Pairs{{"x-team", "billing"},
                              {"Authorization", "Bearer t0k3n"},
                              {"X-Empty", ""},
                              {"X-Tab", "a\tb"},
                              {"!#$%&'*+-.^_`|~09azAZ", "token chars"}}));
  EXPECT_TRUE(ok(body(R"("headers":{})")).headers.empty());
}

TEST(Create, ReservedHeadersCannotBeSet) {
  for (const char* name : {"content-type", "Content-Length", "HOST", "webhook-id", "Webhook-Timestamp",
                           "webhook-signature", "traceparent", "tracestate", "x-subscription-id",
                           "X-Delivery-Attempt", "connection", "transfer-encoding", "content-encoding", "keep-alive",
                           "te", "trailer", "upgrade", "expect", "proxy-connection"}) {
    auto e = bad(body(std::string(R"("headers":{")") + name + R"(":"x"})"));
    EXPECT_EQ(e.field, std::string("headers.") + name);
    EXPECT_NE(e.message.find("is set by the service"), std::string::npos) << e.message;
  }
}

TEST(Create, BadHeaders) {
  EXPECT_EQ(bad_field(body(R"("headers":["x"])")), "headers");
  EXPECT_EQ(bad_field(body(R"("headers":"x-team: billing")")), "headers");
  // {name as JSON text, the name}
  const std::pair<std::string, std::string> names[] = {
      {"", ""},          {"X Foo", "X Foo"}, {"X:Foo", "X:Foo"},   {"X-Foo\xc3\xa9", "X-Foo\xc3\xa9"},
      {"X(Foo)", "X(Foo)"}, {"X/Foo", "X/Foo"}, {"X\\\"", "X\""}, {"X@Y", "X@Y"},
      {"X\\u0000", std::string("X\0", 2)},
  };
  for (const auto& [json, name] : names) {
    auto e = bad(body(R"("headers":{")" + json + R"(":"x"})"));
    EXPECT_EQ(e.field, "headers." + name) << json;
    EXPECT_NE(e.message.find("header names must be"), std::string::npos) << e.message;
  }
  auto e = bad(body(R"("headers":{"X-Foo":5})"));
  EXPECT_EQ(e.field, "headers.X-Foo");
  EXPECT_EQ(e.message, "headers.X-Foo must be a string");
  for (const char* v : {R"("a\r\nX-Evil: 1")", R"("a\nb")", R"("a\rb")", R"("a\u0000b")", R"("a\u007fb")"}) {
    auto e2 = bad(body(std::string(R"("headers":{"X-Foo":)") + v + "}"));
    EXPECT_EQ(e2.field, "headers.X-Foo") << v;
    EXPECT_EQ(e2.message, "headers.X-Foo must not contain control characters (CR, LF, ...)") << v;
  }
}

TEST(Create, HeaderNamesAreCaseInsensitiveForDuplicates) {
  auto e = bad(body(R"("headers":{"X-Team":"a","x-team":"b"})"));
  EXPECT_EQ(e.field, "headers.x-team");
  EXPECT_EQ(e.message, "headers.x-team is given twice (header names ignore case)");
}

TEST(Create, HeaderLimits) {
  ValidationLimits limits;
  limits.max_headers = 2;
  limits.max_header_value = 8;
  EXPECT_EQ(ok(body(R"("headers":{"a":"12345678","b":"x"})"), limits).headers.size(), 2u);
  auto e = bad(body(R"("headers":{"a":"1","b":"2","c":"3"})"), limits);
  EXPECT_EQ(e.field, "headers");
  EXPECT_EQ(e.message, "headers may hold at most 2 entries");
  e = bad(body(R"("headers":{"a":"123456789"})"), limits);
  EXPECT_EQ(e.field, "headers.a");
  EXPECT_EQ(e.message, "headers.a is longer than 8 bytes");
  EXPECT_EQ(bad_field(body(R"("headers":{"abcdefghi":"1"})"), limits), "headers.abcdefghi");
  // defaults: 32 headers
  std::string many;
  for (int i = 0; i < 33; ++i) many += (i ? "," : "") + std::string("\"h") + std::to_string(i) + "\":\"v\"";
  EXPECT_EQ(bad_field(body("\"headers\":{" + many + "}")), "headers");
}

}  // namespace
}  // namespace ms::subscribe
