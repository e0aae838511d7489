// Fuzzes the W3C trace context headers a publisher sends (observe/trace_context.h).
// Input: a traceparent value, optionally '\n' and a tracestate value.
// Properties:
// - a parsed traceparent formats as version 00 and parses back to itself,
//   parse(format(x)) == x; a version-00 value formats back to exactly itself;
// - an accepted value is at least 55 characters, never version ff, ids non-zero;
// - a parsed tracestate has at most 32 valid members with distinct keys and
//   survives format → parse; truncation keeps an in-order subset within the limit;
//   put_tracestate keeps the list valid.
#include "observe/trace_context.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

using namespace ms::observe;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

void check_traceparent(std::string_view value) {
  auto ctx = parse_traceparent(value);
  if (!ctx) return;
  check(value.size() >= 55 && !value.starts_with("ff"), "accepted: long enough, not version ff");
  check(std::any_of(ctx->trace_id.begin(), ctx->trace_id.end(), [](auto b) { return b != 0; }), "trace id non-zero");
  check(std::any_of(ctx->span_id.begin(), ctx->span_id.end(), [](auto b) { return b != 0; }), "span id non-zero");
  const std::string text = format_traceparent(*ctx);
  check(text.size() == 55 && text.starts_with("00-"), "formatted as version 00");
  check(parse_traceparent(text) == ctx, "parse(format(x)) == x");
  if (value.starts_with("00-")) check(text == value, "a version-00 value formats back to itself");
  if (!value.starts_with("00-")) check(ctx->flags <= kSampledFlag, "a later version keeps only the sampled flag");
  check(new_span(*ctx).trace_id == ctx->trace_id, "a child span keeps the trace id");
}

void check_state_valid(const TraceState& s) {
  check(s.members.size() <= kMaxTraceStateMembers, "at most 32 members");
  for (std::size_t i = 0; i < s.members.size(); ++i) {
    check(is_valid_tracestate_key(s.members[i].key), "member keys are valid");
    check(is_valid_tracestate_value(s.members[i].value), "member values are valid");
    for (std::size_t j = 0; j < i; ++j) check(s.members[i].key != s.members[j].key, "keys are distinct");
  }
}

// b's members appear in a, in the same order.
bool is_subsequence(const TraceState& b, const TraceState& a) {
  std::size_t i = 0;
  for (const auto& m : a.members) {
    if (i < b.members.size() && b.members[i] == m) ++i;
  }
  return i == b.members.size();
}

void check_tracestate(std::string_view value, std::size_t limit) {
  auto state = parse_tracestate(value);
  if (!state) return;
  check_state_valid(*state);
  const std::string text = format_tracestate(*state);
  check(parse_tracestate(text) == state, "tracestate format -> parse round trip");

  TraceState cut = *state;
  truncate_tracestate(cut, limit);
  check(format_tracestate(cut).size() <= limit, "truncated within the limit");
  check(is_subsequence(cut, *state), "truncation removes whole members only");
  if (text.size() <= limit) check(cut == *state, "truncation leaves a fitting list alone");

  TraceState put = *state;
  const bool ok = put_tracestate(put, "msgbus", "00f067aa0ba902b7");
  check(ok && put.members.front().key == "msgbus", "put goes to the left");
  check_state_valid(put);
  if (!state->members.empty()) {
    TraceState again = *state;
    const auto last = state->members.back();
    check(put_tracestate(again, last.key, last.value) && again.members.front() == last &&
              again.members.size() == state->members.size(),
          "re-putting a member moves it to the left");
    check_state_valid(again);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  check_traceparent(input.substr(0, nl));
  check_traceparent(input);
  const std::size_t limit = size == 0 ? 512 : data[0] * 3u;  // 0..765
  if (nl != std::string_view::npos) check_tracestate(input.substr(nl + 1), limit);
  check_tracestate(input, limit);
  return 0;
}
