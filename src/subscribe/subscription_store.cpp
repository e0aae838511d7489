#include "subscribe/subscription_store.h"

#include "base/clock.h"
#include "messaging/channel_name.h"
#include "subscribe/delivery_scripts.h"

#include <algorithm>

namespace ms::subscribe {

namespace {

using redis::error_text;

std::int64_t id_ms(std::string_view entry_id) {
  auto dash = entry_id.find('-');
  return std::strtoll(std::string(entry_id.substr(0, dash)).c_str(), nullptr, 10);
}

// Stream entry ids "<ms>-<seq>" in numeric order (both parts fit 64 bits unsigned).
bool entry_id_less(std::string_view a, std::string_view b) {
  auto parts = [](std::string_view id) {
    auto dash = id.find('-');
    auto ms = std::strtoull(std::string(id.substr(0, dash)).c_str(), nullptr, 10);
    auto seq = dash == std::string_view::npos ? 0ULL : std::strtoull(std::string(id.substr(dash + 1)).c_str(), nullptr, 10);
    return std::pair{ms, seq};
  };
  return parts(a) < parts(b);
}

const redis::Reply* hash_field(const redis::Reply& flat, std::string_view name) {
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    if (flat.elements[i].str == name) return &flat.elements[i + 1];
  }
  return nullptr;
}

}  // namespace

SubscriptionStore::SubscriptionStore(redis::Client& redis, messaging::RedisKeys keys,
                                     std::uint64_t retention_max_messages)
    : redis_(redis),
      keys_(std::move(keys)),
      create_group_script_(kCreateGroupScript),
      replace_script_(kReplaceSubscriptionScript),
      retention_max_messages_(retention_max_messages) {}

