// Fuzzes gzip_inflate (Content-Encoding: gzip bodies, stored entries): never more output
// than the limit, and compress -> inflate is the identity.
#include "messaging/gzip.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ms::messaging;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr std::size_t kLimit = 1 << 20;

  auto out = gzip_inflate(input, kLimit);
  if (out && out->size() > kLimit) std::abort();
  if (!out && out.error() != errc::too_large && out.error() != errc::corrupt) std::abort();
  auto tiny = gzip_inflate(input, 16);
  if (tiny && tiny->size() > 16) std::abort();

  auto back = gzip_inflate(gzip_compress(input, size % 10), size);
  if (!back || *back != input) {
    std::fprintf(stderr, "gzip round trip failed\n");
    std::abort();
  }
  return 0;
}
