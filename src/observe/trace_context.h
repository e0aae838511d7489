// W3C Trace Context (https://www.w3.org/TR/trace-context/, the Level 1
// Recommendation): the `traceparent` and `tracestate` header values, parsed,
// validated and formatted, and fresh trace and span ids.
//
// traceparent is "<version>-<trace-id>-<parent-id>-<trace-flags>" in lowercase hex:
// version 00 is exactly "00-<32 hex>-<16 hex>-<2 hex>" (55 characters). Version ff
// and all-zero ids are invalid; uppercase hex is invalid. A higher version is read
// with the version-00 layout when its first 55 characters fit it and the next
// one, if any, is '-'; of its flags only `sampled` is kept (the spec's rule for
// versions this code does not know). format_traceparent() always writes version 00.
// The functions take the value as the HTTP parser gives it (surrounding
// whitespace already stripped); they do not trim.
//
// tracestate is a list of at most 32 key=value members, the combined value of all
// tracestate fields joined with ','. Empty and whitespace-only members are allowed
// (and not counted); an invalid member, a repeated key or a 33rd member makes the
// whole value invalid, and it is then dropped (parse_tracestate() → nullopt), as the
// W3C test suite's strict level expects.
//
// Pure values and functions: no I/O, no shared state, safe on any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ms::observe {

inline constexpr std::uint8_t kSampledFlag = 0x01;

struct TraceContext {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> span_id{};  // traceparent's parent-id
  std::uint8_t flags = 0;

  bool sampled() const { return (flags & kSampledFlag) != 0; }
  friend bool operator==(const TraceContext&, const TraceContext&) = default;
};

// nullopt for anything the spec says to ignore (then start a new trace).
std::optional<TraceContext> parse_traceparent(std::string_view value);

// "00-<trace-id>-<span-id>-<flags>"; flags are written as they are.
std::string format_traceparent(const TraceContext& context);

// Lowercase hex of an id (for logs: "every line carries the trace id").
std::string to_hex(std::span<const std::uint8_t> bytes);

// --- tracestate -------------------------------------------------------------------

inline constexpr std::size_t kMaxTraceStateMembers = 32;
// What vendors SHOULD propagate at least; the default size for truncate_tracestate().
inline constexpr std::size_t kTraceStatePropagateChars = 512;

struct TraceStateMember {
  std::string key;
  std::string value;
  friend bool operator==(const TraceStateMember&, const TraceStateMember&) = default;
};

// Leftmost member first (the vendor that last touched the trace).
struct TraceState {
  std::vector<TraceStateMember> members;
  friend bool operator==(const TraceState&, const TraceState&) = default;
};

// Level 1 keys: lcalpha 0*255(lcalpha / DIGIT / "_" / "-" / "*" / "/"), or
// tenant "@" system with tenant (lcalpha / DIGIT) 0*240(...) and system lcalpha 0*13(...).
bool is_valid_tracestate_key(std::string_view key);
// 1..256 printable ASCII characters except ',' and '=', not ending in a space.
bool is_valid_tracestate_value(std::string_view value);

// The members of a combined tracestate value; an empty state for "" or " , ";
// nullopt when the value is invalid and must be dropped whole.
std::optional<TraceState> parse_tracestate(std::string_view combined);

// "key1=value1,key2=value2" (no optional whitespace).
std::string format_tracestate(const TraceState& state);

// Removes whole members until format_tracestate() is at most `max_chars` long:
// first members longer than 128 characters, rightmost first, then from the right.
void truncate_tracestate(TraceState& state, std::size_t max_chars = kTraceStatePropagateChars);

// Sets `key` to `value` as the leftmost member (moving it if present); drops the
// rightmost member beyond 32. False, and no change, when key or value is invalid.
bool put_tracestate(TraceState& state, std::string_view key, std::string_view value);

// --- new ids ----------------------------------------------------------------------

// Fills its argument with random bytes; the default is OpenSSL's CSPRNG.
using RandomFill = std::function<void(std::span<std::uint8_t>)>;

// A new trace: random non-zero trace and span ids.
TraceContext new_trace(bool sampled, const RandomFill& fill = {});
// A child span of `parent`: same trace id and flags, a new random non-zero span id.
TraceContext new_span(const TraceContext& parent, const RandomFill& fill = {});

}  // namespace ms::observe
