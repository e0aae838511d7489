// Reply helpers and the command encoder (encode_command / append_command).
#include "redis/reply.h"

#include "redis/resp_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace ms::redis {
namespace {

Reply make_string(std::string s, Reply::Type type = Reply::Type::string) {
  Reply r;
  r.type = type;
  r.str = std::move(s);
  return r;
}

TEST(RedisEncode, KnownCommands) {
  Command ping{"PING"};
  EXPECT_EQ(encode_command(ping), "*1\r\n$4\r\nPING\r\n");
  Command set{"SET", "key", "value"};
  EXPECT_EQ(encode_command(set), "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
  Command xadd{"XADD", "s", "*", "f", "v"};
  EXPECT_EQ(encode_command(xadd), "*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n$1\r\nf\r\n$1\r\nv\r\n");
}

TEST(RedisEncode, EmptyArgument) {
  Command cmd{"SET", "k", ""};
  EXPECT_EQ(encode_command(cmd), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(RedisEncode, BinarySafeArgument) {
  const std::string value("a\r\n\0b", 5);
  Command cmd{"SET", "k", value};
  EXPECT_EQ(encode_command(cmd), std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\n") + value + "\r\n");
}

TEST(RedisEncode, LongArgumentLength) {
  const std::string value(12345, 'v');
  Command cmd{"SET", "k", value};
  EXPECT_EQ(encode_command(cmd), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$12345\r\n" + value + "\r\n");
}

TEST(RedisEncode, AppendConcatenatesForPipelining) {
  std::string out = "prefix:";
  Command a{"INCR", "n"};
  Command b{"GET", "n"};
  append_command(out, a);
  append_command(out, b);
  EXPECT_EQ(out, "prefix:*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*2\r\n$3\r\nGET\r\n$1\r\nn\r\n");
  EXPECT_EQ(out.substr(7), encode_command(a) + encode_command(b));
}

TEST(RedisEncode, ManyArguments) {
  Command cmd{"DEL"};
  std::string expected_tail;
  for (int i = 0; i < 12; ++i) {
    cmd.push_back("k" + std::to_string(i));
    expected_tail += "$" + std::to_string(cmd.back().size()) + "\r\n" + cmd.back() + "\r\n";
  }
  EXPECT_EQ(encode_command(cmd), "*13\r\n$3\r\nDEL\r\n" + expected_tail);
}

// The encoding of a command is itself valid RESP (an array of bulk strings):
// parsing it back gives the arguments, byte for byte.
TEST(RedisEncode, RoundTripsThroughTheReader) {
  Command cmd{"HSET", "h", std::string("\0\1\2", 3), "", "\r\n"};
  RespReader reader;
  ASSERT_TRUE(reader.feed(encode_command(cmd)));
  auto r = reader.next();
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->is_array());
  ASSERT_EQ(r->elements.size(), cmd.size());
  for (std::size_t i = 0; i < cmd.size(); ++i) EXPECT_EQ(r->elements[i].str, cmd[i]) << i;
}

TEST(RedisReply, AsIntFromInteger) {
  Reply r;
  r.type = Reply::Type::integer;
  r.integer = -12;
  EXPECT_EQ(r.as_int(), -12);
  r.integer = INT64_MAX;
  EXPECT_EQ(r.as_int(), INT64_MAX);
}

TEST(RedisReply, AsIntFromDecimalStrings) {
  EXPECT_EQ(make_string("0").as_int(), 0);
  EXPECT_EQ(make_string("42").as_int(), 42);
  EXPECT_EQ(make_string("-7").as_int(), -7);
  EXPECT_EQ(make_string("9223372036854775807").as_int(), INT64_MAX);
  EXPECT_EQ(make_string("-9223372036854775807").as_int(), -INT64_MAX);
  EXPECT_EQ(make_string("15", Reply::Type::status).as_int(), 15);
}

TEST(RedisReply, AsIntRejectsNonIntegers) {
  EXPECT_FALSE(make_string("").as_int().has_value());
  EXPECT_FALSE(make_string("-").as_int().has_value());
  EXPECT_FALSE(make_string("12a").as_int().has_value());
  EXPECT_FALSE(make_string(" 1").as_int().has_value());
  EXPECT_FALSE(make_string("1.5").as_int().has_value());
  EXPECT_FALSE(make_string("+1").as_int().has_value());
  EXPECT_FALSE(make_string("123456789012345678901").as_int().has_value());  // 21 chars
  EXPECT_FALSE(make_string("5", Reply::Type::error).as_int().has_value());
  EXPECT_FALSE(Reply{}.as_int().has_value());  // nil
  Reply arr;
  arr.type = Reply::Type::array;
  EXPECT_FALSE(arr.as_int().has_value());
}

// BUG (src/redis/resp_reader.cpp, Reply::as_int): 19-20 digit strings beyond
// INT64 overflow `v * 10 + d` (signed overflow, UB) and return garbage instead of
// nullopt; INT64_MIN only "works" through that UB. Enable once as_int uses
// std::from_chars.
TEST(RedisReply, AsIntRejectsOutOfRange) {
  EXPECT_FALSE(make_string("9223372036854775808").as_int().has_value());
  EXPECT_FALSE(make_string("99999999999999999999").as_int().has_value());
  EXPECT_FALSE(make_string("-9223372036854775809").as_int().has_value());
  EXPECT_EQ(make_string("-9223372036854775808").as_int(), INT64_MIN);
}

TEST(RedisReply, Predicates) {
  Reply nil;
  EXPECT_TRUE(nil.is_nil());
  EXPECT_FALSE(nil.is_string());
  EXPECT_TRUE(make_string("x", Reply::Type::status).is_string());
  EXPECT_TRUE(make_string("x").is_string());
  EXPECT_FALSE(make_string("x", Reply::Type::error).is_string());
  EXPECT_TRUE(make_string("x", Reply::Type::error).is_error());
}

}  // namespace
}  // namespace ms::redis