boost::asio::awaitable<StoreResult<std::vector<Subscription>>> SubscriptionStore::load_all() {
  redis::Command cmd{"HGETALL", keys_.subs()};
  auto r = co_await redis_.exec(std::move(cmd));
  if (auto e = error_text(r); !e.empty()) co_return StoreResult<std::vector<Subscription>>{std::nullopt, e};
  std::vector<Subscription> out;
  for (std::size_t i = 0; i + 1 < r->elements.size(); i += 2) {
    if (auto s = from_stored(r->elements[i + 1].str)) out.push_back(std::move(*s));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  co_return StoreResult<std::vector<Subscription>>{std::move(out), {}};
}

boost::asio::awaitable<StoreResult<std::optional<Subscription>>> SubscriptionStore::get(std::string id) {
  redis::Command cmd{"HGET", keys_.subs(), std::move(id)};
  auto r = co_await redis_.exec(std::move(cmd));
  if (auto e = error_text(r); !e.empty()) co_return StoreResult<std::optional<Subscription>>{std::nullopt, e};
  std::optional<Subscription> s;
  if (!r->is_nil()) s = from_stored(r->str);
  co_return StoreResult<std::optional<Subscription>>{std::move(s), {}};
}

boost::asio::awaitable<StoreResult<std::optional<SubscriptionStore::Stored>>> SubscriptionStore::get_stored(
    std::string id) {
  using R = StoreResult<std::optional<Stored>>;
  redis::Command cmd{"HGET", keys_.subs(), std::move(id)};
  auto r = co_await redis_.exec(std::move(cmd));
  if (auto e = error_text(r); !e.empty()) co_return R{std::nullopt, e};
  std::optional<Stored> out;
  if (!r->is_nil()) {
    if (auto s = from_stored(r->str)) out = Stored{std::move(*s), std::move(r->str)};
  }
  co_return R{std::move(out), {}};
}

boost::asio::awaitable<StoreResult<bool>> SubscriptionStore::replace(const Subscription& sub, std::string read_as) {
  std::vector<std::string> ks{keys_.subs()};
  std::vector<std::string> args{sub.id, std::move(read_as), to_stored(sub), keys_.control(), "changed " + sub.id};
  auto r = co_await redis::run_script(redis_, replace_script_, std::move(ks), std::move(args));
  if (auto e = error_text(r); !e.empty()) co_return StoreResult<bool>{std::nullopt, e};
  co_return StoreResult<bool>{r->integer == 1, {}};
}

boost::asio::awaitable<std::string> SubscriptionStore::put(Subscription sub) {
  std::vector<redis::Command> cmds;
  cmds.push_back({"HSET", keys_.subs(), sub.id, to_stored(sub)});
  cmds.push_back({"PUBLISH", keys_.control(), "changed " + sub.id});
  auto rs = co_await redis_.exec_many(std::move(cmds));
  co_return error_text(rs[0]);
}

boost::asio::awaitable<std::string> SubscriptionStore::remove(Subscription sub) {
  auto chans = co_await matching_channels(sub);
  std::vector<redis::Command> cmds;
  cmds.push_back({"HDEL", keys_.subs(), sub.id});
  // One DEL per key: on a cluster they live in different slots.
  cmds.push_back({"DEL", keys_.sub_stats(sub.id)});
  cmds.push_back({"DEL", keys_.dlq(sub.id)});
  cmds.push_back({"DEL", keys_.awaiting(sub.id)});
  if (chans.value) {
    for (const auto& ch : *chans.value) {
      cmds.push_back({"XGROUP", "DESTROY", keys_.log(ch), sub.id});
      cmds.push_back({"DEL", keys_.retry(ch, sub.id), keys_.attempts(ch, sub.id), keys_.owner(ch, sub.id),
                      keys_.reads(ch, sub.id)});
    }
  }
  cmds.push_back({"PUBLISH", keys_.control(), "deleted " + sub.id});
  auto rs = co_await redis_.exec_many(std::move(cmds));
  co_return error_text(rs[0]);
}

boost::asio::awaitable<StoreResult<std::int64_t>> SubscriptionStore::redis_time_ms() {
  redis::Command cmd{"TIME"};
  auto r = co_await redis_.exec(std::move(cmd));
  if (auto e = error_text(r); !e.empty()) co_return StoreResult<std::int64_t>{std::nullopt, e};
  if (r->elements.size() != 2) co_return StoreResult<std::int64_t>{unix_ms_now(), {}};
  auto s = r->elements[0].as_int().value_or(0);
  auto us = r->elements[1].as_int().value_or(0);
  co_return StoreResult<std::int64_t>{s * 1000 + us / 1000, {}};
}

boost::asio::awaitable<StoreResult<std::vector<std::string>>> SubscriptionStore::matching_channels(
    const Subscription& sub) {
  if (!messaging::is_pattern(sub.channel)) {
    co_return StoreResult<std::vector<std::string>>{std::vector<std::string>{sub.channel}, {}};
  }
  redis::Command cmd{"ZRANGE", keys_.channels(), "0", "-1"};
  auto r = co_await redis_.exec(std::move(cmd));
  if (auto e = error_text(r); !e.empty()) co_return StoreResult<std::vector<std::string>>{std::nullopt, e};
  std::vector<std::string> out;
  for (const auto& el : r->elements) {
    if (messaging::pattern_matches(sub.channel, el.str)) out.push_back(el.str);
  }
  co_return StoreResult<std::vector<std::string>>{std::move(out), {}};
}

std::string SubscriptionStore::group_start_id(const Subscription& sub) {
  if (sub.start == "earliest") return "0";
  if (sub.start == "position" && !sub.start_position.empty()) return sub.start_position;
  // latest: everything whose entry id (Redis time) is at or after creation.
  return std::to_string(std::max<std::int64_t>(0, sub.created_at_ms - 1)) + "-18446744073709551615";
}

boost::asio::awaitable<std::string> SubscriptionStore::ensure_group(const Subscription& sub, std::string channel) {
  std::vector<std::string> ks{keys_.log(channel), keys_.reads(channel, sub.id)};
  std::vector<std::string> args{sub.id, group_start_id(sub)};
  auto r = co_await redis::run_script(redis_, create_group_script_, std::move(ks), std::move(args));
  auto e = error_text(r);
  if (e.rfind("BUSYGROUP", 0) == 0) e.clear();
  co_return e;
}

boost::asio::awaitable<StoreResult<SubscriptionStats>> SubscriptionStore::stats(const Subscription& sub) {
  auto chans = co_await matching_channels(sub);
  if (!chans.value) co_return StoreResult<SubscriptionStats>{std::nullopt, chans.error};
  std::vector<redis::Command> cmds;
  cmds.push_back({"HGETALL", keys_.sub_stats(sub.id)});
  cmds.push_back({"XLEN", keys_.dlq(sub.id)});
  cmds.push_back({"TIME"});
  for (const auto& ch : *chans.value) {
    cmds.push_back({"XINFO", "GROUPS", keys_.log(ch)});
    cmds.push_back({"HLEN", keys_.attempts(ch, sub.id)});  // held after a failed attempt
    cmds.push_back({"XPENDING", keys_.log(ch), sub.id, "-", "+", "1"});
    cmds.push_back({"XINFO", "STREAM", keys_.log(ch)});  // length, entries-added, first entry
    cmds.push_back({"GET", keys_.reads(ch, sub.id)});
  }
  auto rs = co_await redis_.exec_many(std::move(cmds));
  for (std::size_t i = 0; i < 3; ++i) {
    if (auto e = error_text(rs[i]); !e.empty()) co_return StoreResult<SubscriptionStats>{std::nullopt, e};
  }
  SubscriptionStats st;
  const auto& h = *rs[0];
  auto num = [&](std::string_view f) -> std::int64_t {
    auto* v = hash_field(h, f);
    return v ? v->as_int().value_or(0) : 0;
  };
  st.delivered = num("delivered");
  st.attempts = num("attempts");
  st.failed_attempts = num("failed_attempts");
  st.filtered = num("filtered");
  if (auto* v = hash_field(h, "last_delivery_at")) st.last_delivery_at_ms = v->as_int();
  if (auto* v = hash_field(h, "last_error_at")) st.last_error_at_ms = v->as_int();
  st.last_error_status = num("last_error_status");
  if (auto* v = hash_field(h, "last_error_message")) st.last_error_message = v->str;
  st.dead_lettered = rs[1]->integer;
  std::int64_t now = unix_ms_now();
  if (rs[2]->elements.size() == 2) {
    now = rs[2]->elements[0].as_int().value_or(0) * 1000 + rs[2]->elements[1].as_int().value_or(0) / 1000;
  }
  std::int64_t pending_total = 0;
  std::optional<std::int64_t> oldest;
  std::vector<redis::Command> next_entry;  // first undelivered entry per channel with lag
  for (std::size_t c = 0; c < chans.value->size(); ++c) {
    constexpr std::size_t kPerChannel = 5;
    const auto& groups = rs[3 + kPerChannel * c];
    const auto& retry = rs[4 + kPerChannel * c];
    const auto& pend = rs[5 + kPerChannel * c];
    const auto& stream = rs[6 + kPerChannel * c];
    const auto& reads = rs[7 + kPerChannel * c];
    std::int64_t kept = 0;
    std::optional<std::int64_t> added;
    std::optional<std::string> first_id;
    if (stream && stream->is_array()) {
      if (auto* v = hash_field(*stream, "length")) kept = v->as_int().value_or(0);
      if (auto* v = hash_field(*stream, "entries-added")) added = v->as_int();
      if (auto* v = hash_field(*stream, "first-entry"); v && v->is_array() && !v->elements.empty()) {
        first_id = v->elements[0].str;
      }
    }
    // Entries added after the group's position (unread, trimmed ones included),
    // when its read counter is known (groups made by kCreateGroupScript).
    std::optional<std::int64_t> unread;
    if (added && reads && reads->is_string()) {
      if (auto n = reads->as_int()) unread = std::max<std::int64_t>(0, *added - *n);
    }
    if (groups && groups->is_array()) {
      for (const auto& g : groups->elements) {
        auto* name = hash_field(g, "name");
        if (!name || name->str != sub.id) continue;
        std::int64_t pending = 0;
        if (auto* p = hash_field(g, "pending")) pending = p->as_int().value_or(0);
        pending_total += pending;
        auto* lag = hash_field(g, "lag");
        auto* last = hash_field(g, "last-delivered-id");
        std::int64_t lag_n = lag && !lag->is_nil() ? lag->as_int().value_or(0) : 0;
        st.backlog += lag_n;
        // The group's position before the first entry kept: the log was trimmed
        // past entries it never read. Those are lost to it: counted at risk. (Redis
        // takes them as read: its lag is then the stream's length.)
        if (unread && last && (!first_id || entry_id_less(last->str, *first_id))) {
          st.at_risk += std::max<std::int64_t>(0, *unread - kept);
        }
        // Redis reports no lag when it cannot tell.
        if (lag && lag->is_nil()) st.at_risk += 1;
        auto undelivered = lag_n + pending;
        auto safe = static_cast<std::int64_t>(retention_max_messages_ * 9 / 10);
        if (undelivered > safe) st.at_risk += undelivered - safe;
        if (lag && lag->as_int().value_or(0) > 0 && last) {
          next_entry.push_back({"XRANGE", keys_.log((*chans.value)[c]), "(" + last->str, "+", "COUNT", "1"});
        }
      }
    }
    if (retry && retry->is_integer()) st.retrying += retry->integer;
    if (pend && pend->is_array() && !pend->elements.empty() && !pend->elements[0].elements.empty()) {
      auto ms = id_ms(pend->elements[0].elements[0].str);
      oldest = oldest ? std::min(*oldest, ms) : ms;
    }
  }
  if (!next_entry.empty()) {
    auto more = co_await redis_.exec_many(std::move(next_entry));
    for (const auto& m : more) {
      if (m && m->is_array() && !m->elements.empty()) {
        auto ms = id_ms(m->elements[0].elements[0].str);
        oldest = oldest ? std::min(*oldest, ms) : ms;
      }
    }
  }
  // Every held message is pending; those with a failed attempt on record are "retrying".
  st.in_flight = std::max<std::int64_t>(0, pending_total - st.retrying);
  if (st.retrying > pending_total) st.retrying = pending_total;
  st.backlog += pending_total;
  if (oldest) st.oldest_unacked_age_ms = std::max<std::int64_t>(0, now - *oldest);
  co_return StoreResult<SubscriptionStats>{std::move(st), {}};
}

std::vector<std::string> subscriptions_matching(const std::vector<Subscription>& subs, std::string_view channel) {
  std::vector<std::string> out;
  for (const auto& s : subs) {
    if (s.channel == channel || (messaging::is_pattern(s.channel) && messaging::pattern_matches(s.channel, channel))) {
      out.push_back(s.id);
    }
  }
  return out;
}

}  // namespace ms::subscribe
