// The route table: method + path pattern ("/v1/channels/{channel}/messages") →
// handler. Matching is segment by segment; a {name} segment captures one
// percent-decoded segment. Unknown path → 404, known path with another method → 405.
#pragma once

#include "http/message.h"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>
#include <vector>

namespace ms::http {

using PathParams = std::vector<std::pair<std::string, std::string>>;

struct RouteRequest {
  const Request& req;
  const PathParams& params;
  std::string_view param(std::string_view name) const;
};

using Handler = std::function<boost::asio::awaitable<Response>(RouteRequest)>;

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;
};

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  // null when status is 404 or 405
    PathParams params;
    int status = 0;     // 0 matched, 404, 405
    std::string allow;  // for 405: "GET, POST"
  };
  Match match(std::string_view method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> segments_;  // routes_[i]'s pattern split on '/'
};

}  // namespace ms::http
