#include "messaging/gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>

namespace ms::messaging {
namespace {

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// zlib-format (RFC 1950) data, to check auto-detection.
std::string zlib_compress(std::string_view data) {
  uLongf len = compressBound(static_cast<uLong>(data.size()));
  std::string out(len, '\0');
  EXPECT_EQ(compress2(reinterpret_cast<Bytef*>(out.data()), &len, reinterpret_cast<const Bytef*>(data.data()),
                      static_cast<uLong>(data.size()), 6),
            Z_OK);
  out.resize(len);
  return out;
}

TEST(Gzip, RoundTrip) {
  for (std::string input : {std::string(), std::string("hello"), std::string(100000, 'x'), random_bytes(300000, 1),
                            std::string(R"({"data":{"order_id":42}})")}) {
    std::string z = gzip_compress(input);
    ASSERT_TRUE(looks_gzip(z));
    auto back = gzip_inflate(z, input.size());
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_EQ(*back, input);
  }
}

TEST(Gzip, LevelsAreClampedAndAllWork) {
  std::string input(5000, 'q');
  for (int level : {-5, -1, 0, 1, 9, 42}) {
    auto back = gzip_inflate(gzip_compress(input, level), 1 << 20);
    ASSERT_TRUE(back.has_value()) << level;
    EXPECT_EQ(*back, input);
  }
}

TEST(Gzip, InflatesZlibFormatToo) {
  std::string input = "zlib wrapped " + std::string(1000, 'z');
  std::string z = zlib_compress(input);
  EXPECT_FALSE(looks_gzip(z));
  auto back = gzip_inflate(z, 1 << 20);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, input);
}

TEST(Gzip, ConcatenatedMembers) {
  auto back = gzip_inflate(gzip_compress("abc") + gzip_compress("def"), 100);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, "abcdef");
}

TEST(Gzip, ExactLimitIsAllowedOneMoreIsNot) {
  std::string input(4096, 'a');
  std::string z = gzip_compress(input);
  EXPECT_TRUE(gzip_inflate(z, 4096).has_value());
  auto r = gzip_inflate(z, 4095);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::too_large);
  EXPECT_EQ(r.error().category().name(), std::string("messaging"));
}

TEST(Gzip, BombStopsAtLimit) {
  // 100 MB of zeros compresses to about 100 KB; inflating must stop at 1 MiB.
  std::string zeros(100u * 1000 * 1000, '\0');
  std::string bomb = gzip_compress(zeros, 9);
  zeros.clear();
  zeros.shrink_to_fit();
  ASSERT_LT(bomb.size(), 200u * 1000);
  auto r = gzip_inflate(bomb, 1 << 20);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::too_large);
  EXPECT_NE(r.error(), errc::corrupt);
}

TEST(Gzip, TruncatedIsCorrupt) {
  std::string z = gzip_compress(random_bytes(10000, 2));
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{10}, z.size() / 2,
                          z.size() - 4, z.size() - 1}) {
    auto r = gzip_inflate(std::string_view(z).substr(0, cut), 1 << 20);
    ASSERT_FALSE(r.has_value()) << cut;
    EXPECT_EQ(r.error(), errc::corrupt) << cut;
  }
}

TEST(Gzip, GarbageIsCorrupt) {
  for (std::string bad : {std::string("not gzip at all"), std::string("\x1f\x8b garbage"), random_bytes(1000, 3)}) {
    auto r = gzip_inflate(bad, 1 << 20);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::corrupt);
  }
}

TEST(Gzip, FlippedCrcIsCorrupt) {
  std::string z = gzip_compress("payload payload payload");
  z[z.size() - 6] ^= 0x55;  // inside the CRC32 trailer
  auto r = gzip_inflate(z, 1 << 20);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::corrupt);
}

TEST(Gzip, TrailingGarbageIsCorrupt) {
  auto r = gzip_inflate(gzip_compress("abc") + "xyz", 100);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::corrupt);
}

TEST(Gzip, LooksGzip) {
  EXPECT_TRUE(looks_gzip("\x1f\x8b"));
  EXPECT_FALSE(looks_gzip("\x1f"));
  EXPECT_FALSE(looks_gzip(""));
  EXPECT_FALSE(looks_gzip("{}"));
}

}  // namespace
}  // namespace ms::messaging
