// The route table: every route of the API in one list, with the scopes that may
// call it (API.md "Conventions": publish, subscribe, admin).
#include "api/routes.h"

#include "api/access.h"

namespace ms::api {

namespace {

using auth::kAdmin;
using auth::kPublish;
using auth::kSubscribe;
constexpr auth::Scopes kPublishers = kPublish | kAdmin;
constexpr auth::Scopes kSubscribers = kSubscribe | kAdmin;
constexpr auth::Scopes kAnyKey = kPublish | kSubscribe | kAdmin;

constexpr RouteSpec kRoutes[] = {
    {"GET", "/healthz", Guard::open, 0, healthz},
    {"GET", "/readyz", Guard::open, 0, readyz},
    {"GET", "/metrics", Guard::metrics, 0, metrics},
    {"GET", "/openapi.json", Guard::open, 0, openapi_json},
    {"POST", "/v1/channels/{channel}/messages", Guard::scoped, kPublishers, publish_one},
    {"GET", "/v1/channels/{channel}/messages", Guard::scoped, kSubscribers, read_channel},
    {"POST", "/v1/messages/batch", Guard::scoped, kPublishers, publish_batch},
    {"GET", "/v1/channels", Guard::scoped, kAnyKey, list_channels},
    {"GET", "/v1/channels/{channel}", Guard::scoped, kAnyKey, get_channel},
    {"POST", "/v1/subscriptions", Guard::scoped, kSubscribers, create_subscription},
    {"GET", "/v1/subscriptions", Guard::scoped, kSubscribers, list_subscriptions},
    {"GET", "/v1/subscriptions/{id}", Guard::scoped, kSubscribers, get_subscription},
    {"PATCH", "/v1/subscriptions/{id}", Guard::scoped, kSubscribers, patch_subscription},
    {"DELETE", "/v1/subscriptions/{id}", Guard::scoped, kSubscribers, delete_subscription},
    {"POST", "/v1/subscriptions/{id}/ack", Guard::scoped, kSubscribers, ack_messages},
    {"POST", "/v1/subscriptions/{id}/nack", Guard::scoped, kSubscribers, nack_messages},
    {"GET", "/v1/subscriptions/{id}/dead-letters", Guard::scoped, kSubscribers, list_dead_letters},
    {"POST", "/v1/subscriptions/{id}/dead-letters/replay", Guard::scoped, kSubscribers, replay_dead_letters},
    {"DELETE", "/v1/subscriptions/{id}/dead-letters", Guard::scoped, kSubscribers, purge_dead_letters},
};

// The access check, then the handler. A plain coroutine (not a lambda coroutine),
// so nothing it uses lives in a closure.
Reply guarded(Context& ctx, const RouteSpec& spec, http::RouteRequest r) {
  if (ctx.access != nullptr) {
    auto denied = ctx.access->check(r.req, spec.guard, spec.scopes);
    if (denied) co_return std::move(*denied);
  }
  co_return co_await spec.fn(ctx, r);
}

}  // namespace

std::span<const RouteSpec> route_table() { return kRoutes; }

void add_routes(http::Router& router, Context& ctx) {
  for (const auto& spec : kRoutes) {
    router.add(spec.method, spec.pattern, [&ctx, &spec](http::RouteRequest r) { return guarded(ctx, spec, r); });
  }
}

}  // namespace ms::api
