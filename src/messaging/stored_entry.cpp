#include "messaging/stored_entry.h"

#include "messaging/gzip.h"

namespace ms::messaging {

StoredEntry encode_for_store(std::string_view stored_json, std::size_t compress_min_bytes) {
  if (stored_json.size() >= compress_min_bytes) {
    std::string z = gzip_compress(stored_json);
    if (!z.empty()) return {std::move(z), true};
    // zlib could not allocate: storing uncompressed is still correct.
  }
  return {std::string(stored_json), false};
}

ms::Result<std::string> decode_from_store(std::string_view payload, bool compressed, std::size_t max_bytes) {
  if (compressed) return gzip_inflate(payload, max_bytes);
  if (payload.size() > max_bytes) return make_error_code(errc::too_large);
  return std::string(payload);
}

}  // namespace ms::messaging
