// ULIDs: 128-bit, lexicographically time-ordered message ids (https://github.com/ulid/spec).
//
// Text form: 26 characters of Crockford base32 (0-9, A-Z without I, L, O, U), upper case.
// The first 10 characters are the 48-bit Unix time in milliseconds, the last 16 are
// 80 bits of randomness from OpenSSL's CSPRNG.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ms::messaging {

// Monotonic ULID generator.
//
// Not thread-safe: it holds the last timestamp and random part so that ids made by one
// instance are strictly increasing. Use one instance per thread (new_ulid() does that).
// Within one millisecond the random part is incremented by one; if it overflows, the
// timestamp is bumped by 1 ms. A clock that steps backwards is treated like the same
// millisecond, so ordering per generator survives clock adjustments.
class UlidGenerator {
 public:
  std::string next(std::int64_t unix_ms);

 private:
  std::uint64_t last_ms_ = 0;
  std::array<std::uint8_t, 10> random_{};  // big-endian 80-bit number
  bool started_ = false;
};

// A fresh ULID for the current wall clock, from a thread_local generator.
std::string new_ulid();

// True for a canonical (upper-case, 26-character, not overflowing 128 bits) ULID.
bool is_ulid(std::string_view text);

}  // namespace ms::messaging
