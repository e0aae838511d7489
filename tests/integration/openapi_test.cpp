// GET /openapi.json against the real binary: the document as kept in the repository
// (src/api/openapi.json, MS_OPENAPI_FILE), byte for byte, open even when API keys
// are configured (API.md "Operations").
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include <boost/json.hpp>

#include "support/http_client.h"
#include "support/redis_server.h"
#include "support/service_process.h"

namespace ms::test {
namespace {

std::string file_bytes(const char* path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(OpenApi, ServesTheDocumentAsIs) {
  RedisServer redis;
  redis.start();
  ServiceProcess svc(redis.url());
  svc.start();
  HttpClient api = svc.client();
  const std::string expected = file_bytes(MS_OPENAPI_FILE);
  ASSERT_FALSE(expected.empty());

  auto r = api.get("/openapi.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.body.size(), expected.size());
  EXPECT_TRUE(r.body == expected) << "GET /openapi.json differs from src/api/openapi.json";
  EXPECT_EQ(r.json().at("openapi").as_string(), "3.1.0");

  auto other = api.post("/openapi.json", "{}");
  EXPECT_EQ(other.status, 405);
  EXPECT_EQ(other.header("allow"), "GET");
}

TEST(OpenApi, IsOpenWhenApiKeysAreConfigured) {
  RedisServer redis;
  redis.start();
  ServiceOptions o;
  o.args = {"--api-key", "s3cret-admin-key:admin"};
  ServiceProcess svc(redis.url(), o);
  svc.start();
  HttpClient api = svc.client();
  EXPECT_EQ(api.get("/v1/channels").status, 401);  // keys are on
  auto r = api.get("/openapi.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == file_bytes(MS_OPENAPI_FILE));
}

}  // namespace
}  // namespace ms::test
