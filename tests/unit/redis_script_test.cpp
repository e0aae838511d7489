// Script: SHA1 of the source (what Redis's SCRIPT LOAD returns) and the commands.
#include "redis/script.h"

#include <gtest/gtest.h>

namespace ms::redis {
namespace {

TEST(RedisScript, ShaIsSha1OfTheSource) {
  EXPECT_EQ(Script("return 1").sha(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  EXPECT_EQ(Script("return redis.call(\"INCR\", KEYS[1])").sha(), "f793247de6e1e3c553cd42d39c812df499e679e4");
  EXPECT_EQ(Script("").sha(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Script("return 1").source(), "return 1");
}

TEST(RedisScript, EvalshaCommand) {
  Script s("return 1");
  std::vector<std::string> keys{"k1", "k2"};
  std::vector<std::string> args{"a"};
  Command expected{"EVALSHA", s.sha(), "2", "k1", "k2", "a"};
  EXPECT_EQ(s.evalsha(keys, args), expected);
}

TEST(RedisScript, EvalCommand) {
  Script s("return ARGV[1]");
  std::vector<std::string> keys;
  std::vector<std::string> args{"x", ""};
  Command expected{"EVAL", "return ARGV[1]", "0", "x", ""};
  EXPECT_EQ(s.eval(keys, args), expected);
}

TEST(RedisScript, IsNoscript) {
  Reply noscript;
  noscript.type = Reply::Type::error;
  noscript.str = "NOSCRIPT No matching script. Please use EVAL.";
  EXPECT_TRUE(is_noscript(Result<Reply>(noscript)));

  Reply other = noscript;
  other.str = "ERR something else NOSCRIPT";
  EXPECT_FALSE(is_noscript(Result<Reply>(other)));

  Reply status;
  status.type = Reply::Type::status;
  status.str = "NOSCRIPT";
  EXPECT_FALSE(is_noscript(Result<Reply>(status)));

  EXPECT_FALSE(is_noscript(Result<Reply>(boost::system::error_code(make_error_code(boost::system::errc::timed_out)))));
}

}  // namespace
}  // namespace ms::redis
