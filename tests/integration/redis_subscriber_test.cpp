// ms::redis::Subscriber against a real redis-server: SUBSCRIBE / PSUBSCRIBE,
// messages published by another client, resubscription after a restart.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "redis/subscriber.h"
#include "support/coro_test.h"
#include "support/redis_server.h"

namespace ms::redis {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::RedisServer;
using test::sleep_for;
using test::wait_until;

class RedisSubscriberTest : public ::testing::Test {
 protected:
  void SetUp() override { redis_.start(); }

  ConnectionOptions options(const std::string& url) {
    auto ep = parse_redis_url(url);
    EXPECT_TRUE(ep.has_value()) << url;
    ConnectionOptions o;
    if (ep) o.endpoint = *ep;
    o.backoff_min = 20ms;
    o.backoff_max = 200ms;
    return o;
  }

  void run_coro(std::function<asio::awaitable<void>()> body, std::chrono::milliseconds limit = 10s) {
    test::run_coro(ioc_, std::move(body), limit);
  }

  // Subscriptions are live once Redis counts them (PUBSUB NUMSUB / NUMPAT).
  long long numsub(const std::string& channel) {
    auto r = redis_.command({"PUBSUB", "NUMSUB", channel});
    return r.elements.size() == 2 ? r.elements[1].integer : -1;
  }
  long long numpat() { return redis_.command({"PUBSUB", "NUMPAT"}).integer; }
  long long publish(const std::string& channel, const std::string& payload) {
    return redis_.command({"PUBLISH", channel, payload}).integer;
  }

  RedisServer redis_;
  asio::io_context ioc_;
};

TEST_F(RedisSubscriberTest, SubscribeAndPsubscribeReceiveMessages) {
  Subscriber sub(ioc_.get_executor(), options(redis_.url()));
  std::vector<PubSubMessage> got;
  int connects = 0;
  sub.on_message([&](const PubSubMessage& m) { got.push_back(m); });
  sub.on_connect([&] { ++connects; });
  sub.subscribe("news");  // before start: sent on connect
  sub.start();
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await wait_until([&] { return sub.connected(); }, 3s));
    sub.psubscribe("events.*");  // after connect: sent at once
    CO_ASSERT_TRUE(co_await wait_until([&] { return numsub("news") == 1 && numpat() == 1; }, 3s));
    EXPECT_EQ(connects, 1);

    const std::string binary("a\r\n\0b", 5);
    EXPECT_EQ(publish("news", "hello"), 1);
    EXPECT_EQ(publish("events.created", binary), 1);
    EXPECT_EQ(publish("other", "ignored"), 0);
    CO_ASSERT_TRUE(co_await wait_until([&] { return got.size() >= 2; }, 2s));
    co_await sleep_for(50ms);  // nothing else arrives
    CO_ASSERT_TRUE(got.size() == 2u);
    EXPECT_EQ(got[0].pattern, "");
    EXPECT_EQ(got[0].channel, "news");
    EXPECT_EQ(got[0].payload, "hello");
    EXPECT_EQ(got[1].pattern, "events.*");
    EXPECT_EQ(got[1].channel, "events.created");
    EXPECT_EQ(got[1].payload, binary);

    // Many messages in a burst arrive complete and in order.
    for (int i = 0; i < 500; ++i) publish("news", "m" + std::to_string(i));
    CO_ASSERT_TRUE(co_await wait_until([&] { return got.size() == 502; }, 3s));
    for (int i = 0; i < 500; ++i) EXPECT_EQ(got[2 + i].payload, "m" + std::to_string(i));

    sub.unsubscribe("news");
    sub.punsubscribe("events.*");
    CO_ASSERT_TRUE(co_await wait_until([&] { return numsub("news") == 0 && numpat() == 0; }, 3s));
    EXPECT_EQ(publish("news", "late"), 0);
  });
}

TEST_F(RedisSubscriberTest, ResubscribesByItselfAfterRestart) {
  Subscriber sub(ioc_.get_executor(), options(redis_.url()));
  std::vector<PubSubMessage> got;
  int connects = 0;
  sub.on_message([&](const PubSubMessage& m) { got.push_back(m); });
  sub.on_connect([&] { ++connects; });
  sub.subscribe("a");
  sub.psubscribe("p:*");
  sub.start();
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await wait_until([&] { return numsub("a") == 1 && numpat() == 1; }, 3s));
    EXPECT_EQ(connects, 1);
    publish("a", "before");
    CO_ASSERT_TRUE(co_await wait_until([&] { return got.size() == 1; }, 2s));

    redis_.restart();
    CO_ASSERT_TRUE(co_await wait_until([&] { return connects == 2; }, 5s));
    CO_ASSERT_TRUE(co_await wait_until([&] { return numsub("a") == 1 && numpat() == 1; }, 3s));
    EXPECT_TRUE(sub.connected());
    EXPECT_EQ(publish("a", "after"), 1);
    EXPECT_EQ(publish("p:x", "pattern-after"), 1);
    CO_ASSERT_TRUE(co_await wait_until([&] { return got.size() == 3; }, 2s));
    EXPECT_EQ(got[1].payload, "after");
    EXPECT_EQ(got[2].payload, "pattern-after");
    EXPECT_EQ(got[2].pattern, "p:*");

    // A hard crash too, with a gap while Redis is down.
    redis_.kill9();
    CO_ASSERT_TRUE(co_await wait_until([&] { return !sub.connected(); }, 2s));
    co_await sleep_for(300ms);  // a few failed reconnect attempts
    redis_.start();
    CO_ASSERT_TRUE(co_await wait_until([&] { return connects == 3; }, 5s));
    CO_ASSERT_TRUE(co_await wait_until([&] { return numsub("a") == 1; }, 3s));
    EXPECT_EQ(publish("a", "after-crash"), 1);
    CO_ASSERT_TRUE(co_await wait_until([&] { return got.size() == 4; }, 2s));
    EXPECT_EQ(got[3].payload, "after-crash");
  });
}

