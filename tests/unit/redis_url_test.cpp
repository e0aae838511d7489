// parse_redis_url: redis://[[user]:password@]host[:port][/db], rediss:// for TLS.
#include "redis/redis_url.h"

#include "redis/errors.h"

#include <gtest/gtest.h>

namespace ms::redis {
namespace {

Endpoint parse_ok(std::string_view url) {
  auto r = parse_redis_url(url);
  EXPECT_TRUE(r.has_value()) << url << ": " << (r ? "" : r.error().message());
  return r ? *r : Endpoint{};
}

void expect_bad(std::string_view url) {
  auto r = parse_redis_url(url);
  ASSERT_FALSE(r.has_value()) << url << " parsed as host=" << r->host << " port=" << r->port << " db=" << r->db;
  EXPECT_EQ(r.error(), make_error_code(errc::bad_url)) << url;
  EXPECT_EQ(r.error().category().name(), std::string("redis"));
}

TEST(RedisUrl, Defaults) {
  Endpoint ep = parse_ok("redis://localhost");
  EXPECT_EQ(ep.host, "localhost");
  EXPECT_EQ(ep.port, 6379);
  EXPECT_EQ(ep.db, 0);
  EXPECT_EQ(ep.username, "");
  EXPECT_EQ(ep.password, "");
  EXPECT_FALSE(ep.tls);
}

TEST(RedisUrl, TrailingSlashMeansDbZero) {
  Endpoint ep = parse_ok("redis://h/");
  EXPECT_EQ(ep.host, "h");
  EXPECT_EQ(ep.db, 0);
}

TEST(RedisUrl, Port) {
  Endpoint ep = parse_ok("redis://127.0.0.1:6380");
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 6380);
  EXPECT_EQ(parse_ok("redis://h:65535").port, 65535);
}

TEST(RedisUrl, PortAndDb) {
  Endpoint ep = parse_ok("redis://h:6381/3");
  EXPECT_EQ(ep.port, 6381);
  EXPECT_EQ(ep.db, 3);
  EXPECT_EQ(parse_ok("redis://h/15").db, 15);
  EXPECT_EQ(parse_ok("redis://h/0").db, 0);
}

TEST(RedisUrl, PasswordOnlyWithColon) {
  Endpoint ep = parse_ok("redis://:pw@h:1/2");
  EXPECT_EQ(ep.username, "");
  EXPECT_EQ(ep.password, "pw");
  EXPECT_EQ(ep.host, "h");
  EXPECT_EQ(ep.port, 1);
  EXPECT_EQ(ep.db, 2);
}

TEST(RedisUrl, PasswordOnlyWithoutColon) {
  Endpoint ep = parse_ok("redis://pw@h");
  EXPECT_EQ(ep.username, "");
  EXPECT_EQ(ep.password, "pw");
  EXPECT_EQ(ep.host, "h");
  EXPECT_EQ(ep.port, 6379);
}

TEST(RedisUrl, UserAndPassword) {
  Endpoint ep = parse_ok("redis://alice:s3cret@redis.example.com:7000/4");
  EXPECT_EQ(ep.username, "alice");
  EXPECT_EQ(ep.password, "s3cret");
  EXPECT_EQ(ep.host, "redis.example.com");
  EXPECT_EQ(ep.port, 7000);
  EXPECT_EQ(ep.db, 4);
}

TEST(RedisUrl, PercentEncodedPasswordIsDecoded) {
  Endpoint ep = parse_ok("redis://:p%40ss%3Aw0rd@h");
  EXPECT_EQ(ep.password, "p@ss:w0rd");
}

TEST(RedisUrl, RedissMeansTls) {
  Endpoint ep = parse_ok("rediss://h:6390");
  EXPECT_TRUE(ep.tls);
  EXPECT_EQ(ep.port, 6390);
  EXPECT_FALSE(parse_ok("redis://h").tls);
}

TEST(RedisUrl, Ipv6Literal) {
  Endpoint ep = parse_ok("redis://[::1]:6380/1");
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 6380);
  EXPECT_EQ(ep.db, 1);
  EXPECT_EQ(parse_ok("redis://[::1]").port, 6379);
  EXPECT_EQ(parse_ok("redis://:pw@[fe80::1]:9").host, "fe80::1");
}

TEST(RedisUrl, BadScheme) {
  expect_bad("http://h:6379");
  expect_bad("redis+tls://h");
  expect_bad("h:6379");
  expect_bad("");
  expect_bad("not a url");
}

TEST(RedisUrl, BadDb) {
  expect_bad("redis://h/abc");
  expect_bad("redis://h/-1");
  expect_bad("redis://h/1x");
  expect_bad("redis://h/1/2");
  expect_bad("redis://h/99999999999999");
}

TEST(RedisUrl, BadPort) {
  expect_bad("redis://h:0");
  expect_bad("redis://h:abc");
  expect_bad("redis://h:70000");
}

TEST(RedisUrl, MissingHost) {
  expect_bad("redis://");
  expect_bad("redis:///0");
  expect_bad("redis://:6379");
  expect_bad("redis://:pw@:6379");
  expect_bad("redis:h");
}

}  // namespace
}  // namespace ms::redis
