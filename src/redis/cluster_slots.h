// Redis Cluster routing, as pure functions: a key's hash slot (CRC16 of the key
// or of its {hash tag}), the key that decides where a command runs, MOVED / ASK
// redirects, and the slot map of CLUSTER SLOTS. The cluster client is built on
// these; they take server input and are unit-tested and fuzzed on their own.
#pragma once

#include "redis/reply.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ms::redis::cluster {

constexpr int kSlotCount = 16384;

// CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with.
std::uint16_t crc16(std::string_view bytes);

// The slot of a key: if it holds a non-empty {...}, only the part between the
// first '{' and the next '}' is hashed.
int key_slot(std::string_view key);

// The argument whose slot decides where `cmd` runs; nullopt for commands that
// touch no key (PING, SCRIPT, PUBLISH, CLUSTER ...), which any node serves.
// Scripts: the first of their KEYS; XREAD/XREADGROUP: the first stream.
std::optional<std::string_view> routing_key(const Command& cmd);

struct Redirect {
  enum class Kind { moved, ask };
  Kind kind = Kind::moved;
  int slot = 0;
  std::string host;  // empty when the server announced none: the node that answered
  std::uint16_t port = 0;
};
// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381"; nullopt for other errors.
std::optional<Redirect> parse_redirect(std::string_view error);

struct SlotRange {
  int first = 0;
  int last = 0;
  std::string host;
  std::uint16_t port = 0;
};
// The master of each range in a CLUSTER SLOTS reply. A host that is empty or "?"
// (not announced) becomes `asked_host`, the node that answered. nullopt, with
// `error` set, when the reply is not a slot map.
std::optional<std::vector<SlotRange>> parse_cluster_slots(const Reply& reply, std::string_view asked_host,
                                                          std::string* error = nullptr);

}  // namespace ms::redis::cluster
