// apply_patch(), to_json(), the stored form, generated ids and secrets, filter_matches().
#include "subscribe/subscription.h"

#include "messaging/ulid.h"
#include "subscribe/signer.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ms::subscribe {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

bool same_double(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Field by field, doubles bit for bit.
void expect_same(const Subscription& a, const Subscription& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.channel, b.channel);
  EXPECT_EQ(a.endpoint, b.endpoint);
  EXPECT_EQ(a.secret, b.secret);
  EXPECT_EQ(a.ack_mode, b.ack_mode);
  EXPECT_EQ(a.ack_deadline_ms, b.ack_deadline_ms);
  EXPECT_EQ(a.timeout_ms, b.timeout_ms);
  EXPECT_EQ(a.max_in_flight, b.max_in_flight);
  EXPECT_EQ(a.ordered, b.ordered);
  EXPECT_EQ(a.retry.max_attempts, b.retry.max_attempts);
  EXPECT_EQ(a.retry.initial_backoff_ms, b.retry.initial_backoff_ms);
  EXPECT_EQ(a.retry.max_backoff_ms, b.retry.max_backoff_ms);
  EXPECT_TRUE(same_double(a.retry.multiplier, b.retry.multiplier)) << a.retry.multiplier << " " << b.retry.multiplier;
  EXPECT_TRUE(same_double(a.retry.jitter, b.retry.jitter)) << a.retry.jitter << " " << b.retry.jitter;
  EXPECT_EQ(a.start, b.start);
  EXPECT_EQ(a.start_position, b.start_position);
  EXPECT_EQ(a.filter_attributes, b.filter_attributes);
  EXPECT_EQ(a.headers, b.headers);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.disabled_reason, b.disabled_reason);
  EXPECT_EQ(a.created_at_ms, b.created_at_ms);
  EXPECT_EQ(a.updated_at_ms, b.updated_at_ms);
  EXPECT_EQ(a.generation, b.generation);
}

Subscription existing() {
  Subscription s;
  s.id = "sub_01JDQ3V2C4K8Q6M1X9T7B5N3RZ";
  s.channel = "orders.*";
  s.endpoint = "https://billing.internal/hooks";
  s.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  s.ack_mode = AckMode::explicit_ack;
  s.ack_deadline_ms = 60000;
  s.timeout_ms = 5000;
  s.max_in_flight = 4;
  s.ordered = true;
  s.retry = {5, 2000, 120000, 3.0, 0.1};
  s.start = "position";
  s.start_position = "1733076000123-0";
  s.filter_attributes = {{"type", "order"}};
  s.headers = {{"x-team", "billing"}};
  s.description = "billing";
  s.created_at_ms = 1733076000000;
  s.updated_at_ms = 1733076001000;
  s.generation = 3;
  return s;
}

Subscription patched(const Subscription& current, const std::string& text, const ValidationLimits& limits = {}) {
  auto r = apply_patch(current, text, limits);
  if (auto* e = std::get_if<FieldError>(&r)) {
    ADD_FAILURE() << "unexpected error: " << e->message << " (field " << e->field << ") for " << text;
    return current;
  }
  return std::get<Subscription>(std::move(r));
}

FieldError patch_error(const Subscription& current, const std::string& text, const ValidationLimits& limits = {}) {
  auto r = apply_patch(current, text, limits);
  if (!std::holds_alternative<FieldError>(r)) {
    ADD_FAILURE() << "expected an error for " << text;
    return {};
  }
  return std::get<FieldError>(std::move(r));
}

// --- patch -----------------------------------------------------------------------

TEST(Patch, EmptyObjectOnlyBumpsGeneration) {
  auto cur = existing();
  auto s = patched(cur, "{}");
  auto expected = cur;
  expected.generation = 4;
  expect_same(s, expected);
}

TEST(Patch, BodyMustBeAJsonObject) {
  for (const char* text : {"", "[]", "null", "{", "x"}) EXPECT_EQ(patch_error(existing(), text).field, "") << text;
}

