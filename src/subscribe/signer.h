// Standard Webhooks signatures: v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>
// where key is the base64-decoded part of the secret after "whsec_".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ms::subscribe {

// The raw key of a "whsec_..." secret (nullopt when it is not valid base64).
std::optional<std::string> secret_key(std::string_view secret);

// "v1,<base64 signature>"
std::string sign(std::string_view key, std::string_view msg_id, std::int64_t timestamp_s, std::string_view body);

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace ms::subscribe
