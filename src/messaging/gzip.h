// gzip compression for stored envelopes and inflation of `Content-Encoding: gzip` bodies.
//
// gzip_inflate() is the one place that turns outside compressed data into bytes, so it
// enforces the caller's size limit while inflating: a gzip bomb is stopped after at most
// `max_output` bytes (plus one 64 KiB scratch buffer) of memory, never inflated first.
#pragma once

#include "base/result.h"
#include "messaging/error.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace ms::messaging {

// gzip format (RFC 1952). `level` is clamped to zlib's -1 (default) .. 9. Returns an empty
// string only if zlib cannot allocate its state.
std::string gzip_compress(std::string_view data, int level = 6);

// Inflates gzip or zlib data (auto-detected). Concatenated gzip members are accepted, as
// gunzip does. Errors: errc::too_large as soon as the output would exceed `max_output`;
// errc::corrupt for truncated, corrupt or trailing non-gzip data; errc::internal if zlib
// cannot allocate its state.
ms::Result<std::string> gzip_inflate(std::string_view data, std::size_t max_output);

// True if `data` starts with the gzip magic bytes 1f 8b.
bool looks_gzip(std::string_view data);

}  // namespace ms::messaging