TEST(Patch, FixedFieldsCannotBeChanged) {
  for (const char* field : {"id", "channel", "ack_mode", "ack_deadline_ms", "ordered", "start"}) {
    auto e = patch_error(existing(), std::string("{\"") + field + "\":null}");
    EXPECT_EQ(e.field, field);
    EXPECT_EQ(e.message, std::string(field) + " cannot be changed");
  }
  EXPECT_EQ(patch_error(existing(), R"({"timeout_ms":200,"channel":"orders.*"})").field, "channel");
}

TEST(Patch, ReadOnlyAndUnknownFieldsAreIgnored) {
  auto s = patched(existing(), R"({"created_at":"x","updated_at":"y","stats":{},"disabled_reason":"z","colour":1})");
  EXPECT_EQ(s.created_at_ms, existing().created_at_ms);
  EXPECT_EQ(s.disabled_reason, "");
}

TEST(Patch, ChangeableFields) {
  auto cur = existing();
  auto s = patched(cur, R"({"endpoint":"http://localhost:9000/new","secret":"whsec_Zm9vYmFyZm9vYmFyZm9vYg==",)"
                        R"("timeout_ms":60000,"max_in_flight":1000,"filter":{"attributes":{"tenant":"acme"}},)"
                        R"("headers":{"Authorization":"Bearer x"},"description":"new text"})");
  EXPECT_EQ(s.endpoint, "http://localhost:9000/new");
  EXPECT_EQ(s.secret, "whsec_Zm9vYmFyZm9vYmFyZm9vYg==");
  EXPECT_EQ(s.timeout_ms, 60000u);
  EXPECT_EQ(s.max_in_flight, 1000u);
  EXPECT_EQ(s.filter_attributes, (Pairs{{"tenant", "acme"}}));  // replaced, not merged
  EXPECT_EQ(s.headers, (Pairs{{"Authorization", "Bearer x"}}));
  EXPECT_EQ(s.description, "new text");
  EXPECT_EQ(s.generation, cur.generation + 1);
  // Untouched:
  EXPECT_EQ(s.id, cur.id);
  EXPECT_EQ(s.channel, cur.channel);
  EXPECT_EQ(s.ack_mode, cur.ack_mode);
  EXPECT_EQ(s.ordered, cur.ordered);
  EXPECT_EQ(s.start_position, cur.start_position);
  EXPECT_EQ(s.retry.max_attempts, cur.retry.max_attempts);
  EXPECT_EQ(s.created_at_ms, cur.created_at_ms);
  EXPECT_EQ(s.updated_at_ms, cur.updated_at_ms);  // the caller sets it
}

TEST(Patch, NullClearsFilterHeadersAndDescription) {
  auto s = patched(existing(), R"({"filter":null,"headers":null,"description":null})");
  EXPECT_TRUE(s.filter_attributes.empty());
  EXPECT_TRUE(s.headers.empty());
  EXPECT_EQ(s.description, "");
  s = patched(existing(), R"({"filter":{},"headers":{},"description":""})");
  EXPECT_TRUE(s.filter_attributes.empty());
  EXPECT_TRUE(s.headers.empty());
}

TEST(Patch, NullIsNotAValueForOtherFields) {
  for (const char* field : {"endpoint", "secret", "timeout_ms", "max_in_flight", "retry", "state"}) {
    EXPECT_EQ(patch_error(existing(), std::string("{\"") + field + "\":null}").field, field);
  }
}

TEST(Patch, RetryMergesOverCurrent) {
  auto s = patched(existing(), R"({"retry":{"max_attempts":9}})");
  EXPECT_EQ(s.retry.max_attempts, 9u);
  EXPECT_EQ(s.retry.initial_backoff_ms, 2000u);
  EXPECT_EQ(s.retry.max_backoff_ms, 120000u);
  EXPECT_EQ(s.retry.multiplier, 3.0);
  EXPECT_EQ(s.retry.jitter, 0.1);
  s = patched(existing(), R"({"retry":{"jitter":0.5,"multiplier":1.5}})");
  EXPECT_EQ(s.retry.max_attempts, 5u);
  EXPECT_EQ(s.retry.jitter, 0.5);
  EXPECT_EQ(s.retry.multiplier, 1.5);
}

