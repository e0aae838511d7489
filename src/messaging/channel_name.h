// Channel names and NATS-style subscription patterns.
//
// A channel name is 1-200 characters: segments of ASCII letters, digits, '_', '-' and ':'
// separated by single dots ("orders.created"). A pattern may in addition use a segment
// that is exactly "*" (matches one segment) and, as its last segment, exactly ">"
// (matches one or more trailing segments). Valid names never need escaping in JSON,
// Redis keys or URLs, which the envelope codec relies on.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ms::messaging {

inline constexpr std::size_t kMaxChannelLength = 200;

bool is_valid_channel(std::string_view name);
bool is_valid_pattern(std::string_view pattern);

// True if some segment is a wildcard ("*" or ">"); says nothing about validity.
bool is_pattern(std::string_view name);

// NATS semantics. False if `pattern` is not a valid pattern or `channel` not a valid
// channel; a pattern without wildcards matches only the identical channel.
bool pattern_matches(std::string_view pattern, std::string_view channel);

// Why `name` is not a valid channel, for error messages; empty if it is valid.
std::string channel_error(std::string_view name);

// Why `pattern` is not a valid pattern; empty if it is valid.
std::string pattern_error(std::string_view pattern);

}  // namespace ms::messaging
