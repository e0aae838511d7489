#include "subscribe/signer.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace ms::subscribe {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// 0..63 for an alphabet character, -1 for anything else (including '=').
constexpr std::array<signed char, 256> make_decode_table() {
  std::array<signed char, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<signed char>(i);
  return t;
}
constexpr auto kDecode = make_decode_table();

}  // namespace

std::optional<std::string> secret_key(std::string_view secret) {
  // Standard Webhooks libraries strip the prefix when present and decode the rest;
  // parse_create() separately insists on the prefix for secrets users send.
  if (secret.substr(0, kSecretPrefix.size()) == kSecretPrefix) secret.remove_prefix(kSecretPrefix.size());
  auto key = base64_decode(secret);
  if (!key || key->empty()) return std::nullopt;
  return key;
}

std::string sign(std::string_view key, std::string_view msg_id, std::int64_t timestamp_s, std::string_view body) {
  std::string content;
  const std::string ts = std::to_string(timestamp_s);
  content.reserve(msg_id.size() + ts.size() + body.size() + 2);
  content.append(msg_id).append(1, '.').append(ts).append(1, '.').append(body);

  static const unsigned char kNoKey = 0;  // HMAC wants a non-null pointer even for an empty key
  const void* key_ptr = key.empty() ? static_cast<const void*>(&kNoKey) : static_cast<const void*>(key.data());
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  if (!HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
            content.size(), mac.data(), &mac_len)) {
    mac_len = 0;  // only on an OpenSSL failure (out of memory); yields a signature no one accepts
  }
  return "v1," + base64_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac_len));
}

// Written here rather than taken from OpenSSL: EVP_DecodeBlock skips whitespace, keeps
// padding bytes in its output and cannot say how much padding there was, and secrets
// must be checked strictly (RFC 4648 section 3.3: reject characters outside the alphabet).
std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += kAlphabet[n >> 6 & 63];
    out += kAlphabet[n & 63];
  }
  if (std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t n = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += rest == 2 ? kAlphabet[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

// Strict: standard alphabet, length a multiple of 4, '=' only as one or two final
// characters, and the unused bits before the padding zero (so every byte string has
// exactly one accepted text and a secret cannot be spelled two ways).
std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t used = last ? 4 - pad : 4;
    std::uint32_t n = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      std::uint32_t v = 0;
      if (k < used) {
        signed char d = kDecode[static_cast<unsigned char>(text[i + k])];
        if (d < 0) return std::nullopt;
        v = static_cast<std::uint32_t>(d);
      }
      n = n << 6 | v;
    }
    if (used == 2 && (n & 0xFFFF) != 0) return std::nullopt;
    if (used == 3 && (n & 0xFF) != 0) return std::nullopt;
    out += static_cast<char>(n >> 16 & 0xFF);
    if (used >= 3) out += static_cast<char>(n >> 8 & 0xFF);
    if (used == 4) out += static_cast<char>(n & 0xFF);
  }
  return out;
}

}  // namespace ms::subscribe