TEST(Patch, MergedRetryIsValidatedAsAWhole) {
  // current initial is 2000
  auto e = patch_error(existing(), R"({"retry":{"max_backoff_ms":1000}})");
  EXPECT_EQ(e.field, "retry.max_backoff_ms");
  EXPECT_EQ(e.message, "retry.max_backoff_ms (1000) must not be less than retry.initial_backoff_ms (2000)");
  // current max is 120000
  e = patch_error(existing(), R"({"retry":{"initial_backoff_ms":130000}})");
  EXPECT_EQ(e.field, "retry.initial_backoff_ms");
  auto s = patched(existing(), R"({"retry":{"initial_backoff_ms":130000,"max_backoff_ms":130000}})");
  EXPECT_EQ(s.retry.initial_backoff_ms, 130000u);
  EXPECT_EQ(patch_error(existing(), R"({"retry":{"max_attempts":0}})").field, "retry.max_attempts");
  EXPECT_EQ(patch_error(existing(), R"({"retry":[]})").field, "retry");
}

TEST(Patch, SameRulesAsCreate) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"endpoint":"ftp://x/"})", "endpoint"},
      {R"({"endpoint":"https://u:p@x/"})", "endpoint"},
      {R"({"endpoint":""})", "endpoint"},
      {R"({"secret":"nope"})", "secret"},
      {R"({"secret":"whsec_c2hvcnQ="})", "secret"},
      {R"({"timeout_ms":99})", "timeout_ms"},
      {R"({"timeout_ms":"100"})", "timeout_ms"},
      {R"({"max_in_flight":0})", "max_in_flight"},
      {R"({"max_in_flight":1001})", "max_in_flight"},
      {R"({"filter":{"attributes":{"a":1}}})", "filter.attributes.a"},
      {R"({"headers":{"Content-Type":"text/plain"}})", "headers.Content-Type"},
      {R"({"headers":{"X-A":"a\nb"}})", "headers.X-A"},
      {R"({"description":5})", "description"},
  };
  for (const auto& [text, field] : cases) EXPECT_EQ(patch_error(existing(), text).field, field) << text;

  ValidationLimits limits;
  limits.max_description = 3;
  EXPECT_EQ(patch_error(existing(), R"({"description":"abcd"})", limits).field, "description");
  limits.max_headers = 1;
  EXPECT_EQ(patch_error(existing(), R"({"headers":{"a":"1","b":"2"}})", limits).field, "headers");
}

TEST(Patch, State) {
  auto s = patched(existing(), R"({"state":"paused"})");
  EXPECT_EQ(s.state, State::paused);
  s = patched(s, R"({"state":"active"})");
  EXPECT_EQ(s.state, State::active);
  EXPECT_EQ(s.generation, existing().generation + 2);
  for (const char* v : {R"("disabled")", R"("off")", "true", "1"}) {
    auto e = patch_error(existing(), std::string("{\"state\":") + v + "}");
    EXPECT_EQ(e.field, "state");
    EXPECT_EQ(e.message, "state must be \"active\" or \"paused\"");
  }
}

