// /healthz and /readyz.
#include "api/errors.h"
#include "api/handlers.h"

#include <boost/json.hpp>

namespace ms::api {

boost::asio::awaitable<http::Response> healthz(Context&, http::RouteRequest) {
  co_return json_response(200, boost::json::object{{"status", "ok"}});
}

boost::asio::awaitable<http::Response> readyz(Context& ctx, http::RouteRequest) {
  boost::json::object checks;
  bool ready = true;
  if (ctx.process.shutting_down.load()) {
    checks["shutdown"] = "in progress";
    ready = false;
  }
  std::size_t down = 0;
  for (const auto* c : ctx.process.shard_redis) down += c->connected() ? 0 : 1;
  if (down > 0 && ctx.redis.connected()) {
    checks["redis"] = std::to_string(down) + " of " + std::to_string(ctx.process.shard_redis.size()) +
                      " connections down";
    ready = false;
  } else if (!ctx.redis.connected()) {
    checks["redis"] = "down: " + ctx.redis.last_error();
    ready = false;
  } else {
    redis::Command ping{"PING"};
    auto r = co_await ctx.redis.exec(std::move(ping));
    if (!r) {
      checks["redis"] = "down: " + r.error().message();
      ready = false;
    } else if (r->is_error()) {
      checks["redis"] = "error: " + r->str;
      ready = false;
    } else {
      checks["redis"] = "ok";
    }
  }
  boost::json::object body{{"status", ready ? "ok" : "unavailable"}, {"checks", std::move(checks)}};
  auto res = json_response(ready ? 200 : 503, body);
  if (!ready) res.with_header("retry-after", "1");
  co_return res;
}

}  // namespace ms::api
