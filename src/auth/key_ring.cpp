#include "auth/key_ring.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>

namespace ms::auth {

Scopes scope_from_name(std::string_view name) {
  if (name == "publish") return kPublish;
  if (name == "subscribe") return kSubscribe;
  if (name == "admin") return kAdmin;
  return 0;
}

Digest sha256(std::string_view text) {
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return d;
}

bool digests_equal(const Digest& a, const Digest& b) { return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0; }

KeyRing::KeyRing(const std::vector<Entry>& keys) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const auto& k : keys) {
    Digest d = sha256(k.key);
    Principal p;
    p.index = principals_.size();
    p.id = "key_";
    for (int i = 0; i < 8; ++i) {
      p.id += kHex[d[i] >> 4];
      p.id += kHex[d[i] & 0xf];
    }
    for (const auto& s : k.scopes) p.scopes |= scope_from_name(s);
    digests_.push_back(d);
    principals_.push_back(std::move(p));
  }
}

std::optional<std::string_view> KeyRing::bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() + 1) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return std::nullopt;
  }
  if (authorization[kScheme.size()] != ' ') return std::nullopt;
  auto token = authorization.substr(kScheme.size() + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

KeyRing::Outcome KeyRing::authenticate(std::optional<std::string_view> authorization) const {
  if (!authorization) return {nullptr, AuthFailure::missing};
  auto token = bearer_token(*authorization);
  if (!token) return {nullptr, AuthFailure::malformed};
  const Digest presented = sha256(*token);
  const Principal* found = nullptr;
  for (std::size_t i = 0; i < digests_.size(); ++i) {
    // No early exit: the time taken does not depend on which key (if any) matched.
    const bool same = digests_equal(digests_[i], presented);
    if (same && found == nullptr) found = &principals_[i];
  }
  if (found == nullptr) return {nullptr, AuthFailure::unknown};
  return {found, AuthFailure::missing};
}

}  // namespace ms::auth