TEST(Patch, ActiveReenablesADisabledSubscription) {
  auto cur = existing();
  cur.state = State::disabled;
  cur.disabled_reason = "endpoint answered 410 Gone";
  auto s = patched(cur, R"({"state":"active"})");
  EXPECT_EQ(s.state, State::active);
  EXPECT_EQ(s.disabled_reason, "");
  // Other changes leave a disabled subscription disabled.
  s = patched(cur, R"({"endpoint":"https://new.example/"})");
  EXPECT_EQ(s.state, State::disabled);
  EXPECT_EQ(s.disabled_reason, "endpoint answered 410 Gone");
  // Pausing a disabled one pauses it.
  s = patched(cur, R"({"state":"paused"})");
  EXPECT_EQ(s.state, State::paused);
  EXPECT_EQ(s.disabled_reason, "");
}

TEST(Patch, AFailedPatchChangesNothing) {
  auto cur = existing();
  auto r = apply_patch(cur, R"({"description":"changed","timeout_ms":5})");
  ASSERT_TRUE(std::holds_alternative<FieldError>(r));
  expect_same(cur, existing());
}

// --- to_json ---------------------------------------------------------------------

TEST(ToJson, EveryField) {
  auto o = to_json(existing());
  EXPECT_EQ(o.at("id"), "sub_01JDQ3V2C4K8Q6M1X9T7B5N3RZ");
  EXPECT_EQ(o.at("channel"), "orders.*");
  EXPECT_EQ(o.at("endpoint"), "https://billing.internal/hooks");
  EXPECT_EQ(o.at("secret"), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(o.at("ack_mode"), "explicit");
  EXPECT_EQ(o.at("ack_deadline_ms").as_int64(), 60000);
  EXPECT_EQ(o.at("timeout_ms").as_int64(), 5000);
  EXPECT_EQ(o.at("max_in_flight").as_int64(), 4);
  EXPECT_EQ(o.at("ordered"), true);
  const auto& r = o.at("retry").as_object();
  EXPECT_EQ(r.at("max_attempts").as_int64(), 5);
  EXPECT_EQ(r.at("initial_backoff_ms").as_int64(), 2000);
  EXPECT_EQ(r.at("max_backoff_ms").as_int64(), 120000);
  EXPECT_EQ(r.at("multiplier").as_double(), 3.0);
  EXPECT_EQ(r.at("jitter").as_double(), 0.1);
  EXPECT_EQ(o.at("start"), (boost::json::object{{"position", "1733076000123-0"}}));
  EXPECT_EQ(o.at("filter"), boost::json::parse(R"({"attributes":{"type":"order"}})"));
  EXPECT_EQ(o.at("headers"), boost::json::parse(R"({"x-team":"billing"})"));
  EXPECT_EQ(o.at("description"), "billing");
  EXPECT_EQ(o.at("state"), "active");
  EXPECT_FALSE(o.contains("disabled_reason"));
  EXPECT_EQ(o.at("created_at"), "2024-12-01T18:00:00.000Z");
  EXPECT_EQ(o.at("updated_at"), "2024-12-01T18:00:01.000Z");
  EXPECT_FALSE(o.contains("generation"));
  EXPECT_EQ(o.size(), 17u);
}

TEST(ToJson, EmptyFilterHeadersAndDescription) {
  Subscription s;
  auto o = to_json(s);
  EXPECT_TRUE(o.at("filter").is_null());
  EXPECT_EQ(o.at("headers"), boost::json::object{});
  EXPECT_EQ(o.at("description"), "");
  EXPECT_EQ(o.at("start"), "latest");
  EXPECT_EQ(o.at("ack_mode"), "response");
  EXPECT_EQ(o.at("created_at"), "1970-01-01T00:00:00.000Z");
  s.start = "earliest";
  EXPECT_EQ(to_json(s).at("start"), "earliest");
}

TEST(ToJson, DisabledCarriesItsReason) {
  auto s = existing();
  s.state = State::disabled;
  s.disabled_reason = "endpoint answered 410 Gone";
  auto o = to_json(s);
  EXPECT_EQ(o.at("state"), "disabled");
  EXPECT_EQ(o.at("disabled_reason"), "endpoint answered 410 Gone");
  s.state = State::paused;
  EXPECT_EQ(to_json(s).at("state"), "paused");
  EXPECT_FALSE(to_json(s).contains("disabled_reason"));
}

TEST(ToJson, IsValidCreateInput) {
  // What GET returns can be sent back to create a copy.
  auto text = boost::json::serialize(to_json(existing()));
  auto r = parse_create(text);
  ASSERT_TRUE(std::holds_alternative<Subscription>(r)) << std::get<FieldError>(r).message;
  auto s = std::get<Subscription>(r);
  auto e = existing();
  EXPECT_EQ(s.channel, e.channel);
  EXPECT_EQ(s.secret, e.secret);
  EXPECT_EQ(s.start_position, e.start_position);
  EXPECT_EQ(s.filter_attributes, e.filter_attributes);
  EXPECT_EQ(s.headers, e.headers);
  EXPECT_EQ(s.retry.multiplier, e.retry.multiplier);
}

// --- stored form -----------------------------------------------------------------

TEST(Stored, RoundTripsExactly) {
  auto s = existing();
  s.state = State::disabled;
  s.disabled_reason = "endpoint answered 410 Gone";
  s.headers = {{"B", "2"}, {"a", "1"}, {"a", "dup"}, {"X-Quote", "\"\\\n"}};
  s.filter_attributes = {{"z", ""}, {"a", "\xc3\xa9"}, {"m", std::string("nul\0byte", 8)}};
  s.description = "line\nbreak \"quoted\" \\ \x01";
  s.generation = std::numeric_limits<std::uint64_t>::max();
  s.created_at_ms = -5;
  s.updated_at_ms = std::numeric_limits<std::int64_t>::max();
  s.ack_deadline_ms = std::numeric_limits<std::uint64_t>::max();
  auto back = from_stored(to_stored(s));
  ASSERT_TRUE(back);
  expect_same(*back, s);
}

TEST(Stored, DefaultSubscriptionRoundTrips) {
  auto back = from_stored(to_stored(Subscription{}));
  ASSERT_TRUE(back);
  expect_same(*back, Subscription{});
}

TEST(Stored, DoublesRoundTripBitForBit) {
  // Boost.JSON 1.81 parses some of these one ulp off; the stored form must not.
  for (double d : {0.1, 0.2, 1.0, 1.0000000000000002, 0.21024228416727025, 9.999999999999998, 5.5775688683992e-11,
                   1e-300, 0.0, 3.3333333333333335, 7.0 / 3.0}) {
    Subscription s;
    s.retry.multiplier = d;
    s.retry.jitter = d / 7;
    auto back = from_stored(to_stored(s));
    ASSERT_TRUE(back) << d;
    EXPECT_TRUE(same_double(back->retry.multiplier, d)) << d;
    EXPECT_TRUE(same_double(back->retry.jitter, d / 7)) << d;
  }
}

TEST(Stored, AllStates) {
  for (auto state : {State::active, State::paused, State::disabled}) {
    for (auto mode : {AckMode::response, AckMode::explicit_ack}) {
      for (const char* start : {"latest", "earliest", "position"}) {
        auto s = existing();
        s.state = state;
        s.ack_mode = mode;
        s.start = start;
        auto back = from_stored(to_stored(s));
        ASSERT_TRUE(back);
        expect_same(*back, s);
      }
    }
  }
}

TEST(Stored, ParsedThenStoredRoundTrips) {
  auto r = parse_create(R"({"channel":"a.>","endpoint":"http://x.test/","retry":{"multiplier":1.1,"jitter":0.33}})");
  ASSERT_TRUE(std::holds_alternative<Subscription>(r));
  auto s = std::get<Subscription>(r);
  auto back = from_stored(to_stored(s));
  ASSERT_TRUE(back);
  expect_same(*back, s);
}

TEST(Stored, BrokenInputIsRefused) {
  for (const char* text : {"", "x", "[]", "null", "{}", "{\"id\":\"sub_1\"}", "{", "\"text\""}) {
    EXPECT_FALSE(from_stored(text)) << text;
  }
}

TEST(Stored, EveryFieldIsRequired) {
  const auto full = boost::json::parse(to_stored(existing())).as_object();
  for (const auto& kv : full) {
    auto o = full;
    o.erase(kv.key());
    EXPECT_FALSE(from_stored(boost::json::serialize(o))) << "without " << kv.key();
  }
  for (const auto& kv : full.at("retry").as_object()) {
    auto o = full;
    o["retry"].as_object().erase(kv.key());
    EXPECT_FALSE(from_stored(boost::json::serialize(o))) << "without retry." << kv.key();
  }
}

TEST(Stored, WrongTypesAreRefused) {
  const auto full = boost::json::parse(to_stored(existing())).as_object();
  const std::pair<const char*, boost::json::value> cases[] = {
      {"id", 5},
      {"channel", nullptr},
      {"ack_mode", "manual"},
      {"state", "gone"},
      {"start", "middle"},
      {"ordered", "true"},
      {"timeout_ms", -1},
      {"timeout_ms", "5000"},
      {"timeout_ms", 1.5},
      {"max_in_flight", 5000000000LL},  // does not fit uint32
      {"generation", -1},
      {"created_at_ms", "0"},
      {"headers", boost::json::object{}},
      {"headers", boost::json::parse(R"([["a"]])")},
      {"headers", boost::json::parse(R"([["a",1]])")},
      {"filter_attributes", boost::json::parse(R"(["a","b"])")},
      {"retry", "x"},
  };
  for (const auto& [field, value] : cases) {
    auto o = full;
    o[field] = value;
    EXPECT_FALSE(from_stored(boost::json::serialize(o))) << field << " = " << boost::json::serialize(value);
  }
  auto o = full;
  o["retry"].as_object()["multiplier"] = "two";
  EXPECT_FALSE(from_stored(boost::json::serialize(o)));
  o["retry"].as_object()["multiplier"] = "2.5x";
  EXPECT_FALSE(from_stored(boost::json::serialize(o)));
  o["retry"].as_object()["multiplier"] = 2.5;  // a plain number is read too
  auto back = from_stored(boost::json::serialize(o));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->retry.multiplier, 2.5);
}

TEST(Stored, IsReadableJson) {
  auto v = boost::json::parse(to_stored(existing())).as_object();
  EXPECT_EQ(v.at("id"), "sub_01JDQ3V2C4K8Q6M1X9T7B5N3RZ");
  EXPECT_EQ(v.at("created_at_ms").as_int64(), 1733076000000);
  EXPECT_EQ(v.at("updated_at_ms").as_int64(), 1733076001000);
  EXPECT_EQ(v.at("generation").as_int64(), 3);
  EXPECT_EQ(v.at("retry").at("multiplier"), "3");
}

// --- generated values ------------------------------------------------------------

TEST(Generate, SecretIsWhsecPlus24RandomBytes) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto secret = generate_secret();
    ASSERT_EQ(secret.rfind("whsec_", 0), 0u);
    EXPECT_EQ(secret.size(), 6u + 32u);
    auto key = secret_key(secret);
    ASSERT_TRUE(key);
    EXPECT_EQ(key->size(), 24u);
    seen.insert(secret);
    // and it is accepted as input
    auto r = parse_create(R"({"channel":"a","endpoint":"http://x.test/","secret":")" + secret + "\"}");
    EXPECT_TRUE(std::holds_alternative<Subscription>(r)) << secret;
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(Generate, IdIsSubPlusUlid) {
  auto a = generate_id();
  auto b = generate_id();
  ASSERT_EQ(a.rfind("sub_", 0), 0u);
  EXPECT_TRUE(messaging::is_ulid(a.substr(4))) << a;
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);  // monotonic per thread
}

TEST(Names, StateAndAckMode) {
  EXPECT_EQ(to_string(State::active), "active");
  EXPECT_EQ(to_string(State::paused), "paused");
  EXPECT_EQ(to_string(State::disabled), "disabled");
  EXPECT_EQ(to_string(AckMode::response), "response");
  EXPECT_EQ(to_string(AckMode::explicit_ack), "explicit");
}

// --- filter ----------------------------------------------------------------------

TEST(Filter, EmptyFilterMatchesEverything) {
  Subscription s;
  EXPECT_TRUE(filter_matches(s, {}));
  EXPECT_TRUE(filter_matches(s, {{"type", "order"}}));
}

TEST(Filter, EveryPairMustBePresentWithEqualValue) {
  Subscription s;
  s.filter_attributes = {{"type", "order"}, {"tenant", "acme"}};
  EXPECT_TRUE(filter_matches(s, {{"tenant", "acme"}, {"type", "order"}}));
  EXPECT_TRUE(filter_matches(s, {{"type", "order"}, {"tenant", "acme"}, {"extra", "x"}}));
  EXPECT_FALSE(filter_matches(s, {{"type", "order"}}));
  EXPECT_FALSE(filter_matches(s, {{"type", "order"}, {"tenant", "other"}}));
  EXPECT_FALSE(filter_matches(s, {{"type", "Order"}, {"tenant", "acme"}}));  // values are case-sensitive
  EXPECT_FALSE(filter_matches(s, {{"Type", "order"}, {"tenant", "acme"}}));  // so are names
  EXPECT_FALSE(filter_matches(s, {}));
}

TEST(Filter, EmptyValueMustBePresent) {
  Subscription s;
  s.filter_attributes = {{"tenant", ""}};
  EXPECT_TRUE(filter_matches(s, {{"tenant", ""}}));
  EXPECT_FALSE(filter_matches(s, {}));
  EXPECT_FALSE(filter_matches(s, {{"tenant", "x"}}));
}

}  // namespace
}  // namespace ms::subscribe
