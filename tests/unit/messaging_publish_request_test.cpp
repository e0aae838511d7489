#include "messaging/publish_request.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <string>

namespace ms::messaging {
namespace {

const Limits kLimits{};

PublishInput ok_one(std::string_view body, std::string_view channel = "orders.created",
                    std::optional<std::string_view> header = std::nullopt) {
  auto r = parse_publish_one(body, channel, header, kLimits);
  if (auto* e = std::get_if<ValidationError>(&r)) {
    ADD_FAILURE() << "unexpected error: " << e->message << " (field " << e->field << ") for " << body;
    return {};
  }
  return std::get<PublishInput>(std::move(r));
}

ValidationError bad_one(std::string_view body, std::string_view channel = "orders.created",
                        std::optional<std::string_view> header = std::nullopt, const Limits& limits = kLimits) {
  auto r = parse_publish_one(body, channel, header, limits);
  if (!std::holds_alternative<ValidationError>(r)) {
    ADD_FAILURE() << "expected an error for " << body;
    return {};
  }
  return std::get<ValidationError>(std::move(r));
}

std::string nested(std::size_t depth) {
  // {"data": [[...]]}: the body object is level 1, each array one more.
  return R"({"data":)" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
}

TEST(PublishOne, FullMessage) {
  PublishInput in = ok_one(
      R"({"data":{"order_id":42},"attributes":{"type":"order","tenant":"acme"},"key":"order-42","idempotency_key":"k1","extra":1})");
  EXPECT_EQ(in.channel, "orders.created");
  EXPECT_EQ(in.data, boost::json::parse(R"({"order_id":42})"));
  ASSERT_EQ(in.attributes.size(), 2u);
  EXPECT_EQ(in.attributes[0], (std::pair<std::string, std::string>{"type", "order"}));
  EXPECT_EQ(in.attributes[1], (std::pair<std::string, std::string>{"tenant", "acme"}));
  EXPECT_EQ(in.key, "order-42");
  EXPECT_EQ(in.idempotency_key, "k1");
}

TEST(PublishOne, DataMayBeAnyValueIncludingNull) {
  for (std::string_view body : {R"({"data":null})", R"({"data":1})", R"({"data":"s"})", R"({"data":[]})"}) {
    PublishInput in = ok_one(body);
    EXPECT_FALSE(in.key.has_value());
    EXPECT_TRUE(in.attributes.empty());
  }
  EXPECT_TRUE(ok_one(R"({"data":null})").data.is_null());
}

TEST(PublishOne, NumbersOutOfDoubleRangeAreRefused) {
  // Boost.JSON 1.81 parses these as inf / NaN; storing them would alter the data.
  for (std::string_view body : {R"({"data":1e400})", R"({"data":[1,{"x":-1e400}]})", R"({"data":{"z":0e400}})"}) {
    ValidationError e = bad_one(body);
    EXPECT_EQ(e.field, "data") << body;
    EXPECT_NE(e.message.find("out of range"), std::string::npos);
  }
  ok_one(R"({"data":[1.7976931348623157e308,1e-400,18446744073709551616]})");
  auto r = parse_publish_batch(R"({"messages":[{"channel":"a","data":1e999},{"channel":"a","data":1}]})", kLimits);
  const auto& items = std::get<std::vector<PublishResult>>(r);
  EXPECT_EQ(std::get<ValidationError>(items[0]).field, "messages[0].data");
  EXPECT_TRUE(std::holds_alternative<PublishInput>(items[1]));
}

TEST(PublishOne, NullOptionalsCountAsAbsent) {
  PublishInput in = ok_one(R"({"data":1,"key":null,"attributes":null,"idempotency_key":null})");
  EXPECT_FALSE(in.key.has_value());
  EXPECT_FALSE(in.idempotency_key.has_value());
}

TEST(PublishOne, MalformedJson) {
  for (std::string_view body : {"", "{", R"({"data":1,})", "{'data':1}", R"({"data":1} x)", "\xff"}) {
    ValidationError e = bad_one(body);
    EXPECT_EQ(e.message.rfind("malformed JSON: ", 0), 0u) << e.message;
    EXPECT_EQ(e.field, "");
  }
}

TEST(PublishOne, NotAnObject) {
  for (std::string_view body : {"[]", "1", "null", R"("data")"}) {
    ValidationError e = bad_one(body);
    EXPECT_EQ(e.message, "body must be a JSON object");
  }
}

TEST(PublishOne, MissingData) {
  ValidationError e = bad_one(R"({"attributes":{}})");
  EXPECT_EQ(e.field, "data");
  EXPECT_EQ(e.message, "data is required");
}

TEST(PublishOne, BadChannel) {
  ValidationError e = bad_one(R"({"data":1})", "orders..created");
  EXPECT_EQ(e.field, "channel");
  EXPECT_NE(e.message.find("empty segment"), std::string::npos);
  EXPECT_EQ(bad_one(R"({"data":1})", "orders.*").field, "channel");
  EXPECT_EQ(bad_one(R"({"data":1})", "").field, "channel");
}

TEST(PublishOne, AttributeErrors) {
  EXPECT_EQ(bad_one(R"({"data":1,"attributes":[]})").field, "attributes");
  EXPECT_EQ(bad_one(R"({"data":1,"attributes":"x"})").field, "attributes");
  ValidationError e = bad_one(R"({"data":1,"attributes":{"type":5}})");
  EXPECT_EQ(e.field, "attributes.type");
  EXPECT_EQ(e.message, "attribute values must be strings");
  EXPECT_EQ(bad_one(R"({"data":1,"attributes":{"ok":"1","n":null}})").field, "attributes.n");
  EXPECT_EQ(bad_one(R"({"data":1,"attributes":{"":"x"}})").field, "attributes");

  std::string long_name(129, 'n');
  EXPECT_EQ(bad_one(R"({"data":1,"attributes":{")" + long_name + R"(":"x"}})").field, "attributes");
  ok_one(R"({"data":1,"attributes":{")" + std::string(128, 'n') + R"(":"x"}})");

  std::string long_value(1025, 'v');
  EXPECT_EQ(bad_one(R"({"data":1,"attributes":{"a":")" + long_value + R"("}})").field, "attributes.a");
  ok_one(R"({"data":1,"attributes":{"a":")" + std::string(1024, 'v') + R"("}})");
}

TEST(PublishOne, AttributeCountLimit) {
  auto body = [](int n) {
    std::string s = R"({"data":1,"attributes":{)";
    for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::string("\"a") + std::to_string(i) + "\":\"v\"";
    return s + "}}";
  };
  EXPECT_EQ(ok_one(body(64)).attributes.size(), 64u);
  ValidationError e = bad_one(body(65));
  EXPECT_EQ(e.field, "attributes");
  EXPECT_NE(e.message.find("64"), std::string::npos);
}

TEST(PublishOne, KeyErrors) {
  EXPECT_EQ(bad_one(R"({"data":1,"key":""})").field, "key");
  EXPECT_EQ(bad_one(R"({"data":1,"key":42})").field, "key");
  EXPECT_EQ(bad_one(R"({"data":1,"key":")" + std::string(257, 'k') + R"("})").field, "key");
  EXPECT_EQ(ok_one(R"({"data":1,"key":")" + std::string(256, 'k') + R"("})").key->size(), 256u);
}

TEST(PublishOne, IdempotencyKey) {
  EXPECT_EQ(bad_one(R"({"data":1,"idempotency_key":""})").field, "idempotency_key");
  EXPECT_EQ(bad_one(R"({"data":1,"idempotency_key":["x"]})").field, "idempotency_key");
  EXPECT_EQ(bad_one(R"({"data":1,"idempotency_key":")" + std::string(257, 'i') + R"("})").field, "idempotency_key");

  EXPECT_EQ(ok_one(R"({"data":1})", "a", "from-header").idempotency_key, "from-header");
  EXPECT_EQ(ok_one(R"({"data":1,"idempotency_key":"same"})", "a", "same").idempotency_key, "same");
  ValidationError e = bad_one(R"({"data":1,"idempotency_key":"body"})", "a", "header");
  EXPECT_EQ(e.field, "idempotency_key");
  EXPECT_NE(e.message.find("differs"), std::string::npos);
  EXPECT_EQ(bad_one(R"({"data":1})", "a", "").field, "Idempotency-Key");
  EXPECT_EQ(bad_one(R"({"data":1})", "a", std::string(257, 'h')).field, "Idempotency-Key");
}

TEST(PublishOne, NestingDepth) {
  ok_one(nested(64));
  ValidationError e = bad_one(nested(65));
  EXPECT_NE(e.message.find("deeper than 64"), std::string::npos) << e.message;
  Limits shallow;
  shallow.max_json_depth = 3;
  EXPECT_TRUE(std::holds_alternative<PublishInput>(parse_publish_one(nested(3), "a", std::nullopt, shallow)));
  bad_one(nested(4), "a", std::nullopt, shallow);
  // A very deep body is rejected by the parser without recursion trouble.
  bad_one(std::string(1000000, '['));
}

TEST(ValidateItem, ReadsChannelFromItem) {
  auto r = validate_item(boost::json::parse(R"({"channel":"a.b","data":{"x":1},"key":"k"})"), kLimits);
  ASSERT_TRUE(std::holds_alternative<PublishInput>(r));
  EXPECT_EQ(std::get<PublishInput>(r).channel, "a.b");
  EXPECT_EQ(std::get<PublishInput>(r).key, "k");

  auto field = [](std::string_view json) {
    auto res = validate_item(boost::json::parse(json), kLimits);
    return std::holds_alternative<ValidationError>(res) ? std::get<ValidationError>(res).field : "<ok>";
  };
  EXPECT_EQ(field(R"({"data":1})"), "channel");
  EXPECT_EQ(field(R"({"channel":7,"data":1})"), "channel");
  EXPECT_EQ(field(R"({"channel":"a..b","data":1})"), "channel");
  EXPECT_EQ(field(R"({"channel":"a"})"), "data");
  EXPECT_EQ(field(R"([1])"), "");
}

TEST(ValidateItem, ChecksDepthOfValuesFromElsewhere) {
  Limits shallow;
  shallow.max_json_depth = 3;
  boost::json::parse_options deep;
  deep.max_depth = 100;
  auto ok = boost::json::parse(R"({"channel":"a","data":[[]]})", {}, deep);
  auto too_deep = boost::json::parse(R"({"channel":"a","data":[[[]]]})", {}, deep);
  EXPECT_TRUE(std::holds_alternative<PublishInput>(validate_item(ok, shallow)));
  EXPECT_TRUE(std::holds_alternative<ValidationError>(validate_item(too_deep, shallow)));
}

TEST(PublishBatch, MixedItemsKeepOrder) {
  auto r = parse_publish_batch(R"({"messages":[
      {"channel":"a","data":1},
      {"channel":"a..b","data":2},
      {"channel":"c","data":3,"attributes":{"t":1}},
      "not an object",
      {"channel":"e"},
      {"channel":"f","data":null,"idempotency_key":"i"}]})",
                               kLimits);
  ASSERT_TRUE((std::holds_alternative<std::vector<PublishResult>>(r)));
  const auto& items = std::get<std::vector<PublishResult>>(r);
  ASSERT_EQ(items.size(), 6u);
  ASSERT_TRUE(std::holds_alternative<PublishInput>(items[0]));
  EXPECT_EQ(std::get<PublishInput>(items[0]).channel, "a");
  EXPECT_EQ(std::get<PublishInput>(items[0]).data, 1);
  EXPECT_EQ(std::get<ValidationError>(items[1]).field, "messages[1].channel");
  EXPECT_EQ(std::get<ValidationError>(items[2]).field, "messages[2].attributes.t");
  EXPECT_EQ(std::get<ValidationError>(items[3]).field, "messages[3]");
  EXPECT_EQ(std::get<ValidationError>(items[4]).field, "messages[4].data");
  ASSERT_TRUE(std::holds_alternative<PublishInput>(items[5]));
  EXPECT_EQ(std::get<PublishInput>(items[5]).channel, "f");
  EXPECT_EQ(std::get<PublishInput>(items[5]).idempotency_key, "i");
}

