// Wall-clock helpers: the service speaks RFC 3339 UTC with milliseconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ms {

// Milliseconds since the Unix epoch, wall clock.
std::int64_t unix_ms_now();

// "2026-12-01T18:00:00.123Z"
std::string format_rfc3339_ms(std::int64_t unix_ms);

}  // namespace ms
