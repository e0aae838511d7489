// The OpenAPI 3.1 document of the API: src/api/openapi.json, embedded at build time
// (cmake/embed_text.cmake writes it into a generated .cpp), served as is at
// GET /openapi.json. No file is read at run time.
#pragma once

#include <string_view>

namespace ms::api {

// The bytes of src/api/openapi.json, exactly.
std::string_view openapi_document();

}  // namespace ms::api
