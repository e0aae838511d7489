#include "redis/cluster_slots.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace ms::redis::cluster {

namespace {

constexpr std::array<std::uint16_t, 256> make_crc_table() {
  std::array<std::uint16_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    std::uint16_t c = static_cast<std::uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b) c = static_cast<std::uint16_t>((c & 0x8000) ? (c << 1) ^ 0x1021 : c << 1);
    t[static_cast<std::size_t>(i)] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

bool is_one_of(std::string_view verb, std::initializer_list<std::string_view> names) {
  return std::any_of(names.begin(), names.end(), [&](std::string_view n) { return iequals(verb, n); });
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::uint16_t crc16(std::string_view bytes) {
  std::uint16_t crc = 0;
  for (unsigned char c : bytes) crc = static_cast<std::uint16_t>((crc << 8) ^ kCrcTable[((crc >> 8) ^ c) & 0xff]);
  return crc;
}

int key_slot(std::string_view key) {
  auto open = key.find('{');
  if (open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) & (kSlotCount - 1);
}

std::optional<std::string_view> routing_key(const Command& cmd) {
  if (cmd.empty()) return std::nullopt;
  const std::string_view verb = cmd[0];
  if (is_one_of(verb, {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"})) {
    std::size_t numkeys = 0;
    if (cmd.size() < 4 || !parse_number(std::string_view(cmd[2]), numkeys) || numkeys == 0) return std::nullopt;
    return std::string_view(cmd[3]);
  }
  if (is_one_of(verb, {"XREAD", "XREADGROUP"})) {
    for (std::size_t i = 1; i + 1 < cmd.size(); ++i) {
      if (iequals(cmd[i], "STREAMS")) return std::string_view(cmd[i + 1]);
    }
    return std::nullopt;
  }
  // Container commands whose key follows a subcommand.
  if (is_one_of(verb, {"XGROUP", "XINFO", "OBJECT", "MEMORY"})) {
    if (cmd.size() < 3) return std::nullopt;
    return std::string_view(cmd[2]);
  }
  if (is_one_of(verb, {"PING",     "ECHO",    "INFO",   "TIME",    "SCRIPT",    "CLUSTER",  "CLIENT",
                       "AUTH",     "HELLO",   "SELECT", "CONFIG",  "COMMAND",   "DBSIZE",   "FLUSHALL",
                       "FLUSHDB",  "ASKING",  "READONLY", "READWRITE", "WAIT",  "MULTI",    "EXEC",
                       "DISCARD",  "PUBLISH", "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE",
                       "PUBSUB",   "SLOWLOG", "LATENCY", "ROLE",    "LASTSAVE",  "SAVE",     "BGSAVE",
                       "BGREWRITEAOF", "DEBUG", "QUIT",  "RESET",   "FUNCTION",  "SCAN",     "RANDOMKEY"})) {
    return std::nullopt;
  }
  if (cmd.size() < 2) return std::nullopt;
  return std::string_view(cmd[1]);  // most commands, SPUBLISH's channel included
}

std::optional<Redirect> parse_redirect(std::string_view error) {
  Redirect r;
  if (error.rfind("MOVED ", 0) == 0) {
    r.kind = Redirect::Kind::moved;
    error.remove_prefix(6);
  } else if (error.rfind("ASK ", 0) == 0) {
    r.kind = Redirect::Kind::ask;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  auto space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  if (!parse_number(error.substr(0, space), r.slot) || r.slot < 0 || r.slot >= kSlotCount) return std::nullopt;
  auto addr = error.substr(space + 1);
  auto colon = addr.rfind(':');  // IPv6 hosts hold colons too; the port follows the last
  if (colon == std::string_view::npos) return std::nullopt;
  if (!parse_number(addr.substr(colon + 1), r.port) || r.port == 0) return std::nullopt;
  r.host = std::string(addr.substr(0, colon));
  if (r.host.find_first_of(" \r\n") != std::string::npos) return std::nullopt;
  return r;
}

std::optional<std::vector<SlotRange>> parse_cluster_slots(const Reply& reply, std::string_view asked_host,
                                                          std::string* error) {
  auto fail = [error](std::string why) -> std::optional<std::vector<SlotRange>> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (reply.is_error()) return fail("CLUSTER SLOTS: " + reply.str);
  if (!reply.is_array()) return fail("CLUSTER SLOTS: not an array");
  std::vector<SlotRange> out;
  for (const auto& e : reply.elements) {
    if (!e.is_array() || e.elements.size() < 3) return fail("CLUSTER SLOTS: a range without a master");
    auto first = e.elements[0].as_int();
    auto last = e.elements[1].as_int();
    const auto& master = e.elements[2];
    if (!first || !last || *first < 0 || *last >= kSlotCount || *first > *last) {
      return fail("CLUSTER SLOTS: bad slot range");
    }
    if (!master.is_array() || master.elements.size() < 2 || !master.elements[0].is_string()) {
      return fail("CLUSTER SLOTS: bad node entry");
    }
    auto port = master.elements[1].as_int();
    if (!port || *port <= 0 || *port > 65535) return fail("CLUSTER SLOTS: bad port");
    SlotRange r;
    r.first = static_cast<int>(*first);
    r.last = static_cast<int>(*last);
    r.host = master.elements[0].str;
    if (r.host.empty() || r.host == "?") r.host = std::string(asked_host);
    r.port = static_cast<std::uint16_t>(*port);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace ms::redis::cluster