TEST_F(RedisSubscriberTest, ChannelsSubscribedWhileDownAreSentOnReconnect) {
  Subscriber sub(ioc_.get_executor(), options(redis_.url()));
  std::vector<PubSubMessage> got;
  sub.on_message([&](const PubSubMessage& m) { got.push_back(m); });
  sub.start();
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await wait_until([&] { return sub.connected(); }, 3s));
    redis_.kill9();
    CO_ASSERT_TRUE(co_await wait_until([&] { return !sub.connected(); }, 2s));
    sub.subscribe("while-down");
    redis_.start();
    CO_ASSERT_TRUE(co_await wait_until([&] { return numsub("while-down") == 1; }, 5s));
    EXPECT_EQ(publish("while-down", "x"), 1);
    CO_ASSERT_TRUE(co_await wait_until([&] { return got.size() == 1; }, 2s));
    EXPECT_EQ(got[0].channel, "while-down");
  });
}

TEST_F(RedisSubscriberTest, PasswordProtectedRedis) {
  ASSERT_TRUE(redis_.command({"CONFIG", "SET", "requirepass", "pw"}).is_ok());
  Subscriber sub(ioc_.get_executor(), options("redis://:pw@127.0.0.1:" + std::to_string(redis_.port())));
  std::vector<PubSubMessage> got;
  sub.on_message([&](const PubSubMessage& m) { got.push_back(m); });
  sub.subscribe("secure");
  sub.start();
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await wait_until([&] { return numsub("secure") == 1; }, 3s));
    EXPECT_EQ(publish("secure", "ok"), 1);
    CO_ASSERT_TRUE(co_await wait_until([&] { return got.size() == 1; }, 2s));
    EXPECT_EQ(got[0].payload, "ok");
  });
}

// Regression test, bug fixed (was in src/redis/subscriber.cpp, Impl::run): the handshake replies are not
// checked. With a wrong password AUTH answers WRONGPASS, SUBSCRIBE answers NOAUTH
// (both only logged), yet is_connected stays true, on_connect fires, and the
// connection is kept forever without a single subscription and without retrying.
TEST_F(RedisSubscriberTest, WrongPasswordIsNotConnectedAndRetries) {
  ASSERT_TRUE(redis_.command({"CONFIG", "SET", "requirepass", "pw"}).is_ok());
  Subscriber sub(ioc_.get_executor(), options("redis://:other@127.0.0.1:" + std::to_string(redis_.port())));
  int connects = 0;
  sub.on_connect([&] { ++connects; });
  sub.subscribe("x");
  sub.start();
  run_coro([&]() -> asio::awaitable<void> {
    co_await sleep_for(500ms);
    EXPECT_FALSE(sub.connected());
    EXPECT_EQ(connects, 0);
    // Once the password matches, the next attempt gets through.
    EXPECT_TRUE(redis_.command({"CONFIG", "SET", "requirepass", "other"}).is_ok());
    CO_ASSERT_TRUE(co_await wait_until([&] { return numsub("x") == 1; }, 3s));
    EXPECT_TRUE(sub.connected());
    EXPECT_EQ(connects, 1);
  });
}

TEST_F(RedisSubscriberTest, StopEndsDelivery) {
  Subscriber sub(ioc_.get_executor(), options(redis_.url()));
  int got = 0;
  sub.on_message([&](const PubSubMessage&) { ++got; });
  sub.subscribe("c");
  sub.start();
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await wait_until([&] { return numsub("c") == 1; }, 3s));
    sub.stop();
    EXPECT_FALSE(sub.connected());
    CO_ASSERT_TRUE(co_await wait_until([&] { return numsub("c") == 0; }, 2s));
    co_await sleep_for(100ms);
    EXPECT_EQ(got, 0);
    EXPECT_EQ(numsub("c"), 0);  // it did not reconnect
  });
}

}  // namespace
}  // namespace ms::redis
