// Reads channels back: their messages (oldest first, paginated by position) and
// their status (length, totals, retention). Stored envelopes are inflated when
// compressed and get their position spliced in; no JSON is re-serialised.
//
// Threading: one per shard, on that shard's executor.
#pragma once

#include "base/result.h"
#include "messaging/redis_keys.h"
#include "redis/connection.h"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ms::publish {

struct ChannelPage {
  bool exists = false;
  std::vector<std::string> messages;  // full envelope JSON texts
  std::optional<std::string> next;    // position to pass as `after`
};

struct ChannelInfo {
  std::string name;
  std::int64_t length = 0;
  std::int64_t published_total = 0;
  std::optional<std::int64_t> last_published_at_ms;
  std::optional<std::string> first_position;
  std::optional<std::string> last_position;
  std::vector<std::string> subscription_ids;  // filled by the caller (subscriptions are not ours)
};

struct ChannelList {
  std::vector<ChannelInfo> channels;
  std::optional<std::string> next;  // channel name to pass as `after`
};

// Outcome of a read: a value, or Redis being unreachable (→ 503).
template <class T>
struct ReadResult {
  std::optional<T> value;
  std::string error;  // set when value is empty
};

class ChannelReader {
 public:
  ChannelReader(redis::Client& redis, messaging::RedisKeys keys, std::size_t max_message_bytes);

  // `after` is a position ("<ms>-<seq>") or empty for the start.
  boost::asio::awaitable<ReadResult<ChannelPage>> read(std::string channel, std::string after, std::size_t limit);
  // Status of one channel; value->name empty when the channel does not exist.
  boost::asio::awaitable<ReadResult<ChannelInfo>> info(std::string channel);
  boost::asio::awaitable<ReadResult<ChannelList>> list(std::string after, std::size_t limit);

 private:
  redis::Client& redis_;
  messaging::RedisKeys keys_;
  std::size_t max_message_bytes_;
};

// "1733076000123-0" (or "1733076000123"): a valid stream position.
bool is_valid_position(std::string_view s);

}  // namespace ms::publish
