#include "http/router.h"

#include <gtest/gtest.h>

namespace ms::http {
namespace {

Handler noop() {
  return [](RouteRequest) -> boost::asio::awaitable<Response> { co_return Response{}; };
}

TEST(Router, MatchesLiteralAndCapturesParams) {
  Router r;
  r.add("GET", "/healthz", noop());
  r.add("POST", "/v1/channels/{channel}/messages", noop());
  r.add("GET", "/v1/channels/{channel}/messages", noop());
  auto m = r.match("POST", "/v1/channels/orders.created/messages");
  ASSERT_EQ(m.status, 0);
  ASSERT_NE(m.handler, nullptr);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "channel");
  EXPECT_EQ(m.params[0].second, "orders.created");
  EXPECT_EQ(r.match("GET", "/healthz").status, 0);
}

TEST(Router, UnknownPathIs404) {
  Router r;
  r.add("GET", "/healthz", noop());
  EXPECT_EQ(r.match("GET", "/nope").status, 404);
  EXPECT_EQ(r.match("GET", "/healthz/extra").status, 404);
  EXPECT_EQ(r.match("GET", "/").status, 404);
}

TEST(Router, WrongMethodIs405WithAllow) {
  Router r;
  r.add("GET", "/v1/subscriptions/{id}", noop());
  r.add("PATCH", "/v1/subscriptions/{id}", noop());
  r.add("DELETE", "/v1/subscriptions/{id}", noop());
  auto m = r.match("POST", "/v1/subscriptions/sub_1");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allow, "GET, PATCH, DELETE");
}

TEST(Router, HeadFallsBackToGet) {
  Router r;
  r.add("GET", "/healthz", noop());
  EXPECT_EQ(r.match("HEAD", "/healthz").status, 0);
}

TEST(Router, PercentDecodesParamsAndRejectsBadEscapes) {
  Router r;
  r.add("GET", "/v1/channels/{channel}", noop());
  auto m = r.match("GET", "/v1/channels/a%2Eb");
  ASSERT_EQ(m.status, 0);
  EXPECT_EQ(m.params[0].second, "a.b");
  EXPECT_EQ(r.match("GET", "/v1/channels/a%2").status, 404);
  EXPECT_EQ(r.match("GET", "/v1/channels/%zz").status, 404);
  EXPECT_EQ(r.match("GET", "/v1/channels/").status, 404);
}

TEST(Request, QueryParamsAreDecoded) {
  Request req;
  req.query = "after=1733076000123-0&limit=10&channel=orders.%2A&flag&x=a+b";
  EXPECT_EQ(req.query_param("after"), "1733076000123-0");
  EXPECT_EQ(req.query_param("limit"), "10");
  EXPECT_EQ(req.query_param("channel"), "orders.*");
  EXPECT_EQ(req.query_param("flag"), "");
  EXPECT_EQ(req.query_param("x"), "a b");
  EXPECT_FALSE(req.query_param("missing").has_value());
}

TEST(Request, HeaderLookupIsByLowerCaseName) {
  Request req;
  req.headers = {{"content-type", "application/json"}, {"x-a", "1"}, {"x-a", "2"}};
  EXPECT_EQ(req.header("content-type"), "application/json");
  EXPECT_EQ(req.header("x-a"), "1");
  EXPECT_FALSE(req.header("x-b"));
}

}  // namespace
}  // namespace ms::http
