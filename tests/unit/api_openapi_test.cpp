// The embedded OpenAPI document (src/api/openapi.json) against the route table:
// every route is documented with its scopes, every documented operation is routed,
// and the document holds together (every $ref resolves).
#include "api/openapi.h"
#include "api/routes.h"
#include "config/config.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace ms::api {
namespace {

namespace json = boost::json;

constexpr std::string_view kMethods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

bool is_method(std::string_view key) {
  return std::find(std::begin(kMethods), std::end(kMethods), key) != std::end(kMethods);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The scope names a route accepts, in the order access.cpp lists them.
std::vector<std::string> scope_names(auth::Scopes scopes) {
  std::vector<std::string> names;
  if (scopes & auth::kPublish) names.emplace_back("publish");
  if (scopes & auth::kSubscribe) names.emplace_back("subscribe");
  if (scopes & auth::kAdmin) names.emplace_back("admin");
  return names;
}

// "{channel}" segments of a route pattern.
std::vector<std::string> path_params(std::string_view pattern) {
  std::vector<std::string> out;
  for (std::size_t open = pattern.find('{'); open != std::string_view::npos; open = pattern.find('{', open + 1)) {
    auto close = pattern.find('}', open);
    out.emplace_back(pattern.substr(open + 1, close - open - 1));
  }
  return out;
}

class OpenApi : public ::testing::Test {
 protected:
  void SetUp() override {
    boost::system::error_code ec;
    doc_ = json::parse(openapi_document(), ec);
    ASSERT_FALSE(ec) << "src/api/openapi.json is not valid JSON: " << ec.message();
    ASSERT_TRUE(doc_.is_object());
  }

  const json::object& root() const { return doc_.as_object(); }
  const json::object& paths() const { return root().at("paths").as_object(); }

  // A local reference "#/a/b~1c" → the value it names, or null.
  const json::value* resolve(std::string_view ref) const {
    if (ref.substr(0, 2) != "#/") return nullptr;
    const json::value* at = &doc_;
    std::string_view rest = ref.substr(2);
    while (at) {
      auto slash = rest.find('/');
      std::string token(rest.substr(0, slash));
      for (std::size_t i = 0; (i = token.find('~', i)) != std::string::npos; ++i) {
        if (i + 1 < token.size() && token[i + 1] == '1') {
          token.replace(i, 2, "/");
        } else if (i + 1 < token.size() && token[i + 1] == '0') {
          token.replace(i, 2, "~");
        }
      }
      const auto* o = at->if_object();
      at = o ? o->if_contains(token) : nullptr;
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
    return at;
  }

  // The parameter an entry of a "parameters" list is, through its $ref.
  const json::object* parameter(const json::value& entry) const {
    const json::value* p = &entry;
    if (const auto* ref = entry.as_object().if_contains("$ref")) p = resolve(ref->as_string());
    return p ? p->if_object() : nullptr;
  }

  json::value doc_;
};

TEST_F(OpenApi, IsOpenApi31WithTheServiceVersion) {
  EXPECT_EQ(root().at("openapi").as_string(), "3.1.0");
  EXPECT_EQ(root().at("info").at("version").as_string(), config::kVersion);
  const auto& bearer = root().at("components").at("securitySchemes").at("bearer").as_object();
  EXPECT_EQ(bearer.at("type").as_string(), "http");
  EXPECT_EQ(bearer.at("scheme").as_string(), "bearer");
  ASSERT_EQ(root().at("security").as_array().size(), 1u);
  EXPECT_TRUE(root().at("security").as_array()[0].as_object().contains("bearer"));
  EXPECT_TRUE(root().at("webhooks").as_object().contains("message"));
}

TEST_F(OpenApi, EveryRouteIsDocumentedWithItsScopes) {
  for (const auto& route : route_table()) {
    SCOPED_TRACE(std::string(route.method) + " " + route.pattern);
    const auto* item = paths().if_contains(route.pattern);
    if (item == nullptr) {
      ADD_FAILURE() << "path missing from src/api/openapi.json";
      continue;
    }
    const auto* op = item->as_object().if_contains(lower(route.method));
    if (op == nullptr) {
      ADD_FAILURE() << "method missing from src/api/openapi.json";
      continue;
    }
    const auto& o = op->as_object();

    const auto* scopes = o.if_contains("x-scopes");
    if (route.guard == Guard::scoped) {
      std::vector<std::string> listed;
      if (scopes != nullptr) {
        for (const auto& s : scopes->as_array()) listed.emplace_back(s.as_string());
      }
      EXPECT_EQ(listed, scope_names(route.scopes)) << "x-scopes differ from the route table's";
      EXPECT_FALSE(o.contains("security")) << "scoped routes use the document's bearer security";
      // What the access check can answer instead of the handler.
      const auto& responses = o.at("responses").as_object();
      for (const char* status : {"401", "403", "429"}) EXPECT_TRUE(responses.contains(status)) << status;
    } else if (route.guard == Guard::metrics) {
      // Open, or behind --metrics-key: [{}, {"metricsKey": []}].
      EXPECT_TRUE(scopes == nullptr || scopes->as_array().empty());
      const auto* security = o.if_contains("security");
      ASSERT_TRUE(security != nullptr && security->as_array().size() == 2u) << "metrics: [{}, {metricsKey: []}]";
      EXPECT_TRUE(security->as_array()[0].as_object().empty());
      EXPECT_TRUE(security->as_array()[1].as_object().contains("metricsKey"));
    } else {
      EXPECT_TRUE(scopes == nullptr || scopes->as_array().empty());
      const auto* security = o.if_contains("security");
      EXPECT_TRUE(security != nullptr && security->as_array().empty()) << "an open route needs security: []";
    }

    // Every {name} of the pattern is a documented path parameter.
    std::set<std::string> documented;
    for (const auto* owner : {&item->as_object(), &o}) {
      if (const auto* params = owner->if_contains("parameters")) {
        for (const auto& entry : params->as_array()) {
          const auto* p = parameter(entry);
          EXPECT_NE(p, nullptr) << "unresolved parameter";
          if (p != nullptr && p->at("in").as_string() == "path") documented.emplace(p->at("name").as_string());
        }
      }
    }
    for (const auto& name : path_params(route.pattern)) EXPECT_TRUE(documented.count(name)) << name;
    EXPECT_EQ(documented.size(), path_params(route.pattern).size());
  }
}

TEST_F(OpenApi, EveryDocumentedOperationIsRouted) {
  std::set<std::string> operation_ids;
  for (const auto& [path, item] : paths()) {
    for (const auto& [key, op] : item.as_object()) {
      if (!is_method(key)) {
        EXPECT_TRUE(key == "parameters" || key == "summary" || key == "description")
            << path << ": unexpected key " << key;
        continue;
      }
      SCOPED_TRACE(std::string(key) + " " + std::string(path));
      auto routes = route_table();
      bool routed = std::any_of(routes.begin(), routes.end(),
                                [&](const RouteSpec& r) { return r.pattern == path && lower(r.method) == key; });
      EXPECT_TRUE(routed) << "documented but not in api::route_table()";
      EXPECT_TRUE(operation_ids.insert(std::string(op.at("operationId").as_string())).second) << "duplicate operationId";
    }
  }
}

TEST_F(OpenApi, EveryRefResolves) {
  std::size_t refs = 0;
  std::vector<const json::value*> todo{&doc_};
  while (!todo.empty()) {
    const json::value* v = todo.back();
    todo.pop_back();
    if (const auto* a = v->if_array()) {
      for (const auto& e : *a) todo.push_back(&e);
    } else if (const auto* o = v->if_object()) {
      for (const auto& [key, child] : *o) {
        if (key == "$ref" && child.is_string()) {
          ++refs;
          EXPECT_NE(resolve(child.as_string()), nullptr) << "unresolved $ref " << child.as_string();
        }
        todo.push_back(&child);
      }
    }
  }
  EXPECT_GT(refs, 0u);
}

}  // namespace
}  // namespace ms::api
