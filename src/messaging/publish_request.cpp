#include "messaging/publish_request.h"

#include "messaging/channel_name.h"

#include <boost/json/error.hpp>
#include <boost/json/parser.hpp>

#include <cmath>
#include <limits>

namespace ms::messaging {
namespace {

std::string_view sv(const boost::json::string& s) { return {s.data(), s.size()}; }

ValidationError error(std::string message, std::string field = {}) { return {std::move(message), std::move(field)}; }

// Parses a whole body; on failure fills `err` with a user-facing message.
std::optional<boost::json::value> parse_json(std::string_view body, std::size_t max_depth, ValidationError& err) {
  if (body.empty()) {
    err = error("malformed JSON: body is empty");
    return std::nullopt;
  }
  boost::json::parse_options opts;
  opts.max_depth = max_depth;
  boost::json::parser parser({}, opts);
  boost::system::error_code ec;
  std::size_t consumed = parser.write(body.data(), body.size(), ec);
  if (!ec) return parser.release();
  if (ec == boost::json::error::too_deep) {
    err = error("JSON nesting is deeper than " + std::to_string(max_depth) + " levels");
  } else {
    err = error("malformed JSON: " + ec.message() + " at offset " + std::to_string(consumed));
  }
  return std::nullopt;
}

// True if `v` nests no deeper than `limit` levels (a scalar is depth 0, `{}` depth 1).
// Recursion stops at limit + 1, so the stack stays bounded whatever `v` is.
bool within_depth(const boost::json::value& v, std::size_t limit) {
  if (const auto* a = v.if_array()) {
    if (limit == 0) return false;
    for (const auto& e : *a) {
      if (!within_depth(e, limit - 1)) return false;
    }
  } else if (const auto* o = v.if_object()) {
    if (limit == 0) return false;
    for (const auto& kv : *o) {
      if (!within_depth(kv.value(), limit - 1)) return false;
    }
  }
  return true;
}

// Boost.JSON 1.81 turns numbers outside the double range into infinities (1e400) and
// some into NaN (0e400). Neither can be written as JSON, and strict decoders (Go's
// encoding/json) reject their stand-ins, so a publish carrying one is refused instead of
// stored altered. Recursion depth is bounded by the caller (parser or within_depth).
bool all_numbers_finite(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_:
      return std::isfinite(v.get_double());
    case boost::json::kind::array:
      for (const auto& e : v.get_array()) {
        if (!all_numbers_finite(e)) return false;
      }
      return true;
    case boost::json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (!all_numbers_finite(kv.value())) return false;
      }
      return true;
    default:
      return true;
  }
}

// A non-empty string field within `max` bytes. Returns an error message, or nullopt with
// `out` set (left empty when the field is absent or null).
std::optional<ValidationError> optional_string(const boost::json::object& obj, std::string_view name,
                                               std::size_t max, std::optional<std::string>& out) {
  auto it = obj.find(name);
  if (it == obj.end() || it->value().is_null()) return std::nullopt;
  const std::string field(name);
  const auto* s = it->value().if_string();
  if (!s) return error(field + " must be a string", field);
  if (s->empty()) return error(field + " must not be empty", field);
  if (s->size() > max) return error(field + " is longer than " + std::to_string(max) + " bytes", field);
  out = std::string(sv(*s));
  return std::nullopt;
}

std::optional<ValidationError> read_attributes(const boost::json::object& obj, const Limits& limits,
                                               PublishInput& out) {
  auto it = obj.find("attributes");
  if (it == obj.end() || it->value().is_null()) return std::nullopt;
  const auto* attrs = it->value().if_object();
  if (!attrs) return error("attributes must be an object of string values", "attributes");
  if (attrs->size() > limits.max_attributes) {
    return error("at most " + std::to_string(limits.max_attributes) + " attributes are allowed", "attributes");
  }
  out.attributes.reserve(attrs->size());
  for (const auto& kv : *attrs) {
    std::string_view name(kv.key().data(), kv.key().size());
    if (name.empty()) return error("attribute names must not be empty", "attributes");
    if (name.size() > limits.max_attribute_key) {
      return error("attribute name is longer than " + std::to_string(limits.max_attribute_key) + " bytes",
                   "attributes");
    }
    const std::string field = "attributes." + std::string(name);
    const auto* value = kv.value().if_string();
    if (!value) return error("attribute values must be strings", field);
    if (value->size() > limits.max_attribute_value) {
      return error("attribute value is longer than " + std::to_string(limits.max_attribute_value) + " bytes",
                   field);
    }
    out.attributes.emplace_back(std::string(name), std::string(sv(*value)));
  }
  return std::nullopt;
}

