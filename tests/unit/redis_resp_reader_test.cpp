// RespReader: the incremental RESP2 parser over hiredis's redisReader.
#include "redis/resp_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ms::redis {
namespace {

using Type = Reply::Type;

// Feeds `bytes` in one go and takes out every complete reply.
std::vector<Reply> parse_all(RespReader& reader, std::string_view bytes) {
  EXPECT_TRUE(reader.feed(bytes));
  std::vector<Reply> out;
  while (auto r = reader.next()) out.push_back(std::move(*r));
  return out;
}

Reply parse_one(std::string_view bytes) {
  RespReader reader;
  auto replies = parse_all(reader, bytes);
  EXPECT_FALSE(reader.failed()) << reader.error();
  EXPECT_EQ(replies.size(), 1u);
  return replies.empty() ? Reply{} : replies.front();
}

TEST(RedisRespReader, SimpleString) {
  Reply r = parse_one("+OK\r\n");
  EXPECT_EQ(r.type, Type::status);
  EXPECT_EQ(r.str, "OK");
  EXPECT_TRUE(r.is_string());
  EXPECT_FALSE(r.is_error());
}

TEST(RedisRespReader, EmptySimpleString) {
  Reply r = parse_one("+\r\n");
  EXPECT_EQ(r.type, Type::status);
  EXPECT_EQ(r.str, "");
}

TEST(RedisRespReader, Error) {
  Reply r = parse_one("-ERR unknown command 'FOO'\r\n");
  EXPECT_EQ(r.type, Type::error);
  EXPECT_TRUE(r.is_error());
  EXPECT_FALSE(r.is_string());
  EXPECT_EQ(r.str, "ERR unknown command 'FOO'");
}

TEST(RedisRespReader, Integers) {
  EXPECT_EQ(parse_one(":0\r\n").integer, 0);
  EXPECT_EQ(parse_one(":42\r\n").integer, 42);
  EXPECT_EQ(parse_one(":-17\r\n").integer, -17);
  EXPECT_EQ(parse_one(":9223372036854775807\r\n").integer, INT64_MAX);
  EXPECT_EQ(parse_one(":-9223372036854775808\r\n").integer, INT64_MIN);
  Reply r = parse_one(":5\r\n");
  EXPECT_EQ(r.type, Type::integer);
  EXPECT_TRUE(r.is_integer());
}

TEST(RedisRespReader, BulkString) {
  Reply r = parse_one("$5\r\nhello\r\n");
  EXPECT_EQ(r.type, Type::string);
  EXPECT_EQ(r.str, "hello");
  EXPECT_TRUE(r.is_string());
}

TEST(RedisRespReader, EmptyBulkString) {
  Reply r = parse_one("$0\r\n\r\n");
  EXPECT_EQ(r.type, Type::string);
  EXPECT_EQ(r.str, "");
  EXPECT_FALSE(r.is_nil());
}

TEST(RedisRespReader, NilBulk) {
  Reply r = parse_one("$-1\r\n");
  EXPECT_EQ(r.type, Type::nil);
  EXPECT_TRUE(r.is_nil());
}

TEST(RedisRespReader, NilArray) {
  Reply r = parse_one("*-1\r\n");
  EXPECT_TRUE(r.is_nil());
  EXPECT_FALSE(r.is_array());
}

TEST(RedisRespReader, EmptyArray) {
  Reply r = parse_one("*0\r\n");
  EXPECT_TRUE(r.is_array());
  EXPECT_TRUE(r.elements.empty());
}

TEST(RedisRespReader, ArrayOfMixedTypes) {
  Reply r = parse_one("*5\r\n+OK\r\n:7\r\n$3\r\nabc\r\n$-1\r\n-ERR x\r\n");
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.elements.size(), 5u);
  EXPECT_EQ(r.elements[0].type, Type::status);
  EXPECT_EQ(r.elements[0].str, "OK");
  EXPECT_EQ(r.elements[1].integer, 7);
  EXPECT_EQ(r.elements[2].str, "abc");
  EXPECT_TRUE(r.elements[3].is_nil());
  EXPECT_TRUE(r.elements[4].is_error());
  EXPECT_EQ(r.elements[4].str, "ERR x");
}

