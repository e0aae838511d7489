// The route table as data: every route of the API with who may call it, so the
// router, the access check and the OpenAPI test read one list.
#pragma once

#include "api/handlers.h"
#include "auth/key_ring.h"

#include <span>

namespace ms::api {

// Who may call a route when API keys are configured (without keys, anyone).
enum class Guard : std::uint8_t {
  open,     // no key needed (health checks)
  metrics,  // open unless --metrics-key is set
  scoped,   // a key holding one of RouteSpec::scopes; rate limited
};

struct RouteSpec {
  const char* method;
  const char* pattern;
  Guard guard;
  auth::Scopes scopes;  // for Guard::scoped: any one of these suffices
  Reply (*fn)(Context&, http::RouteRequest);
};

std::span<const RouteSpec> route_table();

}  // namespace ms::api