// Everything but the channel. `Obj` is const when the caller keeps the JSON (data is
// copied) and non-const when it is ours to take apart (data is moved).
template <class Obj>
std::optional<ValidationError> read_message(Obj& obj, const Limits& limits, PublishInput& out) {
  auto data = obj.find("data");
  if (data == obj.end()) return error("data is required", "data");
  if (!all_numbers_finite(data->value())) {
    return error("data contains a number that is out of range for a double (such as 1e400)", "data");
  }
  if (auto e = read_attributes(obj, limits, out)) return e;
  if (auto e = optional_string(obj, "key", limits.max_key, out.key)) return e;
  if (auto e = optional_string(obj, "idempotency_key", limits.max_idempotency_key, out.idempotency_key)) return e;
  out.data = std::move(data->value());
  return std::nullopt;
}

template <class Obj>
PublishResult read_item(Obj& obj, const Limits& limits) {
  PublishInput in;
  auto it = obj.find("channel");
  if (it == obj.end() || it->value().is_null()) return error("channel is required", "channel");
  const auto* channel = it->value().if_string();
  if (!channel) return error("channel must be a string", "channel");
  if (!is_valid_channel(sv(*channel))) return error(channel_error(sv(*channel)), "channel");
  in.channel = std::string(sv(*channel));
  if (auto e = read_message(obj, limits, in)) return std::move(*e);
  return in;
}

std::size_t saturating_add(std::size_t a, std::size_t b) {
  return a > std::numeric_limits<std::size_t>::max() - b ? std::numeric_limits<std::size_t>::max() : a + b;
}

}  // namespace

PublishResult parse_publish_one(std::string_view body, std::string_view channel,
                                std::optional<std::string_view> header_idem, const Limits& limits) {
  if (!is_valid_channel(channel)) return error(channel_error(channel), "channel");

  ValidationError err;
  auto root = parse_json(body, limits.max_json_depth, err);
  if (!root) return err;
  auto* obj = root->if_object();
  if (!obj) return error("body must be a JSON object");

  PublishInput in;
  in.channel = std::string(channel);
  if (auto e = read_message(*obj, limits, in)) return std::move(*e);

  if (header_idem) {
    if (header_idem->empty()) return error("Idempotency-Key header must not be empty", "Idempotency-Key");
    if (header_idem->size() > limits.max_idempotency_key) {
      return error("Idempotency-Key header is longer than " + std::to_string(limits.max_idempotency_key) + " bytes",
                   "Idempotency-Key");
    }
    if (in.idempotency_key && *in.idempotency_key != *header_idem) {
      return error("idempotency_key in the body differs from the Idempotency-Key header", "idempotency_key");
    }
    in.idempotency_key = std::string(*header_idem);
  }
  return in;
}

PublishResult validate_item(const boost::json::value& item, const Limits& limits) {
  const auto* obj = item.if_object();
  if (!obj) return error("each message must be a JSON object");
  if (!within_depth(item, limits.max_json_depth)) {
    return error("JSON nesting is deeper than " + std::to_string(limits.max_json_depth) + " levels");
  }
  return read_item(*obj, limits);
}

std::variant<std::vector<PublishResult>, ValidationError> parse_publish_batch(std::string_view body,
                                                                             const Limits& limits) {
  ValidationError err;
  // {"messages":[ item ]}: the wrapper adds two levels above each item.
  auto root = parse_json(body, saturating_add(limits.max_json_depth, 2), err);
  if (!root) return err;
  auto* obj = root->if_object();
  if (!obj) return error(R"(body must be a JSON object with a "messages" array)");
  auto it = obj->find("messages");
  if (it == obj->end()) return error("messages is required", "messages");
  auto* messages = it->value().if_array();
  if (!messages) return error("messages must be an array", "messages");
  if (messages->empty()) return error("messages must not be empty", "messages");
  if (messages->size() > limits.max_batch) {
    return error("at most " + std::to_string(limits.max_batch) + " messages are allowed per batch", "messages");
  }

  std::vector<PublishResult> results;
  results.reserve(messages->size());
  for (std::size_t i = 0; i < messages->size(); ++i) {
    auto& item = (*messages)[i];
    const std::string prefix = "messages[" + std::to_string(i) + "]";
    // The parser bounded the depth already, so no within_depth() walk here.
    auto* item_obj = item.if_object();
    PublishResult r = item_obj ? read_item(*item_obj, limits) : PublishResult(error("each message must be a JSON object"));
    if (auto* e = std::get_if<ValidationError>(&r)) {
      e->field = e->field.empty() ? prefix : prefix + "." + e->field;
    }
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace ms::messaging