TEST(PublishBatch, OuterErrors) {
  auto outer = [](std::string_view body, const Limits& limits = kLimits) {
    auto r = parse_publish_batch(body, limits);
    if (!std::holds_alternative<ValidationError>(r)) {
      ADD_FAILURE() << "expected outer error for " << body;
      return ValidationError{};
    }
    return std::get<ValidationError>(r);
  };
  EXPECT_EQ(outer("{").message.rfind("malformed JSON: ", 0), 0u);
  EXPECT_EQ(outer("[]").field, "");
  EXPECT_EQ(outer("{}").field, "messages");
  EXPECT_EQ(outer(R"({"messages":{}})").field, "messages");
  EXPECT_EQ(outer(R"({"messages":[]})").message, "messages must not be empty");

  Limits small;
  small.max_batch = 2;
  EXPECT_TRUE((std::holds_alternative<std::vector<PublishResult>>(
      parse_publish_batch(R"({"messages":[{"channel":"a","data":1},{"channel":"a","data":2}]})", small))));
  ValidationError e = outer(R"({"messages":[{"channel":"a","data":1},{"channel":"a","data":2},3]})", small);
  EXPECT_EQ(e.field, "messages");
  EXPECT_NE(e.message.find("at most 2"), std::string::npos);
}

TEST(PublishBatch, DefaultLimitIs1000) {
  auto body = [](int n) {
    std::string s = R"({"messages":[)";
    for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::string(R"({"channel":"a","data":1})");
    return s + "]}";
  };
  auto ok = parse_publish_batch(body(1000), kLimits);
  ASSERT_TRUE((std::holds_alternative<std::vector<PublishResult>>(ok)));
  EXPECT_EQ(std::get<std::vector<PublishResult>>(ok).size(), 1000u);
  EXPECT_TRUE(std::holds_alternative<ValidationError>(parse_publish_batch(body(1001), kLimits)));
}

TEST(PublishBatch, ItemsGetTheSameDepthAllowanceAsSingleBodies) {
  auto item = [](std::size_t depth) {
    return R"({"channel":"a","data":)" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
  };
  auto r = parse_publish_batch(R"({"messages":[)" + item(64) + "]}", kLimits);
  EXPECT_TRUE((std::holds_alternative<std::vector<PublishResult>>(r)));
  EXPECT_TRUE(std::holds_alternative<ValidationError>(parse_publish_batch(R"({"messages":[)" + item(65) + "]}", kLimits)));
}

}  // namespace
}  // namespace ms::messaging
