#include "messaging/channel_name.h"

#include <cstdio>

namespace ms::messaging {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == ':';
}

std::string describe_char(char c) {
  auto u = static_cast<unsigned char>(c);
  char buf[16];
  if (u >= 0x20 && u < 0x7f) {
    std::snprintf(buf, sizeof buf, "'%c'", c);
  } else {
    std::snprintf(buf, sizeof buf, "byte 0x%02x", u);
  }
  return buf;
}

// One validator for both grammars; returns an empty string when `name` is valid.
// `what` is the noun used in messages ("channel name" or "pattern").
std::string check(std::string_view name, bool allow_wildcards, const char* what) {
  const std::string noun = what;
  if (name.empty()) return noun + " must not be empty";
  if (name.size() > kMaxChannelLength) {
    return noun + " is longer than " + std::to_string(kMaxChannelLength) + " characters";
  }
  if (name.front() == '.' || name.back() == '.') return noun + " must not start or end with '.'";

  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view segment = name.substr(start, end - start);
    bool last = end == name.size();
    if (segment.empty()) return noun + " must not contain empty segments ('..')";
    if (allow_wildcards && segment == "*") {
      // fine anywhere
    } else if (allow_wildcards && segment == ">") {
      if (!last) return noun + " may use '>' only as its last segment";
    } else {
      for (std::size_t i = 0; i < segment.size(); ++i) {
        char c = segment[i];
        if (is_name_char(c)) continue;
        std::string msg = noun + " contains invalid character " + describe_char(c) + " at position " +
                          std::to_string(start + i) + " (allowed: letters, digits, '_', '-', ':' and '.'";
        if (allow_wildcards) {
          msg += "; '*' and '>' only as whole segments)";
        } else {
          msg += ")";
        }
        return msg;
      }
    }
    start = end + 1;
  }
  return {};
}

bool valid(std::string_view name, bool allow_wildcards) {
  if (name.empty() || name.size() > kMaxChannelLength) return false;
  std::size_t seg_len = 0;
  bool seg_is_star = false;
  bool seg_is_gt = false;  // the current segment is exactly ">" so far
  for (char c : name) {
    if (c == '.') {
      if (seg_len == 0 || seg_is_gt) return false;  // empty segment, or '>' not last
      seg_len = 0;
      seg_is_star = seg_is_gt = false;
      continue;
    }
    if (allow_wildcards && (c == '*' || c == '>')) {
      if (seg_len != 0) return false;
      seg_is_star = c == '*';
      seg_is_gt = c == '>';
      ++seg_len;
      continue;
    }
    if (!is_name_char(c) || seg_is_star || seg_is_gt) return false;
    ++seg_len;
  }
  return seg_len != 0;
}

// Pops the next segment off the front of `rest`.
std::string_view next_segment(std::string_view& rest) {
  std::size_t dot = rest.find('.');
  std::string_view seg = rest.substr(0, dot);
  rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
  return seg;
}

}  // namespace

bool is_valid_channel(std::string_view name) { return valid(name, false); }

bool is_valid_pattern(std::string_view pattern) { return valid(pattern, true); }

bool is_pattern(std::string_view name) {
  std::string_view rest = name;
  while (!rest.empty()) {
    std::string_view seg = next_segment(rest);
    if (seg == "*" || seg == ">") return true;
  }
  return false;
}

bool pattern_matches(std::string_view pattern, std::string_view channel) {
  if (!is_valid_pattern(pattern) || !is_valid_channel(channel)) return false;
  std::string_view p = pattern;
  std::string_view c = channel;
  // Both are valid, so neither has empty segments: "empty" means "no segments left".
  while (!p.empty()) {
    std::string_view ps = next_segment(p);
    if (ps == ">") return !c.empty();  // one or more remaining segments
    if (c.empty()) return false;
    std::string_view cs = next_segment(c);
    if (ps != "*" && ps != cs) return false;
  }
  return c.empty();
}

std::string channel_error(std::string_view name) { return check(name, false, "channel name"); }

std::string pattern_error(std::string_view pattern) { return check(pattern, true, "pattern"); }

}  // namespace ms::messaging
