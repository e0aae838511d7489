#include "publish/channel_reader.h"

#include "messaging/envelope.h"
#include "messaging/stored_entry.h"

#include <charconv>

namespace ms::publish {

namespace {

std::optional<std::string> field(const redis::Reply& fields, std::string_view name) {
  for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    if (fields.elements[i].str == name) return fields.elements[i + 1].str;
  }
  return std::nullopt;
}


}  // namespace

bool is_valid_position(std::string_view s) {
  if (s.empty() || s.size() > 41) return false;
  auto dash = s.find('-');
  auto digits = [](std::string_view d) {  // a uint64 in decimal
    if (d.empty() || d.size() > 20) return false;
    for (char c : d) {
      if (c < '0' || c > '9') return false;
    }
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
    return ec == std::errc() && end == d.data() + d.size();
  };
  if (dash == std::string_view::npos) return digits(s);
  return digits(s.substr(0, dash)) && digits(s.substr(dash + 1));
}

ChannelReader::ChannelReader(redis::Client& redis, messaging::RedisKeys keys, std::size_t max_message_bytes)
    : redis_(redis), keys_(std::move(keys)), max_message_bytes_(max_message_bytes) {}

boost::asio::awaitable<ReadResult<ChannelPage>> ChannelReader::read(std::string channel, std::string after,
                                                                     std::size_t limit) {
  std::vector<redis::Command> cmds;
  // "(" + the largest id is an empty range that Redis refuses: ask for nothing instead.
  bool at_end = after == "18446744073709551615-18446744073709551615";
  if (at_end) {
    cmds.push_back({"XRANGE", keys_.log(channel), "+", "-"});  // start after end: always empty
  } else {
    cmds.push_back({"XRANGE", keys_.log(channel), after.empty() ? "-" : "(" + after, "+", "COUNT",
                    std::to_string(limit + 1)});
  }
  cmds.push_back({"EXISTS", keys_.meta(channel)});
  auto rs = co_await redis_.exec_many(std::move(cmds));
  for (auto& r : rs) {
    if (auto e = redis::error_text(r); !e.empty()) co_return ReadResult<ChannelPage>{std::nullopt, e};
  }
  ChannelPage page;
  const auto& entries = rs[0]->elements;
  page.exists = !entries.empty() || rs[1]->integer > 0;
  for (std::size_t i = 0; i < entries.size() && i < limit; ++i) {
    const auto& entry = entries[i];
    if (entry.elements.size() != 2) continue;
    const auto& position = entry.elements[0].str;
    auto payload = field(entry.elements[1], "e");
    auto z = field(entry.elements[1], "z");
    if (!payload) continue;
    // Stored envelopes were at most the body limit; allow generous headroom for the envelope fields.
    auto json = messaging::decode_from_store(*payload, z && *z == "1", max_message_bytes_ * 2 + 65536);
    if (!json) continue;  // unreadable entry: skipped rather than failing the page
    page.messages.push_back(messaging::with_position(*json, position));
  }
  if (entries.size() > limit && limit > 0) page.next = entries[limit - 1].elements[0].str;
  co_return ReadResult<ChannelPage>{std::move(page), {}};
}

boost::asio::awaitable<ReadResult<ChannelInfo>> ChannelReader::info(std::string channel) {
  std::vector<redis::Command> cmds;
  cmds.push_back({"XLEN", keys_.log(channel)});
  cmds.push_back({"HMGET", keys_.meta(channel), "published_total", "last_published_at"});
  cmds.push_back({"XRANGE", keys_.log(channel), "-", "+", "COUNT", "1"});
  cmds.push_back({"XREVRANGE", keys_.log(channel), "+", "-", "COUNT", "1"});
  auto rs = co_await redis_.exec_many(std::move(cmds));
  for (auto& r : rs) {
    if (auto e = redis::error_text(r); !e.empty()) co_return ReadResult<ChannelInfo>{std::nullopt, e};
  }
  ChannelInfo info;
  info.length = rs[0]->integer;
  const auto& meta = rs[1]->elements;
  bool has_meta = meta.size() == 2 && !meta[0].is_nil();
  if (has_meta) info.published_total = meta[0].as_int().value_or(0);
  if (meta.size() == 2 && !meta[1].is_nil()) info.last_published_at_ms = meta[1].as_int();
  if (!rs[2]->elements.empty()) info.first_position = rs[2]->elements[0].elements[0].str;
  if (!rs[3]->elements.empty()) info.last_position = rs[3]->elements[0].elements[0].str;
  if (has_meta || info.length > 0) info.name = channel;
  co_return ReadResult<ChannelInfo>{std::move(info), {}};
}

boost::asio::awaitable<ReadResult<ChannelList>> ChannelReader::list(std::string after, std::size_t limit) {
  redis::Command range{"ZRANGE", keys_.channels(), after.empty() ? "-" : "(" + after, "+", "BYLEX",
                       "LIMIT", "0", std::to_string(limit + 1)};
  auto names = co_await redis_.exec(std::move(range));
  if (auto e = redis::error_text(names); !e.empty()) co_return ReadResult<ChannelList>{std::nullopt, e};
  ChannelList out;
  std::vector<std::string> chans;
  for (std::size_t i = 0; i < names->elements.size() && i < limit; ++i) chans.push_back(names->elements[i].str);
  if (names->elements.size() > limit && !chans.empty()) out.next = chans.back();
  std::vector<redis::Command> cmds;
  for (const auto& ch : chans) {
    cmds.push_back({"XLEN", keys_.log(ch)});
    cmds.push_back({"HMGET", keys_.meta(ch), "published_total", "last_published_at"});
  }
  auto rs = co_await redis_.exec_many(std::move(cmds));
  for (auto& r : rs) {
    if (auto e = redis::error_text(r); !e.empty()) co_return ReadResult<ChannelList>{std::nullopt, e};
  }
  for (std::size_t i = 0; i < chans.size(); ++i) {
    ChannelInfo info;
    info.name = chans[i];
    info.length = rs[2 * i]->integer;
    const auto& meta = rs[2 * i + 1]->elements;
    if (meta.size() == 2 && !meta[0].is_nil()) info.published_total = meta[0].as_int().value_or(0);
    if (meta.size() == 2 && !meta[1].is_nil()) info.last_published_at_ms = meta[1].as_int();
    out.channels.push_back(std::move(info));
  }
  co_return ReadResult<ChannelList>{std::move(out), {}};
}

}  // namespace ms::publish
