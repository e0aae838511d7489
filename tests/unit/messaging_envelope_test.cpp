#include "messaging/envelope.h"

#include "base/clock.h"
#include "messaging/gzip.h"
#include "messaging/json_text.h"
#include "messaging/ulid.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace ms::messaging {
namespace {

constexpr std::int64_t kPublishedAt = 1733076000123;

Envelope sample() {
  Envelope e;
  e.id = "01JDX3N6Y7Q8W2T4Z5A9B0C1D2";
  e.channel = "orders.created";
  e.published_at_ms = kPublishedAt;
  e.key = "order-42";
  e.attributes = {{"type", "order"}, {"tenant", "acme"}};
  e.data = boost::json::parse(R"({"order_id":42,"total":99.5,"note":"say \"hi\"\n"})");
  return e;
}

TEST(Envelope, SerializeStoredHasExactFieldOrder) {
  EXPECT_EQ(serialize_stored(sample()),
            R"({"id":"01JDX3N6Y7Q8W2T4Z5A9B0C1D2","channel":"orders.created","published_at":"2024-12-01T18:00:00.123Z",)"
            R"("key":"order-42","attributes":{"type":"order","tenant":"acme"},)"
            R"("data":{"order_id":42,"total":99.5,"note":"say \"hi\"\n"}})");
}

TEST(Envelope, OptionalFieldsAreOmitted) {
  Envelope e;
  e.id = "01JDX3N6Y7Q8W2T4Z5A9B0C1D2";
  e.channel = "a";
  e.published_at_ms = 0;
  EXPECT_EQ(serialize_stored(e),
            R"({"id":"01JDX3N6Y7Q8W2T4Z5A9B0C1D2","channel":"a","published_at":"1970-01-01T00:00:00.000Z","data":null})");
}

TEST(Envelope, SpliceOffsetPointsAfterChannel) {
  Envelope e = sample();
  std::string stored = serialize_stored(e);
  std::size_t at = position_splice_offset(e.id, e.channel);
  EXPECT_EQ(stored.substr(0, at), R"({"id":"01JDX3N6Y7Q8W2T4Z5A9B0C1D2","channel":"orders.created",)");
  EXPECT_EQ(stored.substr(at, 15), R"("published_at":)");
}

TEST(Envelope, WithPositionGivesTheFullEnvelope) {
  Envelope e = sample();
  std::string full = with_position(serialize_stored(e), "1733076000123-0");
  const std::string_view prefix =
      R"({"id":"01JDX3N6Y7Q8W2T4Z5A9B0C1D2","channel":"orders.created","position":"1733076000123-0","published_at")";
  EXPECT_EQ(full.substr(0, prefix.size()), prefix);

  boost::system::error_code ec;
  auto parsed = boost::json::parse(full, ec);
  ASSERT_FALSE(ec) << full;
  auto expected = boost::json::parse(R"({"id":"01JDX3N6Y7Q8W2T4Z5A9B0C1D2","channel":"orders.created",
      "position":"1733076000123-0","published_at":"2024-12-01T18:00:00.123Z","key":"order-42",
      "attributes":{"type":"order","tenant":"acme"},"data":{"order_id":42,"total":99.5,"note":"say \"hi\"\n"}})");
  EXPECT_EQ(parsed, expected);
}

TEST(Envelope, RoundTripThroughParseEnvelope) {
  Envelope e = sample();
  auto back = parse_envelope(with_position(serialize_stored(e), "1733076000123-7"));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(back->id, e.id);
  EXPECT_EQ(back->channel, e.channel);
  EXPECT_EQ(back->position, "1733076000123-7");
  EXPECT_EQ(back->published_at_ms, kPublishedAt);
  EXPECT_EQ(back->key, e.key);
  EXPECT_EQ(back->attributes, e.attributes);
  EXPECT_EQ(back->data, e.data);
  // And serialising the parsed envelope again gives the same stored bytes.
  EXPECT_EQ(serialize_stored(*back), serialize_stored(e));
}

TEST(Envelope, RoundTripWithRealIdAndNoOptionals) {
  Envelope e;
  e.id = new_ulid();
  e.channel = "t:x.y-z_1";
  e.published_at_ms = unix_ms_now();
  e.data = boost::json::parse(R"([1,-2,18446744073709551615,0.1,1e300,-0.0,1.0,true,false,null,"",{},[]])");
  auto back = parse_envelope(with_position(serialize_stored(e), "5-0"));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->id, e.id);
  EXPECT_EQ(back->published_at_ms, e.published_at_ms);
  EXPECT_FALSE(back->key.has_value());
  EXPECT_TRUE(back->attributes.empty());
  EXPECT_EQ(back->data, e.data);
}

TEST(Envelope, DoublesArePrintedReadably) {
  EXPECT_EQ(to_json(boost::json::parse("[99.5,1.0,0.1,1e300,-0.0,3]")), "[99.5,1.0,0.1,1e+300,-0.0,3]");
}

