// Fuzzes channel names and subscription patterns (messaging/channel_name.h) against
// a plain reference implementation of API.md's grammar and NATS matching, and with
// invariants. Input: "pattern\nchannel" (without '\n', the whole input is both).
// Properties:
// - is_valid_channel / is_valid_pattern / is_pattern agree with the reference, and
//   channel_error / pattern_error are empty exactly for valid names;
// - pattern_matches agrees with the reference matcher; only valid names match;
// - a valid channel is a valid pattern without wildcards that matches itself and
//   nothing else; ">" matches every valid channel, "*" every one-segment channel;
// - replacing any one segment of a matching channel's pattern by "*" still matches,
//   and "<pattern>.>" matches "<channel>.x" when both fit the length limit.
#include "messaging/channel_name.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace ms::messaging;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

std::vector<std::string_view> segments(std::string_view name) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto dot = name.find('.');
    out.push_back(name.substr(0, dot));
    if (dot == std::string_view::npos) return out;
    name.remove_prefix(dot + 1);
  }
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == ':';
}

// API.md "Conventions", read literally.
bool ref_valid(std::string_view name, bool wildcards) {
  if (name.empty() || name.size() > kMaxChannelLength) return false;
  const auto segs = segments(name);
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const auto s = segs[i];
    if (s.empty()) return false;
    if (wildcards && s == "*") continue;
    if (wildcards && s == ">" && i + 1 == segs.size()) continue;
    for (char c : s) {
      if (!name_char(c)) return false;
    }
  }
  return true;
}

bool ref_is_pattern(std::string_view name) {
  for (auto s : segments(name)) {
    if (s == "*" || s == ">") return true;
  }
  return false;
}

bool ref_matches(std::string_view pattern, std::string_view channel) {
  if (!ref_valid(pattern, true) || !ref_valid(channel, false)) return false;
  const auto p = segments(pattern);
  const auto c = segments(channel);
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ">") return c.size() > i;
    if (i >= c.size() || (p[i] != "*" && p[i] != c[i])) return false;
  }
  return p.size() == c.size();
}

void check_name(std::string_view name) {
  const bool channel = is_valid_channel(name);
  const bool pattern = is_valid_pattern(name);
  check(channel == ref_valid(name, false), "is_valid_channel agrees with the grammar");
  check(pattern == ref_valid(name, true), "is_valid_pattern agrees with the grammar");
  check(is_pattern(name) == ref_is_pattern(name), "is_pattern agrees");
  check(channel == channel_error(name).empty(), "channel_error empty exactly for valid channels");
  check(pattern == pattern_error(name).empty(), "pattern_error empty exactly for valid patterns");
  if (channel) {
    check(pattern && !is_pattern(name), "a channel is a pattern without wildcards");
    check(pattern_matches(name, name), "a channel matches itself as a pattern");
    check(pattern_matches(">", name), "'>' matches every channel");
    check(pattern_matches("*", name) == (name.find('.') == std::string_view::npos), "'*' matches one segment");
  }
}

void check_pair(std::string_view pattern, std::string_view channel) {
  const bool m = pattern_matches(pattern, channel);
  check(m == ref_matches(pattern, channel), "pattern_matches agrees with the reference");
  if (m) check(is_valid_pattern(pattern) && is_valid_channel(channel), "only valid names match");
  if (is_valid_channel(pattern) && is_valid_channel(channel)) {
    check(m == (pattern == channel), "a pattern without wildcards matches only itself");
  }
  if (!m) return;
  // Generalising a matching pattern keeps it matching.
  const auto segs = segments(pattern);
  for (std::size_t i = 0; i < segs.size(); ++i) {
    if (segs[i] == ">") continue;
    std::string wider;
    for (std::size_t j = 0; j < segs.size(); ++j) {
      if (j) wider += '.';
      wider += j == i ? std::string_view("*") : segs[j];
    }
    check(pattern_matches(wider, channel), "a '*' in place of a segment still matches");
  }
  const std::string deeper_pattern = std::string(pattern) + ".>";
  const std::string deeper_channel = std::string(channel) + ".x";
  if (segs.back() != ">" && deeper_pattern.size() <= kMaxChannelLength && deeper_channel.size() <= kMaxChannelLength) {
    check(pattern_matches(deeper_pattern, deeper_channel), "'<p>.>' matches '<c>.x'");
    check(!pattern_matches(deeper_pattern, channel), "'<p>.>' needs at least one more segment");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_name(input);
  const auto nl = input.find('\n');
  if (nl == std::string_view::npos) {
    check_pair(input, input);
    return 0;
  }
  const auto pattern = input.substr(0, nl);
  const auto channel = input.substr(nl + 1);
  check_name(pattern);
  check_name(channel);
  check_pair(pattern, channel);
  check_pair(channel, pattern);
  return 0;
}
