// What goes into a channel's Redis stream entry: the stored envelope JSON (without
// position, which is the entry id itself), gzip-compressed above a size threshold.
#pragma once

#include "base/result.h"
#include "messaging/error.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace ms::messaging {

struct StoredEntry {
  std::string payload;  // JSON text, or its gzip when `compressed`
  bool compressed = false;
};

// gzip when stored_json.size() >= compress_min_bytes (0 = always compress).
StoredEntry encode_for_store(std::string_view stored_json, std::size_t compress_min_bytes);

// The stored JSON back. Inflates when `compressed`. The result never exceeds `max_bytes`
// (errc::too_large, for plain payloads too); a broken compressed payload is errc::corrupt.
ms::Result<std::string> decode_from_store(std::string_view payload, bool compressed, std::size_t max_bytes);

}  // namespace ms::messaging