TEST(Envelope, OutOfRangeNumbersStayValidJson) {
  // Boost.JSON 1.81 parses 1e400 as infinity and would serialise it as "Infinity".
  std::string text = to_json(boost::json::parse("[1e400,-1e400]"));
  EXPECT_EQ(text, "[1e99999,-1e99999]");
  boost::system::error_code ec;
  auto back = boost::json::parse(text, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(back, boost::json::parse("[1e400,-1e400]"));
  EXPECT_EQ(to_json(boost::json::value(std::numeric_limits<double>::quiet_NaN())), "null");
}

TEST(Envelope, WithPositionLeavesForeignTextAlone) {
  for (std::string_view text : {std::string_view(""), std::string_view("{}"), std::string_view(R"({"id":"x")"),
                                std::string_view(R"({"channel":"a","id":"b",)"),
                                std::string_view(R"({"id":"a\"b","channel":"c","data":1})"),
                                std::string_view(R"({"id":"a","channel":"c"})")}) {
    EXPECT_EQ(with_position(text, "1-0"), text);
  }
}

TEST(Envelope, WithPositionEscapesOddPositions) {
  std::string full = with_position(R"({"id":"a","channel":"c","published_at":"x","data":1})", "we\"ird");
  EXPECT_EQ(full, R"({"id":"a","channel":"c","position":"we\"ird","published_at":"x","data":1})");
}

TEST(Envelope, ParseEnvelopeRejectsBadInput) {
  for (std::string_view text :
       {std::string_view("not json"), std::string_view("[]"), std::string_view(R"({"id":"a","channel":"c","data":1})"),
        std::string_view(R"({"id":"a","channel":"c","published_at":"yesterday","data":1})"),
        std::string_view(R"({"id":"a","channel":"c","published_at":"2024-12-01T18:00:00.123Z"})"),
        std::string_view(R"({"id":1,"channel":"c","published_at":"2024-12-01T18:00:00.123Z","data":1})"),
        std::string_view(
            R"({"id":"a","channel":"c","published_at":"2024-12-01T18:00:00.123Z","attributes":{"a":1},"data":1})"),
        std::string_view(R"({"id":"a","channel":"c","published_at":"2024-12-01T18:00:00.123Z","key":5,"data":1})")}) {
    auto r = parse_envelope(text);
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error(), errc::invalid_envelope);
  }
}

TEST(Envelope, ParseRfc3339) {
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00.000Z"), 0);
  EXPECT_EQ(parse_rfc3339_ms("2024-12-01T18:00:00.123Z"), kPublishedAt);
  EXPECT_EQ(parse_rfc3339_ms("2024-12-01T19:00:00.123+01:00"), kPublishedAt);
  EXPECT_EQ(parse_rfc3339_ms("2024-12-01T18:00:00.1234567Z"), kPublishedAt);
  EXPECT_EQ(parse_rfc3339_ms("2024-12-01T18:00:00Z"), kPublishedAt - 123);
  EXPECT_EQ(parse_rfc3339_ms("1969-12-31T23:59:59.999Z"), -1);
  EXPECT_EQ(parse_rfc3339_ms("2024-02-29T00:00:00Z").has_value(), true);
  EXPECT_FALSE(parse_rfc3339_ms("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339_ms("2024-12-01T18:00:00.123"));
  EXPECT_FALSE(parse_rfc3339_ms("2024-12-01T18:00:00.Z"));
  EXPECT_FALSE(parse_rfc3339_ms("2024-13-01T18:00:00Z"));
  EXPECT_FALSE(parse_rfc3339_ms("2024-12-01T18:00:00ZZ"));
  EXPECT_FALSE(parse_rfc3339_ms(""));
  for (std::int64_t ms : {std::int64_t{0}, kPublishedAt, std::int64_t{951782400000}, std::int64_t{4102444800999}}) {
    EXPECT_EQ(parse_rfc3339_ms(format_rfc3339_ms(ms)), ms);
  }
}

TEST(StoredEntry, RoundTripByteForByte) {
  std::string stored = serialize_stored(sample());
  for (std::size_t threshold : {std::size_t{0}, std::size_t{1}, stored.size(), stored.size() + 1, std::size_t{1} << 20}) {
    StoredEntry entry = encode_for_store(stored, threshold);
    EXPECT_EQ(entry.compressed, stored.size() >= threshold) << threshold;
    if (entry.compressed) {
      EXPECT_TRUE(looks_gzip(entry.payload));
    }
    auto back = decode_from_store(entry.payload, entry.compressed, 1 << 20);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, stored);
  }
}

TEST(StoredEntry, DecodeEnforcesLimitAndDetectsCorruption) {
  std::string stored(10000, 'x');
  StoredEntry z = encode_for_store(stored, 0);
  ASSERT_TRUE(z.compressed);
  EXPECT_LT(z.payload.size(), stored.size());
  auto r = decode_from_store(z.payload, true, 9999);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::too_large);
  r = decode_from_store(stored, false, 9999);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::too_large);
  r = decode_from_store(stored, true, 1 << 20);  // flagged compressed but is not
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::corrupt);
}

}  // namespace
}  // namespace ms::messaging
