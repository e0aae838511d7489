#include "subscribe/dead_letter_queue.h"

#include "base/clock.h"
#include "subscribe/delivery_scripts.h"

#include <algorithm>

namespace ms::subscribe {

namespace {

using redis::error_text;

DeadLetter from_entry(const redis::Reply& entry) {
  DeadLetter d;
  d.dlq_id = entry.elements[0].str;
  const auto& f = entry.elements[1].elements;
  for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
    const auto& k = f[i].str;
    const auto& v = f[i + 1];
    if (k == "message") d.message = v.str;
    else if (k == "message_id") d.message_id = v.str;
    else if (k == "channel") d.channel = v.str;
    else if (k == "entry_id") d.entry_id = v.str;
    else if (k == "attempts") d.attempts = v.as_int().value_or(0);
    else if (k == "last_status") d.last_status = static_cast<int>(v.as_int().value_or(0));
    else if (k == "last_error") d.last_error = v.str;
    else if (k == "dead_lettered_at") d.dead_lettered_at_ms = v.as_int().value_or(0);
  }
  return d;
}

}  // namespace

DeadLetterQueue::DeadLetterQueue(redis::Client& redis, messaging::RedisKeys keys, std::string instance_id)
    : redis_(redis), keys_(std::move(keys)), instance_id_(std::move(instance_id)), replay_script_(kReplayScript) {}

boost::asio::awaitable<StoreResult<DeadLetterPage>> DeadLetterQueue::list(std::string sub_id, std::string after,
                                                                        std::size_t limit) {
  redis::Command cmd{"XRANGE", keys_.dlq(sub_id), after.empty() ? "-" : "(" + after, "+", "COUNT",
                     std::to_string(limit + 1)};
  auto r = co_await redis_.exec(std::move(cmd));
  if (auto e = error_text(r); !e.empty()) co_return StoreResult<DeadLetterPage>{std::nullopt, e};
  DeadLetterPage page;
  for (std::size_t i = 0; i < r->elements.size() && i < limit; ++i) {
    if (r->elements[i].elements.size() == 2) page.items.push_back(from_entry(r->elements[i]));
  }
  if (r->elements.size() > limit && !page.items.empty()) page.next = page.items.back().dlq_id;
  co_return StoreResult<DeadLetterPage>{std::move(page), {}};
}

boost::asio::awaitable<StoreResult<std::int64_t>> DeadLetterQueue::replay(Subscription sub,
                                                                         std::vector<std::string> ids) {
  std::int64_t replayed = 0;
  std::string after;
  for (;;) {  // walk the whole DLQ in pages
    auto page = co_await list(sub.id, after, 500);
    if (!page.value) co_return StoreResult<std::int64_t>{std::nullopt, page.error};
    for (const auto& d : page.value->items) {
      bool wanted = ids.empty() || std::find(ids.begin(), ids.end(), d.message_id) != ids.end() ||
                    std::find(ids.begin(), ids.end(), d.dlq_id) != ids.end();
      if (!wanted || d.channel.empty() || d.entry_id.empty()) continue;
      // Back into the pending list first, then out of the DLQ: a crash in between duplicates.
      std::vector<std::string> keys{keys_.log(d.channel), keys_.retry(d.channel, sub.id),
                                    keys_.attempts(d.channel, sub.id)};
      std::vector<std::string> args{sub.id, instance_id_, d.entry_id, std::to_string(unix_ms_now())};
      auto r = co_await redis::run_script(redis_, replay_script_, std::move(keys), std::move(args));
      if (auto e = error_text(r); !e.empty()) co_return StoreResult<std::int64_t>{std::nullopt, e};
      if (r->integer != 1) continue;  // trimmed from the log: stays in the DLQ
      redis::Command del{"XDEL", keys_.dlq(sub.id), d.dlq_id};
      co_await redis_.exec(std::move(del));
      ++replayed;
    }
    if (!page.value->next) break;
    after = *page.value->next;
  }
  redis::Command wake{"PUBLISH", keys_.control(), "changed " + sub.id};
  co_await redis_.exec(std::move(wake));
  co_return StoreResult<std::int64_t>{replayed, {}};
}

boost::asio::awaitable<StoreResult<std::int64_t>> DeadLetterQueue::purge(std::string sub_id) {
  std::vector<redis::Command> cmds;
  cmds.push_back({"XLEN", keys_.dlq(sub_id)});
  cmds.push_back({"DEL", keys_.dlq(sub_id)});
  auto rs = co_await redis_.exec_many(std::move(cmds));
  if (auto e = error_text(rs[0]); !e.empty()) co_return StoreResult<std::int64_t>{std::nullopt, e};
  co_return StoreResult<std::int64_t>{rs[0]->integer, {}};
}

}  // namespace ms::subscribe
