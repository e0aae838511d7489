#include "observe/trace_context.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>

namespace ms::observe {

namespace {

constexpr std::size_t kTraceparentSize = 55;    // version 00, and the prefix read of later versions
constexpr std::size_t kLongMemberChars = 128;   // removed first when truncating
constexpr std::size_t kMaxKeyChars = 256;
constexpr std::size_t kMaxTenantChars = 241;
constexpr std::size_t kMaxSystemChars = 14;
constexpr std::size_t kMaxValueChars = 256;

// HEXDIGLC; -1 for anything else (uppercase included).
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Exactly 2 * out.size() lowercase hex digits.
bool parse_hex(std::string_view text, std::span<std::uint8_t> out) {
  if (text.size() != out.size() * 2) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit(text[2 * i]);
    const int lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

bool all_zero(std::span<const std::uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

bool is_lcalpha(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_key_char(char c) { return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/'; }

// first (1 char) then up to max - 1 key chars.
bool is_key_part(std::string_view part, bool digit_first, std::size_t max) {
  if (part.empty() || part.size() > max) return false;
  if (!is_lcalpha(part[0]) && !(digit_first && is_digit(part[0]))) return false;
  return std::all_of(part.begin() + 1, part.end(), is_key_char);
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

std::size_t member_chars(const TraceStateMember& m) { return m.key.size() + 1 + m.value.size(); }

void default_fill(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();  // no entropy: nothing sane to do
}

// Random bytes, never all zero (the spec makes all-zero ids invalid). A source
// that keeps returning zeros is broken; the id is then made valid by hand.
template <std::size_t N>
std::array<std::uint8_t, N> nonzero_id(const RandomFill& fill) {
  std::array<std::uint8_t, N> id{};
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (fill) {
      fill(id);
    } else {
      default_fill(id);
    }
    if (!all_zero(id)) return id;
  }
  id[N - 1] = 1;
  return id;
}

}  // namespace

std::optional<TraceContext> parse_traceparent(std::string_view value) {
  if (value.size() < kTraceparentSize || value[2] != '-') return std::nullopt;
  std::uint8_t version = 0;
  if (!parse_hex(value.substr(0, 2), std::span(&version, 1)) || version == 0xff) return std::nullopt;
  if (version == 0 && value.size() != kTraceparentSize) return std::nullopt;
  if (value.size() > kTraceparentSize && value[kTraceparentSize] != '-') return std::nullopt;
  if (value[35] != '-' || value[52] != '-') return std::nullopt;
  TraceContext ctx;
  if (!parse_hex(value.substr(3, 32), ctx.trace_id) || all_zero(ctx.trace_id)) return std::nullopt;
  if (!parse_hex(value.substr(36, 16), ctx.span_id) || all_zero(ctx.span_id)) return std::nullopt;
  if (!parse_hex(value.substr(53, 2), std::span(&ctx.flags, 1))) return std::nullopt;
  if (version != 0) ctx.flags &= kSampledFlag;  // only the flags this version defines
  return ctx;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const std::uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string format_traceparent(const TraceContext& context) {
  std::string out = "00-";
  out.reserve(kTraceparentSize);
  out += to_hex(context.trace_id);
  out += '-';
  out += to_hex(context.span_id);
  out += '-';
  out += to_hex(std::span(&context.flags, 1));
  return out;
}

// --- tracestate -------------------------------------------------------------------

bool is_valid_tracestate_key(std::string_view key) {
  const auto at = key.find('@');
  if (at == std::string_view::npos) return is_key_part(key, false, kMaxKeyChars);
  return is_key_part(key.substr(0, at), true, kMaxTenantChars) &&
         is_key_part(key.substr(at + 1), false, kMaxSystemChars);
}

bool is_valid_tracestate_value(std::string_view value) {
  if (value.empty() || value.size() > kMaxValueChars || value.back() == ' ') return false;
  return std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '='; });
}

std::optional<TraceState> parse_tracestate(std::string_view combined) {
  TraceState state;
  for (;;) {
    const auto comma = combined.find(',');
    const std::string_view member = trim_ows(combined.substr(0, comma));
    if (!member.empty()) {
      const auto eq = member.find('=');
      if (eq == std::string_view::npos) return std::nullopt;
      const std::string_view key = member.substr(0, eq);
      const std::string_view value = member.substr(eq + 1);
      if (!is_valid_tracestate_key(key) || !is_valid_tracestate_value(value)) return std::nullopt;
      if (state.members.size() == kMaxTraceStateMembers) return std::nullopt;
      for (const auto& m : state.members) {
        if (m.key == key) return std::nullopt;  // one entry per key
      }
      state.members.push_back({std::string(key), std::string(value)});
    }
    if (comma == std::string_view::npos) break;
    combined.remove_prefix(comma + 1);
  }
  return state;
}

std::string format_tracestate(const TraceState& state) {
  std::string out;
  for (const auto& m : state.members) {
    if (!out.empty()) out += ',';
    out += m.key;
    out += '=';
    out += m.value;
  }
  return out;
}

void truncate_tracestate(TraceState& state, std::size_t max_chars) {
  auto& members = state.members;
  std::size_t total = 0;
  for (const auto& m : members) total += member_chars(m);
  if (!members.empty()) total += members.size() - 1;  // commas
  auto remove = [&](std::size_t i) {
    total -= member_chars(members[i]) + (members.size() > 1 ? 1 : 0);
    members.erase(members.begin() + static_cast<std::ptrdiff_t>(i));
  };
  for (std::size_t i = members.size(); i-- > 0 && total > max_chars;) {
    if (member_chars(members[i]) > kLongMemberChars) remove(i);
  }
  while (!members.empty() && total > max_chars) remove(members.size() - 1);
}

bool put_tracestate(TraceState& state, std::string_view key, std::string_view value) {
  if (!is_valid_tracestate_key(key) || !is_valid_tracestate_value(value)) return false;
  auto& members = state.members;
  std::erase_if(members, [&](const TraceStateMember& m) { return m.key == key; });
  members.insert(members.begin(), {std::string(key), std::string(value)});
  if (members.size() > kMaxTraceStateMembers) members.resize(kMaxTraceStateMembers);
  return true;
}

// --- new ids ----------------------------------------------------------------------

TraceContext new_trace(bool sampled, const RandomFill& fill) {
  TraceContext ctx;
  ctx.trace_id = nonzero_id<16>(fill);
  ctx.span_id = nonzero_id<8>(fill);
  ctx.flags = sampled ? kSampledFlag : 0;
  return ctx;
}

TraceContext new_span(const TraceContext& parent, const RandomFill& fill) {
  TraceContext ctx = parent;
  ctx.span_id = nonzero_id<8>(fill);
  return ctx;
}

}  // namespace ms::observe
