// Who may call what (API.md "Conventions", "Security"): API key and scope checks,
// the metrics key, and the per-caller rate limit, answered in the contract's
// error shape (401, 403, 429 with Retry-After).
//
// One AccessGate per process, shared by every shard's thread: the key ring is
// immutable and the rate limiter locks its own buckets.
#pragma once

#include "api/routes.h"
#include "auth/key_ring.h"
#include "auth/rate_limiter.h"
#include "config/config.h"
#include "http/message.h"

#include <optional>
#include <string>

namespace ms::api {

class AccessGate {
 public:
  explicit AccessGate(const config::Config& cfg);

  bool keys_enabled() const { return !keys_.empty(); }

  // nullopt: the request may go on; otherwise the answer to send instead.
  std::optional<http::Response> check(const http::Request& req, Guard guard, auth::Scopes scopes) const;

  // The key behind a request that passed check(); null without keys.
  const auth::Principal* caller(const http::Request& req) const;

  // May this request's caller see a subscription created by `owner`? Without keys,
  // and for admin keys, everything; a subscribe key, only its own.
  bool may_see(const http::Request& req, const std::string& owner) const;

 private:
  auth::KeyRing keys_;
  std::optional<auth::Digest> metrics_key_;
  std::uint32_t rate_per_second_;
  mutable auth::RateLimiter limiter_;
};

}  // namespace ms::api
