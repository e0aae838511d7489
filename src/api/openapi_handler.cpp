// GET /openapi.json: the embedded OpenAPI document, byte for byte (API.md "Operations").
#include "api/handlers.h"
#include "api/openapi.h"

namespace ms::api {

Reply openapi_json(Context&, http::RouteRequest) {
  co_return http::Response::json(200, std::string(openapi_document()));
}

}  // namespace ms::api
