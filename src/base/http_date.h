// Retry-After (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date in any of
// its three forms (IMF-fixdate, RFC 850, asctime), as the webhook deliveries and
// the OTLP exporter both read it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ms {

// The delay the value asks for, in ms from now_ms, within [0, max_ms] (larger
// values saturate; a date in the past gives 0); nullopt when it is neither form.
// Spaces and tabs around the value are ignored.
std::optional<std::int64_t> retry_after_ms(std::string_view value, std::int64_t now_ms, std::int64_t max_ms);

}  // namespace ms
