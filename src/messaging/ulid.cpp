#include "messaging/ulid.h"

#include "base/clock.h"

#include <openssl/rand.h>

#include <random>

namespace ms::messaging {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::uint64_t kMaxTime = (std::uint64_t{1} << 48) - 1;

void fill_random(std::array<std::uint8_t, 10>& out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) == 1) return;
  // RAND_bytes only fails if OpenSSL cannot seed itself; ids must still be produced, and
  // uniqueness (not secrecy) is what matters for them.
  thread_local std::mt19937_64 fallback{std::random_device{}()};
  for (auto& b : out) b = static_cast<std::uint8_t>(fallback());
}

// Adds one to the 80-bit big-endian number; returns false on overflow (wraps to zero).
bool increment(std::array<std::uint8_t, 10>& n) {
  for (auto it = n.rbegin(); it != n.rend(); ++it) {
    if (++*it != 0) return true;
  }
  return false;
}

std::string encode(std::uint64_t ms, const std::array<std::uint8_t, 10>& random) {
  std::string out(26, '0');
  for (int i = 9; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kAlphabet[ms & 31];
    ms >>= 5;
  }
  // 80 random bits = 16 groups of 5 bits, most significant first.
  std::size_t bit = 0;
  for (std::size_t i = 0; i < 16; ++i, bit += 5) {
    unsigned v = 0;
    for (std::size_t b = bit; b < bit + 5; ++b) {
      v = (v << 1) | ((random[b / 8] >> (7 - b % 8)) & 1u);
    }
    out[10 + i] = kAlphabet[v];
  }
  return out;
}

}  // namespace

std::string UlidGenerator::next(std::int64_t unix_ms) {
  std::uint64_t ms = unix_ms < 0 ? 0 : static_cast<std::uint64_t>(unix_ms);
  if (ms > kMaxTime) ms = kMaxTime;

  if (started_ && ms <= last_ms_) {
    ms = last_ms_;
    if (!increment(random_)) {
      // 2^80 ids in one millisecond cannot happen with real randomness, but stay correct:
      // move to the next millisecond with fresh randomness (saturating at the end of time).
      if (ms < kMaxTime) ++ms;
      fill_random(random_);
    }
  } else {
    fill_random(random_);
  }
  last_ms_ = ms;
  started_ = true;
  return encode(ms, random_);
}

std::string new_ulid() {
  thread_local UlidGenerator generator;
  return generator.next(ms::unix_ms_now());
}

bool is_ulid(std::string_view text) {
  if (text.size() != 26) return false;
  // 26 * 5 = 130 bits; the first character carries only 3, so it is at most '7'.
  if (text[0] < '0' || text[0] > '7') return false;
  for (char c : text) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U');
    if (!ok) return false;
  }
  return true;
}

}  // namespace ms::messaging
