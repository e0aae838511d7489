// Every Redis key and pub/sub channel name the service uses, in one list.
//
// Keys that one script changes together share a Redis Cluster hash tag: the
// channel name in braces ({orders.created}), so they live in one slot. Channel
// names never contain braces, so the tag is exactly the channel name.
// docs/redis-keys.md describes each key's type, writer and readers.
#pragma once

#include <string>
#include <string_view>

namespace ms::messaging {

class RedisKeys {
 public:
  explicit RedisKeys(std::string prefix) : p_(std::move(prefix)) {}
  const std::string& prefix() const { return p_; }

  // Per channel (hash tag = channel)
  std::string log(std::string_view ch) const { return tagged(ch, ":log"); }    // stream
  std::string meta(std::string_view ch) const { return tagged(ch, ":meta"); }  // hash
  std::string idem(std::string_view ch, std::string_view key) const {          // string, TTL
    return tagged(ch, ":idem:") + std::string(key);
  }
  std::string retry(std::string_view ch, std::string_view sub) const {  // zset: entry id → due ms
    return tagged(ch, ":retry:") + std::string(sub);
  }
  std::string attempts(std::string_view ch, std::string_view sub) const {  // hash: entry id → attempts
    return tagged(ch, ":att:") + std::string(sub);
  }
  // string (integer): entries ever added up to the subscription's position in the log
  std::string reads(std::string_view ch, std::string_view sub) const { return tagged(ch, ":reads:") + std::string(sub); }
  // string, TTL: the instance serving an ordered subscription on this channel
  std::string owner(std::string_view ch, std::string_view sub) const { return tagged(ch, ":owner:") + std::string(sub); }

  // Global
  std::string channels() const { return p_ + "channels"; }  // zset (score 0, by name)
  std::string subs() const { return p_ + "subs"; }          // hash: sub id → subscription JSON
  std::string sub_stats(std::string_view id) const { return p_ + "sub:" + std::string(id) + ":stats"; }
  std::string dlq(std::string_view id) const { return p_ + "sub:" + std::string(id) + ":dlq"; }  // stream
  // hash: message id → "<channel> <entry id>" for messages awaiting an explicit ack
  std::string awaiting(std::string_view id) const { return p_ + "sub:" + std::string(id) + ":awaiting"; }
  std::string instances() const { return p_ + "instances"; }  // zset: instance → heartbeat ms

  // Pub/sub channels
  std::string mirror(std::string_view ch) const { return p_ + std::string(ch); }  // the envelope, live
  std::string control() const { return p_ + "$control"; }  // subscription changes

 private:
  std::string tagged(std::string_view ch, std::string_view suffix) const {
    std::string k;
    k.reserve(p_.size() + ch.size() + suffix.size() + 2);
    k += p_;
    k += '{';
    k += ch;
    k += '}';
    k += suffix;
    return k;
  }
  std::string p_;
};

}  // namespace ms::messaging
