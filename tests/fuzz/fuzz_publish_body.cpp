// Fuzzes everything a publisher controls: publish bodies (single and batch), channel
// names and patterns. Beyond "no crash, no leak, no UB" it checks properties:
// - channel_error()/pattern_error() agree with is_valid_channel()/is_valid_pattern();
// - every valid channel is a valid pattern that matches exactly itself;
// - an accepted publish survives serialize_stored -> with_position -> parse_envelope.
#include "messaging/channel_name.h"
#include "messaging/envelope.h"
#include "messaging/publish_request.h"

#include <boost/json/value.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

using namespace ms::messaging;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

// Equality that forgives the last bits of doubles: Boost.JSON 1.81's parser is not always
// correctly rounded, so text -> double -> shortest text -> double may move by one ulp.
bool same_json(const boost::json::value& a, const boost::json::value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case boost::json::kind::double_: {
      double x = a.get_double(), y = b.get_double();
      return x == y || std::fabs(x - y) <= 1e-14 * std::fmax(std::fabs(x), std::fabs(y));
    }
    case boost::json::kind::array: {
      const auto &x = a.get_array(), &y = b.get_array();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!same_json(x[i], y[i])) return false;
      }
      return true;
    }
    case boost::json::kind::object: {
      const auto &x = a.get_object(), &y = b.get_object();
      if (x.size() != y.size()) return false;
      for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
        if (i->key() != j->key() || !same_json(i->value(), j->value())) return false;
      }
      return true;
    }
    default:
      return a == b;
  }
}

void check_envelope_round_trip(const PublishInput& in) {
  Envelope e;
  e.id = "01JDX3N6Y7Q8W2T4Z5A9B0C1D2";
  e.channel = in.channel;
  e.published_at_ms = 1733076000123;
  e.key = in.key;
  e.attributes = in.attributes;
  e.data = in.data;
  std::string stored = serialize_stored(e);
  check(stored.compare(0, position_splice_offset(e.id, e.channel),
                       R"({"id":")" + e.id + R"(","channel":")" + e.channel + R"(",)") == 0,
        "splice offset");
  auto back = parse_envelope(with_position(stored, "1733076000123-0"));
  check(back.has_value(), "stored envelope parses");
  check(back->channel == e.channel && back->position == "1733076000123-0" && back->key == e.key &&
            back->attributes == e.attributes && back->published_at_ms == e.published_at_ms,
        "envelope fields round trip");
  check(same_json(back->data, e.data), "envelope data round trips");
}

void check_names(std::string_view name) {
  bool channel = is_valid_channel(name);
  bool pattern = is_valid_pattern(name);
  check(channel == channel_error(name).empty(), "channel_error agrees");
  check(pattern == pattern_error(name).empty(), "pattern_error agrees");
  if (channel) {
    check(pattern, "a channel is a pattern");
    check(!is_pattern(name), "a channel has no wildcard");
    check(pattern_matches(name, name), "an exact pattern matches itself");
  }
  if (pattern) check(pattern_matches(">", name) == channel, "'>' matches every channel");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_batch = 100;  // keep single runs fast; the limit itself is unit-tested

  auto one = parse_publish_one(input, "orders.created", std::nullopt, limits);
  if (auto* in = std::get_if<PublishInput>(&one)) check_envelope_round_trip(*in);
  parse_publish_one(input, "orders.created", std::string_view("idem-1"), limits);

  auto batch = parse_publish_batch(input, limits);
  if (auto* items = std::get_if<std::vector<PublishResult>>(&batch)) {
    for (const auto& item : *items) {
      if (auto* in = std::get_if<PublishInput>(&item)) {
        check(is_valid_channel(in->channel), "batch item channel is valid");
        check_envelope_round_trip(*in);
      }
    }
  }

  // Names: the whole input, and "pattern\nchannel" split at the first newline.
  check_names(input);
  if (auto nl = input.find('\n'); nl != std::string_view::npos) {
    std::string_view pattern = input.substr(0, nl);
    std::string_view channel = input.substr(nl + 1);
    check_names(pattern);
    check_names(channel);
    if (pattern_matches(pattern, channel)) {
      check(is_valid_pattern(pattern) && is_valid_channel(channel), "only valid names match");
    }
  }
  return 0;
}
