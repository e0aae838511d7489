// A subscription as the API and every instance see it: stored as JSON in the
// ms:subs hash, shared by all instances (API.md "Subscriptions").
#pragma once

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ms::subscribe {

struct RetryPolicy {
  std::uint32_t max_attempts = 8;
  std::uint64_t initial_backoff_ms = 1000;
  std::uint64_t max_backoff_ms = 600000;
  double multiplier = 2.0;
  double jitter = 0.2;  // ± fraction of the backoff, 0..1
};

enum class AckMode { response, explicit_ack };
enum class State { active, paused, disabled };

struct Subscription {
  std::string id;       // "sub_" + ULID
  std::string channel;  // exact channel or NATS-style pattern
  std::string endpoint;
  std::string secret;  // "whsec_" + base64
  AckMode ack_mode = AckMode::response;
  std::uint64_t ack_deadline_ms = 30000;
  std::uint64_t timeout_ms = 10000;
  std::uint32_t max_in_flight = 16;
  bool ordered = false;
  RetryPolicy retry;
  // start: "latest" | "earliest" | {"position": "..."} (messages after that position)
  std::string start = "latest";
  std::string start_position;
  std::vector<std::pair<std::string, std::string>> filter_attributes;  // all must match
  std::vector<std::pair<std::string, std::string>> headers;            // added to each webhook request
  std::string description;
  State state = State::active;
  std::string disabled_reason;  // when state == disabled (410 Gone)
  std::int64_t created_at_ms = 0;  // Redis server time at creation (the stream-id clock)
  std::int64_t updated_at_ms = 0;
  std::uint64_t generation = 0;  // bumped by every change
  // The API key that created it ("key_" + hash prefix, auth::Principal::id); empty
  // when created without keys. A subscribe-scoped key sees only its own.
  std::string owner;
};

struct FieldError {
  std::string message;
  std::string field;
};

struct ValidationLimits {
  std::size_t max_headers = 32;
  std::size_t max_header_value = 4096;
  std::size_t max_filter = 32;
  std::size_t max_description = 1024;
  std::size_t max_endpoint = 2048;
};

// POST /v1/subscriptions body → a new subscription (id, secret when absent, and
// times are filled by the caller, the create handler). Checks every field and type;
// the endpoint must be an absolute http(s) URL (address rules are checked by the caller).
std::variant<Subscription, FieldError> parse_create(std::string_view body, const ValidationLimits& limits = {});

// PATCH body applied to a copy of `current`: endpoint, secret, timeout_ms,
// max_in_flight, retry (fields merged), filter, headers, description, state
// (only "paused" / "active"; "active" re-enables a disabled one).
std::variant<Subscription, FieldError> apply_patch(const Subscription& current, std::string_view body,
                                                   const ValidationLimits& limits = {});

// The stored / returned JSON (every field, no stats).
boost::json::object to_json(const Subscription& s);
std::string to_stored(const Subscription& s);
std::optional<Subscription> from_stored(std::string_view json);

// "whsec_" + base64 of 24 random bytes.
std::string generate_secret();
// "sub_" + ULID
std::string generate_id();

std::string_view to_string(State s);
std::string_view to_string(AckMode m);

// Does a message with these attributes pass the filter?
bool filter_matches(const Subscription& s, const std::vector<std::pair<std::string, std::string>>& attributes);

}  // namespace ms::subscribe