TEST(RedisRespReader, NestedArraysThreeDeep) {
  // [[[1, "a"], []], "top"]  -- the shape of XREADGROUP / XAUTOCLAIM replies
  Reply r = parse_one("*2\r\n*2\r\n*2\r\n:1\r\n$1\r\na\r\n*0\r\n$3\r\ntop\r\n");
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.elements.size(), 2u);
  const Reply& level1 = r.elements[0];
  ASSERT_TRUE(level1.is_array());
  ASSERT_EQ(level1.elements.size(), 2u);
  const Reply& level2 = level1.elements[0];
  ASSERT_TRUE(level2.is_array());
  ASSERT_EQ(level2.elements.size(), 2u);
  EXPECT_EQ(level2.elements[0].integer, 1);
  EXPECT_EQ(level2.elements[1].str, "a");
  EXPECT_TRUE(level1.elements[1].is_array());
  EXPECT_TRUE(level1.elements[1].elements.empty());
  EXPECT_EQ(r.elements[1].str, "top");
}

TEST(RedisRespReader, BinarySafeBulkWithCrLfAndNul) {
  const std::string value("a\r\nb\0c\r\n", 8);
  Reply r = parse_one("$8\r\n" + value + "\r\n");
  EXPECT_EQ(r.type, Type::string);
  EXPECT_EQ(r.str.size(), 8u);
  EXPECT_EQ(r.str, value);
}

TEST(RedisRespReader, LargeBulk) {
  const std::string value(1 << 20, 'x');
  Reply r = parse_one("$" + std::to_string(value.size()) + "\r\n" + value + "\r\n");
  EXPECT_EQ(r.str, value);
}

TEST(RedisRespReader, NothingBeforeBytesArrive) {
  RespReader reader;
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_FALSE(reader.failed());
}

// Several replies of every type, as one stream.
const std::string kMixedStream = std::string("+PONG\r\n") + "-WRONGTYPE Operation\r\n" + ":1000\r\n" +
                                 "$6\r\nfoo\r\nb\r\n" + "$-1\r\n" + "*-1\r\n" + "*0\r\n" +
                                 "*2\r\n*1\r\n*1\r\n$1\r\nz\r\n:-3\r\n" + "$0\r\n\r\n";

void expect_mixed_stream(const std::vector<Reply>& got) {
  ASSERT_EQ(got.size(), 9u);
  EXPECT_EQ(got[0].type, Type::status);
  EXPECT_EQ(got[0].str, "PONG");
  EXPECT_EQ(got[1].type, Type::error);
  EXPECT_EQ(got[1].str, "WRONGTYPE Operation");
  EXPECT_EQ(got[2].type, Type::integer);
  EXPECT_EQ(got[2].integer, 1000);
  EXPECT_EQ(got[3].type, Type::string);
  EXPECT_EQ(got[3].str, "foo\r\nb");
  EXPECT_TRUE(got[4].is_nil());
  EXPECT_TRUE(got[5].is_nil());
  EXPECT_TRUE(got[6].is_array());
  EXPECT_TRUE(got[6].elements.empty());
  ASSERT_TRUE(got[7].is_array());
  ASSERT_EQ(got[7].elements.size(), 2u);
  ASSERT_EQ(got[7].elements[0].elements.size(), 1u);
  ASSERT_EQ(got[7].elements[0].elements[0].elements.size(), 1u);
  EXPECT_EQ(got[7].elements[0].elements[0].elements[0].str, "z");
  EXPECT_EQ(got[7].elements[1].integer, -3);
  EXPECT_EQ(got[8].type, Type::string);
  EXPECT_EQ(got[8].str, "");
}

TEST(RedisRespReader, MixedStreamInOneFeed) {
  RespReader reader;
  auto got = parse_all(reader, kMixedStream);
  EXPECT_FALSE(reader.failed());
  expect_mixed_stream(got);
}

TEST(RedisRespReader, MixedStreamOneByteAtATime) {
  RespReader reader;
  std::vector<Reply> got;
  for (char c : kMixedStream) {
    ASSERT_TRUE(reader.feed(std::string_view(&c, 1)));
    while (auto r = reader.next()) got.push_back(std::move(*r));
  }
  EXPECT_FALSE(reader.failed());
  expect_mixed_stream(got);
  EXPECT_FALSE(reader.next().has_value());
}

