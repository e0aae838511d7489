// Fuzzes what comes back from Redis: arbitrary bytes into the RESP reader
// (redis/resp_reader.h, hiredis's redisReader) and the conversion into Reply values.
// Properties:
// - however the bytes are split into reads (one piece, pseudo-random chunks taken
//   from the input, single bytes), the same replies come out, then the same error;
// - a reply's accessors agree with its type (as_int of integers and numeric strings);
// - encode_command(args) read back is one array of exactly those bulk strings;
// - cluster routing (redis/cluster_slots.h) of what a server may send: a slot map
//   parsed from any reply has ranges within 0..16383, ports and hosts; a redirect
//   parsed from any error has a slot in range and reads back the same; the
//   routing key of any command is one of its arguments, its slot in range.
#include "redis/cluster_slots.h"
#include "redis/resp_reader.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace ms::redis;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

bool same(const Reply& a, const Reply& b) {
  if (a.type != b.type || a.integer != b.integer || a.str != b.str || a.elements.size() != b.elements.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.elements.size(); ++i) {
    if (!same(a.elements[i], b.elements[i])) return false;
  }
  return true;
}

void check_accessors(const Reply& r, int depth = 0) {
  check(depth <= 16, "nesting is bounded");
  check(r.is_nil() == (r.type == Reply::Type::nil), "is_nil");
  check(r.is_error() == (r.type == Reply::Type::error), "is_error");
  check(r.is_array() == (r.type == Reply::Type::array), "is_array");
  check(r.is_integer() == (r.type == Reply::Type::integer), "is_integer");
  if (!r.is_array()) check(r.elements.empty(), "only arrays have elements");
  auto n = r.as_int();
  if (r.is_integer()) check(n && *n == r.integer, "as_int of an integer");
  if (n && r.is_string()) check(std::to_string(*n) == r.str || r.str.starts_with('-') || r.str.starts_with('0'),
                                "as_int of a string reads the whole decimal");
  if (!r.is_integer() && !r.is_string()) check(!n, "as_int only of integers and strings");
  for (const auto& e : r.elements) check_accessors(e, depth + 1);
}

struct Parsed {
  std::vector<Reply> replies;
  bool failed = false;
};

// Feeds `bytes` in pieces of the given sizes (cycled), taking out replies after each piece.
Parsed parse(std::string_view bytes, const std::vector<std::size_t>& pieces) {
  Parsed out;
  RespReader reader;
  std::size_t i = 0;
  for (std::size_t pos = 0; pos < bytes.size();) {
    const std::size_t n = std::min(pieces[i++ % pieces.size()], bytes.size() - pos);
    if (!reader.feed(bytes.substr(pos, n))) break;
    pos += n;
    while (auto r = reader.next()) out.replies.push_back(std::move(*r));
    if (reader.failed()) break;
  }
  out.failed = reader.failed();
  check(!out.failed || !reader.error().empty(), "a failed reader says why");
  check(!reader.next(), "nothing more after the last reply");
  return out;
}

void check_same(const Parsed& a, const Parsed& b) {
  check(a.failed == b.failed, "chunking does not change whether the stream fails");
  check(a.replies.size() == b.replies.size(), "chunking does not change the number of replies");
  for (std::size_t i = 0; i < a.replies.size(); ++i) check(same(a.replies[i], b.replies[i]), "chunking does not change replies");
}

void check_cluster_routing(const Reply& r) {
  if (auto map = cluster::parse_cluster_slots(r, "asked")) {
    for (const auto& range : *map) {
      check(range.first >= 0 && range.first <= range.last && range.last < cluster::kSlotCount, "slot ranges in bounds");
      check(range.port > 0 && !range.host.empty(), "every range has a master");
    }
  }
  if (r.is_error()) {
    if (auto red = cluster::parse_redirect(r.str)) {
      check(red->slot >= 0 && red->slot < cluster::kSlotCount && red->port > 0, "redirect in bounds");
      const std::string again = std::string(red->kind == cluster::Redirect::Kind::moved ? "MOVED " : "ASK ") +
                                std::to_string(red->slot) + " " + red->host + ":" + std::to_string(red->port);
      auto back = cluster::parse_redirect(again);
      check(back && back->slot == red->slot && back->host == red->host && back->port == red->port &&
                back->kind == red->kind,
            "a redirect reads back the same");
    }
  }
  for (const auto& e : r.elements) check_cluster_routing(e);
}

void check_command_round_trip(std::string_view input) {
  Command cmd;
  while (!input.empty() && cmd.size() < 16) {
    const auto nl = input.find('\n');
    cmd.emplace_back(input.substr(0, nl));
    if (nl == std::string_view::npos) break;
    input.remove_prefix(nl + 1);
  }
  if (cmd.empty()) return;
  if (auto key = cluster::routing_key(cmd)) {
    bool found = false;
    for (const auto& arg : cmd) found = found || (arg.data() == key->data() && arg.size() == key->size());
    check(found, "the routing key is one of the arguments");
    const int slot = cluster::key_slot(*key);
    check(slot >= 0 && slot < cluster::kSlotCount, "key slot in range");
  }
  std::string wire = encode_command(cmd);
  RespReader reader;
  check(reader.feed(wire), "an encoded command is valid RESP");
  auto r = reader.next();
  check(r.has_value() && r->is_array() && r->elements.size() == cmd.size(), "an encoded command is one array");
  for (std::size_t i = 0; i < cmd.size(); ++i) {
    check(r->elements[i].type == Reply::Type::string && r->elements[i].str == cmd[i], "arguments round trip");
  }
  check(!reader.next() && !reader.failed(), "nothing after the command");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const Parsed whole = parse(input, {input.size() + 1});
  for (const auto& r : whole.replies) {
    check_accessors(r);
    check_cluster_routing(r);
  }

  // Chunk sizes from the input's own bytes (1..16), so the fuzzer steers the splits.
  std::vector<std::size_t> pieces;
  for (std::size_t i = 0; i < std::min<std::size_t>(size, 8); ++i) pieces.push_back(1 + data[size - 1 - i] % 16);
  if (pieces.empty()) pieces.push_back(1);
  check_same(whole, parse(input, pieces));
  if (size <= 4096) check_same(whole, parse(input, {1}));

  check_command_round_trip(input);
  return 0;
}
