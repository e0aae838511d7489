// The message envelope, as stored, returned and delivered (API.md, "Messages").
//
// Storage trick: the stream entry holds the envelope WITHOUT "position", because the
// position is the stream entry id and only known after XADD. Readers splice it in at a
// fixed offset right after "channel" (with_position), so serving a stored message needs
// no JSON parse or re-serialisation.
#pragma once

#include "base/result.h"
#include "messaging/error.h"
#include "messaging/stored_entry.h"

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ms::messaging {

struct Envelope {
  std::string id;        // ULID
  std::string channel;
  std::string position;  // stream entry id, empty until stored
  std::int64_t published_at_ms = 0;
  std::optional<std::string> key;
  std::vector<std::pair<std::string, std::string>> attributes;  // in given order
  boost::json::value data;
};

// Serialises WITHOUT position, in exactly this field order:
// {"id":"<id>","channel":"<channel>","published_at":"<rfc3339>",["key":...,]["attributes":{...},]"data":<data>}
// "key" is omitted when absent, "attributes" when empty. Doubles in `data` are written in
// shortest round-trip form (see json_text.h).
std::string serialize_stored(const Envelope& e);

// Offset in serialize_stored()'s output right after `{"id":"<id>","channel":"<channel>",`,
// where `"position":"<pos>",` goes. Valid when id and channel need no JSON escaping, which
// holds for ULIDs and valid channel names.
std::size_t position_splice_offset(std::string_view id, std::string_view channel);

// Stored JSON (uncompressed, without position) + position -> full envelope JSON text.
// Finds the offset by scanning the prefix; returns stored_json unchanged if the prefix is
// not as serialize_stored() writes it.
std::string with_position(std::string_view stored_json, std::string_view position);

// Parses a full envelope (or a stored one: "position" may be absent). Unknown fields are
// ignored; a null "key" counts as absent. Errors: errc::invalid_envelope.
ms::Result<Envelope> parse_envelope(std::string_view full_json);

// "2026-12-01T18:00:00.123Z" -> Unix ms. Accepts 'Z' or a +hh:mm / -hh:mm offset and any
// number of fractional digits (truncated to ms). Exposed for tests and readers.
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text);

}  // namespace ms::messaging