TEST(RedisRespReader, ReplySplitAcrossFeeds) {
  RespReader reader;
  ASSERT_TRUE(reader.feed("*2\r\n$5\r\nhel"));
  EXPECT_FALSE(reader.next().has_value());  // incomplete: not an error
  EXPECT_FALSE(reader.failed());
  ASSERT_TRUE(reader.feed("lo\r\n:4"));
  EXPECT_FALSE(reader.next().has_value());
  ASSERT_TRUE(reader.feed("2\r\n+NEXT\r"));
  auto r = reader.next();
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->is_array());
  ASSERT_EQ(r->elements.size(), 2u);
  EXPECT_EQ(r->elements[0].str, "hello");
  EXPECT_EQ(r->elements[1].integer, 42);
  EXPECT_FALSE(reader.next().has_value());  // "+NEXT\r" is not complete yet
  ASSERT_TRUE(reader.feed("\n"));
  auto next = reader.next();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->str, "NEXT");
}

TEST(RedisRespReader, EveryPairOfSplitPointsGivesTheSameReplies) {
  // Three feeds at every (i, j) cut of the stream.
  const std::string& s = kMixedStream;
  for (std::size_t i = 0; i <= s.size(); i += 3) {
    for (std::size_t j = i; j <= s.size(); j += 5) {
      RespReader reader;
      std::vector<Reply> got;
      for (auto part : {s.substr(0, i), s.substr(i, j - i), s.substr(j)}) {
        ASSERT_TRUE(reader.feed(part));
        while (auto r = reader.next()) got.push_back(std::move(*r));
      }
      ASSERT_EQ(got.size(), 9u) << "cut at " << i << "," << j;
      EXPECT_EQ(got[3].str, "foo\r\nb");
      EXPECT_EQ(got[7].elements[0].elements[0].elements[0].str, "z");
    }
  }
}

TEST(RedisRespReader, ProtocolErrorMakesTheReaderFailed) {
  RespReader reader;
  reader.feed("?garbage\r\n");  // hiredis may report it at feed or at next
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_TRUE(reader.failed());
  EXPECT_FALSE(reader.error().empty());
  // Sticky: valid bytes afterwards do not revive it.
  EXPECT_FALSE(reader.feed("+OK\r\n"));
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_TRUE(reader.failed());
}

TEST(RedisRespReader, ProtocolErrorAfterGoodReplies) {
  RespReader reader;
  ASSERT_TRUE(reader.feed("+OK\r\n:1\r\n!oops\r\n"));
  auto a = reader.next();
  auto b = reader.next();
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(a->str, "OK");
  EXPECT_EQ(b->integer, 1);
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_TRUE(reader.failed());
}

// Found by fuzz_redis_reply: hiredis allocates the element table on reading the
// header, so these 13 bytes asked for 16 GiB. Now a protocol error, nothing allocated.
TEST(RedisRespReader, HugeArrayHeaderIsAProtocolError) {
  for (const char* header : {"*316777217\r\n$7\r\nmee\r\n", "*2147483647\r\n", "*16777217\r\n", "*1\r\n*268435456\r\n"}) {
    SCOPED_TRACE(header);
    RespReader reader;
    reader.feed(header);
    EXPECT_FALSE(reader.next().has_value());
    EXPECT_TRUE(reader.failed());
    EXPECT_NE(reader.error().find("limit"), std::string::npos) << reader.error();
  }
}

TEST(RedisRespReader, ArrayAtTheElementLimitIsRead) {
  RespReader reader;
  std::string header = "*" + std::to_string(kMaxArrayElements) + "\r\n";
  ASSERT_TRUE(reader.feed(header));
  EXPECT_FALSE(reader.next().has_value());  // waiting for the elements, not failed
  EXPECT_FALSE(reader.failed()) << reader.error();
  Reply r = parse_one("*3\r\n:1\r\n:2\r\n:3\r\n");
  EXPECT_EQ(r.elements.size(), 3u);
}

TEST(RedisRespReader, BadLengthIsAProtocolError) {
  RespReader reader;
  reader.feed("$abc\r\nxyz\r\n");
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_TRUE(reader.failed());
}

}  // namespace
}  // namespace ms::redis
