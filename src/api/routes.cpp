// The route table: every route of the API in one list.
#include "api/handlers.h"

namespace ms::api {

void add_routes(http::Router& router, Context& ctx) {
  struct Entry {
    const char* method;
    const char* pattern;
    Reply (*fn)(Context&, http::RouteRequest);
  };
  static const Entry kRoutes[] = {
      {"GET", "/healthz", healthz},
      {"GET", "/readyz", readyz},
      {"POST", "/v1/channels/{channel}/messages", publish_one},
      {"GET", "/v1/channels/{channel}/messages", read_channel},
      {"POST", "/v1/messages/batch", publish_batch},
      {"GET", "/v1/channels", list_channels},
      {"GET", "/v1/channels/{channel}", get_channel},
      {"POST", "/v1/subscriptions", create_subscription},
      {"GET", "/v1/subscriptions", list_subscriptions},
      {"GET", "/v1/subscriptions/{id}", get_subscription},
      {"PATCH", "/v1/subscriptions/{id}", patch_subscription},
      {"DELETE", "/v1/subscriptions/{id}", delete_subscription},
      {"POST", "/v1/subscriptions/{id}/ack", ack_messages},
      {"POST", "/v1/subscriptions/{id}/nack", nack_messages},
      {"GET", "/v1/subscriptions/{id}/dead-letters", list_dead_letters},
      {"POST", "/v1/subscriptions/{id}/dead-letters/replay", replay_dead_letters},
      {"DELETE", "/v1/subscriptions/{id}/dead-letters", purge_dead_letters},
  };
  for (const auto& e : kRoutes) {
    auto fn = e.fn;
    router.add(e.method, e.pattern, [&ctx, fn](http::RouteRequest r) { return fn(ctx, r); });
  }
}

}  // namespace ms::api
