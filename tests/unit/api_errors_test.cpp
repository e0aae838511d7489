// The contract's error shape: codes per status, and a body that is always valid JSON.
#include "api/errors.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <string>

namespace ms::api {
namespace {

std::string message_of(const http::Response& r) {
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);  // Boost.JSON rejects invalid UTF-8
  EXPECT_FALSE(ec) << ec.message() << ": " << r.body;
  if (ec) return {};
  return std::string(v.at("error").at("message").as_string());
}

TEST(ApiErrors, Shape) {
  auto r = error_response(404, "no route for GET /x", boost::json::object{{"path", "/x"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  auto v = boost::json::parse(r.body);
  EXPECT_EQ(v.at("error").at("code").as_string(), "not_found");
  EXPECT_EQ(v.at("error").at("details").at("path").as_string(), "/x");
}

TEST(ApiErrors, CodesForServerRefusals) {
  EXPECT_EQ(code_for_status(413), "payload_too_large");
  EXPECT_EQ(code_for_status(414), "invalid_argument");
  EXPECT_EQ(code_for_status(431), "invalid_argument");
}

// Found by fuzz_http_request: a request-target with byte 0xff was quoted raw in a 403's
// message, so the body was not valid UTF-8 and no JSON parser would read it.
TEST(ApiErrors, ClientBytesThatAreNotUtf8BecomeReplacementCharacters) {
  EXPECT_EQ(message_of(error_response(403, "needed for POST /v1/subscriptions/sub_\xff\xff/ack")),
            "needed for POST /v1/subscriptions/sub_\xEF\xBF\xBD\xEF\xBF\xBD/ack");
  EXPECT_EQ(message_of(error_response(404, "\xc0\xaf")), "\xEF\xBF\xBD\xEF\xBF\xBD");      // overlong '/'
  EXPECT_EQ(message_of(error_response(404, "a\xed\xa0\x80")), "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(message_of(error_response(404, "\xf4\x90\x80\x80")).size(), 12u);              // above U+10FFFF
  EXPECT_EQ(message_of(error_response(404, "cut \xe2\x82")), "cut \xEF\xBF\xBD\xEF\xBF\xBD");  // truncated
  auto d = error_response(400, "x", boost::json::object{{"got", "\xfe"}});
  boost::system::error_code ec;
  boost::json::parse(d.body, ec);
  EXPECT_FALSE(ec) << d.body;
}

TEST(ApiErrors, ValidUtf8IsKept) {
  const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e \x7f";
  EXPECT_EQ(message_of(error_response(400, text)), text);
}

}  // namespace
}  // namespace ms::api
