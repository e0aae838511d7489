#include "api/access.h"

#include "api/errors.h"

#include <boost/json/array.hpp>

namespace ms::api {

namespace {

std::vector<auth::KeyRing::Entry> entries(const config::Config& cfg) {
  std::vector<auth::KeyRing::Entry> out;
  out.reserve(cfg.api_keys.size());
  for (const auto& k : cfg.api_keys) out.push_back({k.key, k.scopes});
  return out;
}

http::Response unauthenticated(std::string_view message) {
  auto res = error_response(401, message);
  res.with_header("www-authenticate", "Bearer realm=\"messaging_service\"");
  return res;
}

http::Response auth_failure(auth::AuthFailure f) {
  switch (f) {
    case auth::AuthFailure::missing: return unauthenticated("an API key is required: send Authorization: Bearer <key>");
    case auth::AuthFailure::malformed: return unauthenticated("the Authorization header must be Bearer <key>");
    case auth::AuthFailure::unknown: break;
  }
  return unauthenticated("the API key is not valid");
}

boost::json::array scope_names(auth::Scopes scopes) {
  boost::json::array names;
  if (scopes & auth::kPublish) names.emplace_back("publish");
  if (scopes & auth::kSubscribe) names.emplace_back("subscribe");
  if (scopes & auth::kAdmin) names.emplace_back("admin");
  return names;
}

}  // namespace

AccessGate::AccessGate(const config::Config& cfg)
    : keys_(entries(cfg)),
      rate_per_second_(cfg.rate_limit_rps),
      limiter_(cfg.rate_limit_rps, cfg.rate_limit_burst, cfg.api_keys.size()) {
  if (!cfg.metrics_key.empty()) metrics_key_ = auth::sha256(cfg.metrics_key);
}

std::optional<http::Response> AccessGate::check(const http::Request& req, Guard guard, auth::Scopes scopes) const {
  switch (guard) {
    case Guard::open: return std::nullopt;
    case Guard::metrics: {
      if (!metrics_key_) return std::nullopt;
      auto header = req.header("authorization");
      if (!header) return auth_failure(auth::AuthFailure::missing);
      auto token = auth::KeyRing::bearer_token(*header);
      if (!token) return auth_failure(auth::AuthFailure::malformed);
      if (!auth::digests_equal(auth::sha256(*token), *metrics_key_)) return auth_failure(auth::AuthFailure::unknown);
      return std::nullopt;
    }
    case Guard::scoped: break;
  }
  std::optional<std::chrono::milliseconds> wait;
  if (keys_enabled()) {
    auto outcome = keys_.authenticate(req.header("authorization"));
    if (!outcome.principal) return auth_failure(outcome.failure);
    if ((outcome.principal->scopes & scopes) == 0) {
      auto names = scope_names(scopes);
      std::string list;
      for (std::size_t i = 0; i < names.size(); ++i) {
        list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + std::string(names[i].as_string());
      }
      return error_response(403, "this API key lacks the scope " + list + " needed for " + req.method + " " + req.path,
                            boost::json::object{{"required_scopes", std::move(names)}});
    }
    wait = limiter_.take_for_key(outcome.principal->index);
  } else {
    wait = limiter_.take_for_address(req.remote_address);
  }
  if (wait) {
    const auto seconds = std::max<std::int64_t>(1, (wait->count() + 999) / 1000);
    auto res = error_response(429, "rate limit of " + std::to_string(rate_per_second_) + " requests per second exceeded",
                              boost::json::object{{"retry_after_ms", wait->count()}});
    res.with_header("retry-after", std::to_string(seconds));
    return res;
  }
  return std::nullopt;
}

const auth::Principal* AccessGate::caller(const http::Request& req) const {
  if (!keys_enabled()) return nullptr;
  return keys_.authenticate(req.header("authorization")).principal;
}

bool AccessGate::may_see(const http::Request& req, const std::string& owner) const {
  if (!keys_enabled()) return true;
  const auth::Principal* p = caller(req);
  if (p == nullptr) return false;
  if (p->scopes & auth::kAdmin) return true;
  return p->id == owner;
}

}  // namespace ms::api
