// Compact JSON text for envelopes.
//
// Boost.JSON 1.81 prints every double in exponent form (99.5 -> "9.95E1"). That is valid
// JSON, but envelopes are read by people and by every language's parser, so this writer
// prints doubles in the shortest round-trip form instead ("99.5", "1.0", "1e+300").
// Everything else matches boost::json::serialize.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace ms::messaging {

// Appends `s` as a quoted JSON string (escapes '"', '\\' and control characters;
// other bytes are copied as they are).
void append_json_string(std::string& out, std::string_view s);

// Appends the compact JSON text of `v`. Infinities (which the parser makes of numbers out
// of double range, e.g. 1e400) are written as 1e99999 / -1e99999, which parse back to the
// same value; NaN, which JSON cannot express and the parser never produces, as null.
// Recursive: callers bound the depth (outside input is depth-limited by the parser).
void append_json(std::string& out, const boost::json::value& v);

// Convenience wrapper around append_json.
std::string to_json(const boost::json::value& v);

}  // namespace ms::messaging
