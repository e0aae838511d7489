// API keys (API.md "Conventions", "Security"): the configured keys, held only as
// SHA-256 hashes, and the check of an "Authorization: Bearer <key>" header.
//
// Immutable after construction, so one KeyRing is shared by every shard's thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ms::auth {

// Scopes as bits. admin implies the others where a route allows them.
enum Scope : std::uint8_t { kPublish = 1, kSubscribe = 2, kAdmin = 4 };
using Scopes = std::uint8_t;

// "publish" → kPublish, ...; 0 for an unknown name.
Scopes scope_from_name(std::string_view name);

using Digest = std::array<unsigned char, 32>;
Digest sha256(std::string_view text);

// A caller that presented a known key.
struct Principal {
  std::size_t index = 0;  // position in the ring (for per-key state such as rate buckets)
  std::string id;         // "key_" + 16 hex digits of the key's hash: safe to store and log
  Scopes scopes = 0;
};

enum class AuthFailure {
  missing,    // no Authorization header
  malformed,  // not "Bearer <token>"
  unknown,    // no such key
};

class KeyRing {
 public:
  struct Entry {
    std::string key;  // the secret; hashed at construction and not kept
    std::vector<std::string> scopes;
  };
  explicit KeyRing(const std::vector<Entry>& keys);

  bool empty() const { return principals_.empty(); }
  std::size_t size() const { return principals_.size(); }

  // The caller behind an Authorization header value, compared in constant time
  // (every stored hash is compared, whether or not one matched).
  struct Outcome {
    const Principal* principal = nullptr;
    AuthFailure failure = AuthFailure::missing;  // when principal is null
  };
  Outcome authenticate(std::optional<std::string_view> authorization) const;

  // The token of "Bearer <token>" (scheme case-insensitive), or nullopt.
  static std::optional<std::string_view> bearer_token(std::string_view authorization);

 private:
  std::vector<Digest> digests_;
  std::vector<Principal> principals_;
};

// Constant-time equality of two digests.
bool digests_equal(const Digest& a, const Digest& b);

}  // namespace ms::auth
