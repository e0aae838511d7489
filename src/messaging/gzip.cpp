#include "messaging/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <memory>

namespace ms::messaging {
namespace {

constexpr int kGzipWindowBits = 15 + 16;  // 31: gzip wrapper
constexpr int kAutoWindowBits = 15 + 32;  // 47: detect gzip or zlib
constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kMaxUInt = std::numeric_limits<uInt>::max();

// zlib takes non-const pointers for input it never writes.
Bytef* in_ptr(const char* p) { return reinterpret_cast<Bytef*>(const_cast<char*>(p)); }

}  // namespace

std::string gzip_compress(std::string_view data, int level) {
  level = std::clamp(level, -1, 9);
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};

  std::string out;
  // deflateBound is exact enough to make one pass the common case.
  out.resize(deflateBound(&zs, static_cast<uLong>(std::min<std::size_t>(data.size(), kMaxUInt))) + 32);
  std::size_t produced = 0;
  const char* next_in = data.data();
  std::size_t left_in = data.size();
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && left_in > 0) {
      std::size_t n = std::min(left_in, kMaxUInt);
      zs.next_in = in_ptr(next_in);
      zs.avail_in = static_cast<uInt>(n);
      next_in += n;
      left_in -= n;
    }
    if (produced == out.size()) out.resize(out.size() * 2);
    std::size_t room = std::min(out.size() - produced, kMaxUInt);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(room);
    rc = deflate(&zs, left_in == 0 ? Z_FINISH : Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&zs);
      return {};
    }
  }
  deflateEnd(&zs);
  out.resize(produced);
  return out;
}

ms::Result<std::string> gzip_inflate(std::string_view data, std::size_t max_output) {
  z_stream zs{};
  if (inflateInit2(&zs, kAutoWindowBits) != Z_OK) return make_error_code(errc::internal);
  struct End {
    void operator()(z_stream* s) const { inflateEnd(s); }
  };
  std::unique_ptr<z_stream, End> guard(&zs);

  // Inflate straight into the result, never letting it grow past max_output + 1 bytes:
  // producing that one extra byte is how we learn the limit is exceeded.
  const std::size_t cap = max_output < std::numeric_limits<std::size_t>::max() ? max_output + 1 : max_output;
  std::string out;
  out.resize(std::min(cap, std::max<std::size_t>(256, data.size() * 4)));
  std::size_t produced = 0;
  const char* next_in = data.data();
  std::size_t left_in = data.size();

  for (;;) {
    if (zs.avail_in == 0 && left_in > 0) {
      std::size_t n = std::min(left_in, kMaxUInt);
      zs.next_in = in_ptr(next_in);
      zs.avail_in = static_cast<uInt>(n);
      next_in += n;
      left_in -= n;
    }
    if (produced == out.size()) out.resize(std::min(cap, std::max(out.size() * 2, kChunk)));
    std::size_t room = std::min(out.size() - produced, kMaxUInt);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(room);
    int rc = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (produced > max_output) return make_error_code(errc::too_large);

    switch (rc) {
      case Z_OK:
        continue;
      case Z_STREAM_END: {
        // All input is one contiguous buffer, so what is left starts at zs.next_in.
        std::string_view rest(reinterpret_cast<const char*>(zs.next_in), zs.avail_in + left_in);
        if (rest.empty()) {
          out.resize(produced);
          return out;
        }
        // Another gzip member may follow (as gunzip accepts); anything else is garbage.
        if (!looks_gzip(rest)) return make_error_code(errc::corrupt);
        if (inflateReset(&zs) != Z_OK) return make_error_code(errc::internal);
        continue;
      }
      case Z_BUF_ERROR:
        // No progress: either zlib needs input we have not handed over yet, or the input
        // ended before the stream did (truncated).
        if (zs.avail_in == 0 && left_in > 0) continue;
        if (zs.avail_out == 0) continue;  // output full: grow and retry
        return make_error_code(errc::corrupt);
      case Z_MEM_ERROR:
        return make_error_code(errc::internal);
      default:  // Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR
        return make_error_code(errc::corrupt);
    }
  }
}

bool looks_gzip(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f && static_cast<unsigned char>(data[1]) == 0x8b;
}

}  // namespace ms::messaging
