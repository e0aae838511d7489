#include "messaging/channel_name.h"

#include <gtest/gtest.h>

#include <string>

namespace ms::messaging {
namespace {

TEST(ChannelName, ValidNames) {
  for (const char* name : {"orders", "orders.created", "a.b.c.d", "A-Z_0:9", "tenant:acme.orders-v2.created_at",
                           "x", "1.2.3"}) {
    EXPECT_TRUE(is_valid_channel(name)) << name;
    EXPECT_EQ(channel_error(name), "") << name;
  }
}

TEST(ChannelName, InvalidNames) {
  for (const char* name : {"", ".", "..", ".orders", "orders.", "orders..created", "orders created", "orders/created",
                           "orders.*", "orders.>", "*", ">", "ordérs", "orders\n", "a.b.", "a*", "{orders}"}) {
    EXPECT_FALSE(is_valid_channel(name)) << name;
    EXPECT_NE(channel_error(name), "") << name;
  }
}

TEST(ChannelName, LengthLimit) {
  std::string ok(200, 'a');
  EXPECT_TRUE(is_valid_channel(ok));
  std::string dotted = std::string(99, 'a') + "." + std::string(100, 'b');
  EXPECT_EQ(dotted.size(), 200u);
  EXPECT_TRUE(is_valid_channel(dotted));
  std::string too_long(201, 'a');
  EXPECT_FALSE(is_valid_channel(too_long));
  EXPECT_NE(channel_error(too_long).find("200"), std::string::npos);
}

TEST(ChannelName, ErrorMessagesSayWhy) {
  EXPECT_NE(channel_error("").find("empty"), std::string::npos);
  EXPECT_NE(channel_error("a..b").find("empty segment"), std::string::npos);
  EXPECT_NE(channel_error(".a").find("start or end"), std::string::npos);
  std::string bad = channel_error("orders/created");
  EXPECT_NE(bad.find("'/'"), std::string::npos) << bad;
  EXPECT_NE(bad.find("position 6"), std::string::npos) << bad;
  EXPECT_NE(channel_error(std::string("a\x01")).find("0x01"), std::string::npos);
}

TEST(ChannelPattern, ValidPatterns) {
  for (const char* p : {"orders", "orders.*", "*.created", "*", ">", "orders.>", "*.*.>", "a.*.c"}) {
    EXPECT_TRUE(is_valid_pattern(p)) << p;
    EXPECT_EQ(pattern_error(p), "") << p;
  }
}

TEST(ChannelPattern, InvalidPatterns) {
  for (const char* p : {"", "orders.>.created", ">.a", "orders*", "or*ders", "orders.**", "orders.>>", "orders.*a",
                        "orders..*", "orders.", ".*", "a.>.>"}) {
    EXPECT_FALSE(is_valid_pattern(p)) << p;
    EXPECT_NE(pattern_error(p), "") << p;
  }
  EXPECT_FALSE(is_valid_pattern(std::string(201, 'a')));
  EXPECT_TRUE(is_valid_pattern(std::string(198, 'a') + ".>"));
}

TEST(ChannelPattern, IsPattern) {
  EXPECT_TRUE(is_pattern("orders.*"));
  EXPECT_TRUE(is_pattern(">"));
  EXPECT_TRUE(is_pattern("a.*.b"));
  EXPECT_FALSE(is_pattern("orders.created"));
  EXPECT_FALSE(is_pattern("orders*"));
  EXPECT_FALSE(is_pattern(""));
}

struct MatchCase {
  const char* pattern;
  const char* channel;
  bool matches;
};

TEST(ChannelPattern, MatchTable) {
  const MatchCase cases[] = {
      {"orders.created", "orders.created", true},
      {"orders.created", "orders.updated", false},
      {"orders.created", "orders.created.v2", false},
      {"orders", "orders.created", false},
      {"orders.*", "orders.created", true},
      {"orders.*", "orders", false},
      {"orders.*", "orders.a.b", false},
      {"*.created", "orders.created", true},
      {"*.created", "orders.updated", false},
      {"*", "orders", true},
      {"*", "orders.created", false},
      {"*.*", "a.b", true},
      {"a.*.c", "a.b.c", true},
      {"a.*.c", "a.b.d", false},
      {"orders.>", "orders.created", true},
      {"orders.>", "orders.a.b.c", true},
      {"orders.>", "orders", false},
      {"orders.>", "other.created", false},
      {">", "orders", true},
      {">", "a.b.c", true},
      {"*.>", "a", false},
      {"*.>", "a.b", true},
      {"*.b.>", "a.b.c.d", true},
      {"*.b.>", "a.c.c.d", false},
      // Invalid input never matches.
      {"orders.>", "orders..x", false},
      {"orders.>.x", "orders.a.x", false},
      {"*", "*", false},
      {"", "", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(pattern_matches(c.pattern, c.channel), c.matches) << c.pattern << " vs " << c.channel;
  }
}

}  // namespace
}  // namespace ms::messaging
