// Validation of publish bodies (API.md "Publish one" / "Publish many").
//
// Pure functions: JSON text in, validated PublishInput or a ValidationError out. The api/
// handlers map a ValidationError to 400 invalid_argument with `field` in the details.
// Nothing here throws for bad input. Sizes are measured in bytes of UTF-8.
//
// Rules:
// - the body is a JSON object no deeper than Limits::max_json_depth (the body object
//   itself is depth 1); malformed JSON -> "malformed JSON: <detail>";
// - "data" is required and may be any JSON value, including an explicit null, except
//   that numbers must fit a double (1e400 is refused rather than stored as infinity);
// - "attributes": object of string -> string, at most max_attributes entries, names
//   1..max_attribute_key bytes, values up to max_attribute_value bytes;
// - "key": a non-empty string of at most max_key bytes;
// - "idempotency_key": a non-empty string of at most max_idempotency_key bytes; if the
//   Idempotency-Key header is sent too, both must be equal;
// - optional fields that are JSON null count as absent; unknown fields are ignored.
#pragma once

#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ms::messaging {

struct PublishInput {  // one message to publish, validated
  std::string channel;
  boost::json::value data;
  std::optional<std::string> key;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::optional<std::string> idempotency_key;
};

// `field` names what is wrong: "data", "attributes.type", "messages[3].channel",
// "Idempotency-Key" (the header); empty for the body as a whole.
struct ValidationError {
  std::string message;
  std::string field;
};

struct Limits {
  std::size_t max_attributes = 64;
  std::size_t max_attribute_key = 128;
  std::size_t max_attribute_value = 1024;
  std::size_t max_key = 256;
  std::size_t max_idempotency_key = 256;
  std::size_t max_json_depth = 64;
  std::size_t max_batch = 1000;
};

using PublishResult = std::variant<PublishInput, ValidationError>;

// One JSON object body for POST /v1/channels/{channel}/messages. `channel` comes from the
// path, `header_idem` from the Idempotency-Key header.
PublishResult parse_publish_one(std::string_view body, std::string_view channel,
                                std::optional<std::string_view> header_idem, const Limits& limits);

// An already-parsed batch item: the same rules, the channel read from its "channel"
// field. Also checks the item's nesting depth (it may not come from our parser).
PublishResult validate_item(const boost::json::value& item, const Limits& limits);

// {"messages": [...]}. A body that is not that (not JSON, not an object, no "messages"
// array, empty, more than max_batch items) is one ValidationError; otherwise one result
// per item, in order, with item errors' fields prefixed "messages[i]". Items get the same
// depth allowance as single bodies (the batch wrapper's two levels do not count).
std::variant<std::vector<PublishResult>, ValidationError> parse_publish_batch(std::string_view body,
                                                                             const Limits& limits);

}  // namespace ms::messaging
