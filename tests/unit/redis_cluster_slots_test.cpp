// Cluster routing as pure functions (redis/cluster_slots.h): hash slots, the
// routing key of each command the service sends, redirects and CLUSTER SLOTS.
#include "redis/cluster_slots.h"

#include "messaging/redis_keys.h"

#include <gtest/gtest.h>

#include <string>

namespace ms::redis::cluster {
namespace {

Reply integer(std::int64_t v) {
  Reply r;
  r.type = Reply::Type::integer;
  r.integer = v;
  return r;
}
Reply bulk(std::string s) {
  Reply r;
  r.type = Reply::Type::string;
  r.str = std::move(s);
  return r;
}
Reply array(std::vector<Reply> e) {
  Reply r;
  r.type = Reply::Type::array;
  r.elements = std::move(e);
  return r;
}
Reply range(int first, int last, std::string host, int port) {
  return array({integer(first), integer(last), array({bulk(std::move(host)), integer(port), bulk("0123abcd")})});
}

TEST(ClusterSlots, Crc16MatchesTheReferenceCheckValue) {
  // The XMODEM check value Redis's cluster specification gives for "123456789".
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  EXPECT_EQ(crc16(""), 0);
}

TEST(ClusterSlots, SlotsOfTheExamplesInRedisDocumentation) {
  // CLUSTER KEYSLOT's documented examples.
  EXPECT_EQ(key_slot("somekey"), 11058);
  EXPECT_EQ(key_slot("foo{hash_tag}"), 2515);
  EXPECT_EQ(key_slot("hash_tag"), 2515);
}

TEST(ClusterSlots, HashTagRules) {
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  // The first '{' and the next '}' decide; an empty tag hashes the whole key.
  EXPECT_EQ(key_slot("foo{}{bar}"), static_cast<int>(crc16("foo{}{bar}") & 16383));
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  EXPECT_EQ(key_slot("no-close{brace"), static_cast<int>(crc16("no-close{brace") & 16383));
  for (const char* k : {"a", "orders.created", "\xff\xfe", "{", "}", "{}"}) {
    const int s = key_slot(k);
    EXPECT_GE(s, 0);
    EXPECT_LT(s, kSlotCount);
  }
}

TEST(ClusterSlots, EveryKeyOfAChannelSharesItsSlot) {
  messaging::RedisKeys keys("ms:");
  const std::string ch = "orders.created";
  const int slot = key_slot(ch);
  EXPECT_EQ(key_slot(keys.log(ch)), slot);
  EXPECT_EQ(key_slot(keys.meta(ch)), slot);
  EXPECT_EQ(key_slot(keys.idem(ch, "k-1")), slot);
  EXPECT_EQ(key_slot(keys.retry(ch, "sub_1")), slot);
  EXPECT_EQ(key_slot(keys.attempts(ch, "sub_1")), slot);
}

TEST(ClusterSlots, RoutingKeysOfTheCommandsTheServiceSends) {
  auto key = [](Command c) { return routing_key(c).value_or("<none>"); };
  EXPECT_EQ(key({"GET", "a"}), "a");
  EXPECT_EQ(key({"HSET", "h", "f", "v"}), "h");
  EXPECT_EQ(key({"XADD", "s", "*", "f", "v"}), "s");
  EXPECT_EQ(key({"EVALSHA", "abc", "2", "k1", "k2", "arg"}), "k1");
  EXPECT_EQ(key({"eval", "return 1", "1", "k1"}), "k1");
  EXPECT_EQ(key({"EVALSHA", "abc", "0", "arg"}), "<none>");
  EXPECT_EQ(key({"EVALSHA", "abc", "x"}), "<none>");
  EXPECT_EQ(key({"XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", "s1", ">"}), "s1");
  EXPECT_EQ(key({"XREAD", "COUNT", "1", "streams", "s2", "0"}), "s2");
  EXPECT_EQ(key({"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}), "s");
  EXPECT_EQ(key({"XINFO", "GROUPS", "s"}), "s");
  EXPECT_EQ(key({"XPENDING", "s", "g", "-", "+", "1"}), "s");
  EXPECT_EQ(key({"SPUBLISH", "chan", "msg"}), "chan");
  for (Command c : {Command{"PING"}, Command{"TIME"}, Command{"PUBLISH", "ch", "m"}, Command{"CLUSTER", "SLOTS"},
                    Command{"SCRIPT", "LOAD", "x"}, Command{"CLIENT", "SETNAME", "n"}, Command{"INFO"},
                    Command{}}) {
    EXPECT_FALSE(routing_key(c).has_value()) << (c.empty() ? "<empty>" : c[0]);
  }
}

TEST(ClusterSlots, ParsesMovedAndAsk) {
  auto m = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Redirect::Kind::moved);
  EXPECT_EQ(m->slot, 3999);
  EXPECT_EQ(m->host, "127.0.0.1");
  EXPECT_EQ(m->port, 6381);
  auto a = parse_redirect("ASK 16383 ::1:7000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, Redirect::Kind::ask);
  EXPECT_EQ(a->slot, 16383);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 7000);
  auto no_host = parse_redirect("MOVED 1 :7001");  // not announced: the answering node's host
  ASSERT_TRUE(no_host);
  EXPECT_EQ(no_host->host, "");
}

TEST(ClusterSlots, OtherErrorsAreNoRedirect) {
  for (const char* e : {"ERR unknown command", "TRYAGAIN Multiple keys request during rehashing of slot",
                        "CLUSTERDOWN The cluster is down", "MOVED", "MOVED 3999", "MOVED x 1.2.3.4:5",
                        "MOVED 16384 1.2.3.4:5", "MOVED -1 1.2.3.4:5", "MOVED 1 1.2.3.4", "MOVED 1 1.2.3.4:0",
                        "MOVED 1 1.2.3.4:70000", "ASK 1 1.2.3.4:x", "moved 1 1.2.3.4:5", ""}) {
    EXPECT_FALSE(parse_redirect(e).has_value()) << e;
  }
}

TEST(ClusterSlots, ParsesASlotMap) {
  auto reply = array({range(0, 5460, "127.0.0.1", 7000), range(5461, 10922, "", 7001), range(10923, 16383, "?", 7002)});
  std::string error;
  auto map = parse_cluster_slots(reply, "10.0.0.9", &error);
  ASSERT_TRUE(map) << error;
  ASSERT_EQ(map->size(), 3u);
  EXPECT_EQ((*map)[0].first, 0);
  EXPECT_EQ((*map)[0].last, 5460);
  EXPECT_EQ((*map)[0].host, "127.0.0.1");
  EXPECT_EQ((*map)[1].host, "10.0.0.9");  // not announced: the node asked
  EXPECT_EQ((*map)[2].host, "10.0.0.9");
  EXPECT_EQ((*map)[2].port, 7002);
}

TEST(ClusterSlots, RejectsWhatIsNotASlotMap) {
  std::string error;
  Reply err;
  err.type = Reply::Type::error;
  err.str = "ERR This instance has cluster support disabled";
  EXPECT_FALSE(parse_cluster_slots(err, "h", &error));
  EXPECT_NE(error.find("cluster support disabled"), std::string::npos);
  EXPECT_FALSE(parse_cluster_slots(bulk("x"), "h", &error));
  EXPECT_FALSE(parse_cluster_slots(array({array({integer(0), integer(1)})}), "h", &error));
  EXPECT_FALSE(parse_cluster_slots(array({range(5, 4, "h", 1)}), "h", &error));
  EXPECT_FALSE(parse_cluster_slots(array({range(0, 16384, "h", 1)}), "h", &error));
  EXPECT_FALSE(parse_cluster_slots(array({range(0, 1, "h", 0)}), "h", &error));
  EXPECT_FALSE(parse_cluster_slots(array({range(0, 1, "h", 65536)}), "h", &error));
  EXPECT_FALSE(parse_cluster_slots(array({array({integer(0), integer(1), bulk("h")})}), "h", &error));
  EXPECT_TRUE(parse_cluster_slots(array({}), "h", &error));  // a cluster with no slots assigned yet
}

}  // namespace
}  // namespace ms::redis::cluster
