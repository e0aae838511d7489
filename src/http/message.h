// HTTP request and response as the router and handlers see them: plain values,
// no Beast types, so handlers compile without Beast.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ms::http {

using Headers = std::vector<std::pair<std::string, std::string>>;  // names lower-case

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path + "?" + query
  std::string path;    // percent-decoded path
  std::string query;   // raw query string, without '?'
  Headers headers;
  std::string body;
  std::string remote_address;

  // First header of that (lower-case) name.
  std::optional<std::string_view> header(std::string_view name) const;
  // Percent-decoded query parameter.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;  // extra headers (content-type is set from content_type)
  std::string body;
  std::string content_type = "application/json";

  static Response json(int status, std::string body) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  Response& with_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// Decodes %XX and (in queries) '+'; returns nullopt for malformed escapes.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

}  // namespace ms::http
