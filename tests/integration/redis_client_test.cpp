// ms::redis::Connection and the script helpers against a real redis-server.
//
// Each test runs its coroutine on an io_context driven by the test thread, with a
// deadline (run_coro), so a hang fails the test instead of stalling the suite.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "redis/connection.h"
#include "redis/errors.h"
#include "redis/script.h"
#include "support/coro_test.h"
#include "support/redis_server.h"

namespace ms::redis {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::RedisServer;
using test::cmd;
using test::describe;
using test::sleep_for;
using test::wait_until;

std::int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

class RedisClientTest : public ::testing::Test {
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
  ConnectionOptions options() { return options(redis_.url()); }

  void run_coro(std::function<asio::awaitable<void>()> body, std::chrono::milliseconds limit = 10s) {
    test::run_coro(ioc_, std::move(body), limit);
  }

  // Starts conn and waits until it is connected.
  asio::awaitable<bool> connect(Connection& conn, std::chrono::milliseconds timeout = 3s) {
    conn.start();
    co_return co_await wait_until([&] { return conn.connected(); }, timeout);
  }

  RedisServer redis_;
  asio::io_context ioc_;
};

TEST_F(RedisClientTest, PingSetGet) {
  Connection conn(ioc_.get_executor(), options());
  EXPECT_FALSE(conn.connected());
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    EXPECT_EQ(conn.last_error(), "");

    auto pong = co_await conn.exec(cmd("PING"));
    CO_ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(pong->type, Reply::Type::status);
    EXPECT_EQ(pong->str, "PONG");

    const std::string value("v\r\n\0x", 5);
    auto set = co_await conn.exec(cmd("SET", "k", value));
    CO_ASSERT_TRUE(set.has_value());
    EXPECT_EQ(set->str, "OK");

    auto get = co_await conn.exec(cmd("GET", "k"));
    CO_ASSERT_TRUE(get.has_value());
    EXPECT_EQ(get->type, Reply::Type::string);
    EXPECT_EQ(get->str, value);

    auto missing = co_await conn.exec(cmd("GET", "missing"));
    CO_ASSERT_TRUE(missing.has_value());
    EXPECT_TRUE(missing->is_nil());

    // A Redis error is a reply, not a transport error.
    auto wrong = co_await conn.exec(cmd("INCR", "k"));
    CO_ASSERT_TRUE(wrong.has_value());
    EXPECT_TRUE(wrong->is_error()) << describe(wrong);

    auto n = co_await conn.exec(cmd("INCRBY", "n", "41"));
    CO_ASSERT_TRUE(n.has_value());
    EXPECT_EQ(n->as_int(), 41);
  });
  EXPECT_EQ(redis_.command({"GET", "k"}).str, std::string("v\r\n\0x", 5));
}

TEST_F(RedisClientTest, ThousandConcurrentIncrsArePipelined) {
  Connection conn(ioc_.get_executor(), options());
  constexpr int kCoroutines = 1000;
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    const auto before = conn.stats();
    std::vector<std::int64_t> got;
    int finished = 0;
    int failed = 0;
    auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < kCoroutines; ++i) {
      asio::co_spawn(
          ex,
          [&]() -> asio::awaitable<void> {
            auto r = co_await conn.exec(cmd("INCR", "counter"));
            if (r && r->is_integer()) {
              got.push_back(r->integer);
            } else {
              ++failed;
            }
            ++finished;
          },
          asio::detached);
    }
    CO_ASSERT_TRUE(co_await wait_until([&] { return finished == kCoroutines; }, 5s));
    EXPECT_EQ(failed, 0);
    std::sort(got.begin(), got.end());
    std::vector<std::int64_t> expected(kCoroutines);
    std::iota(expected.begin(), expected.end(), 1);
    EXPECT_EQ(got, expected);  // every INCR answered, to the right caller, once

    const auto after = conn.stats();
    const auto commands = after.commands - before.commands;
    const auto writes = after.writes - before.writes;
    EXPECT_EQ(commands, static_cast<std::uint64_t>(kCoroutines));
    EXPECT_GE(writes, 1u);
    EXPECT_LE(writes * 20, commands) << writes << " writes for " << commands << " commands";
  });
  EXPECT_EQ(redis_.command({"GET", "counter"}).str, std::to_string(kCoroutines));
}

TEST_F(RedisClientTest, ExecManyKeepsOrderInOneWrite) {
  Connection conn(ioc_.get_executor(), options());
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    std::vector<Command> cmds;
    cmds.push_back(cmd("SET", "a", "1"));
    cmds.push_back(cmd("INCR", "a"));
    cmds.push_back(cmd("GET", "a"));
    cmds.push_back(cmd("RPUSH", "l", "x", "y"));
    cmds.push_back(cmd("LRANGE", "l", "0", "-1"));
    cmds.push_back(cmd("NOSUCHCOMMAND"));
    cmds.push_back(cmd("GET", "nothing"));
    for (int i = 0; i < 50; ++i) cmds.push_back(cmd("INCR", "seq"));
    const auto writes_before = conn.stats().writes;
    auto results = co_await conn.exec_many(std::move(cmds));
    CO_ASSERT_TRUE(results.size() == 57u);
    for (const auto& r : results) CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(results[0]->str, "OK");
    EXPECT_EQ(results[1]->integer, 2);
    EXPECT_EQ(results[2]->str, "2");
    EXPECT_EQ(results[3]->integer, 2);
    CO_ASSERT_TRUE(results[4]->is_array());
    CO_ASSERT_TRUE(results[4]->elements.size() == 2u);
    EXPECT_EQ(results[4]->elements[0].str, "x");
    EXPECT_EQ(results[4]->elements[1].str, "y");
    EXPECT_TRUE(results[5]->is_error());
    EXPECT_TRUE(results[6]->is_nil());
    for (int i = 0; i < 50; ++i) EXPECT_EQ(results[7 + i]->integer, i + 1) << i;
    EXPECT_EQ(conn.stats().writes - writes_before, 1u);

    auto none = co_await conn.exec_many(std::vector<Command>{});
    EXPECT_TRUE(none.empty());
  });
}

TEST_F(RedisClientTest, LargeValuesInterleavedWithSmallCommands) {
  Connection conn(ioc_.get_executor(), options());
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    std::string big(8 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
    int small_ok = 0;
    auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < 100; ++i) {
      asio::co_spawn(
          ex,
          [&]() -> asio::awaitable<void> {
            auto r = co_await conn.exec(cmd("INCR", "small"));
            if (r && r->is_integer()) ++small_ok;
          },
          asio::detached);
    }
    auto set = co_await conn.exec(cmd("SET", "big", big));  // a multi-write command mid-pipeline
    CO_ASSERT_TRUE(set.has_value());
    EXPECT_EQ(set->str, "OK");
    auto get = co_await conn.exec(cmd("GET", "big"));
    CO_ASSERT_TRUE(get.has_value());
    EXPECT_EQ(get->str.size(), big.size());
    EXPECT_TRUE(get->str == big);
    CO_ASSERT_TRUE(co_await wait_until([&] { return small_ok == 100; }, 2s));
    auto n = co_await conn.exec(cmd("GET", "small"));
    CO_ASSERT_TRUE(n.has_value());
    EXPECT_EQ(n->as_int(), 100);
  });
}

TEST_F(RedisClientTest, ExecAsyncCallsBackLaterOnTheExecutor) {
  Connection conn(ioc_.get_executor(), options());
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    std::vector<std::string> got;
    bool inline_call = true;
    conn.exec_async(cmd("ECHO", "one"), [&](Result<Reply> r) { got.push_back(r ? r->str : "error"); });
    conn.exec_async(cmd("ECHO", "two"), [&](Result<Reply> r) {
      got.push_back(r ? r->str : "error");
      EXPECT_FALSE(inline_call);
    });
    inline_call = false;
    EXPECT_TRUE(got.empty());  // never inline
    CO_ASSERT_TRUE(co_await wait_until([&] { return got.size() == 2; }, 2s));
    EXPECT_EQ(got[0], "one");
    EXPECT_EQ(got[1], "two");
  });
}

TEST_F(RedisClientTest, NotConnectedFailsFastWhileRedisIsDown) {
  Connection conn(ioc_.get_executor(), options());
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    redis_.kill9();
    CO_ASSERT_TRUE(co_await wait_until([&] { return !conn.connected(); }, 2s));
    EXPECT_NE(conn.last_error(), "");
    for (int i = 0; i < 5; ++i) {
      auto t0 = Clock::now();
      auto r = co_await conn.exec(cmd("PING"));
      auto took = ms_since(t0);
      CO_ASSERT_TRUE(!r.has_value());
      EXPECT_EQ(r.error(), make_error_code(errc::not_connected));
      EXPECT_LT(took, 100) << "attempt " << i;
      co_await sleep_for(30ms);  // across reconnect attempts
    }
    std::vector<Command> two;
    two.push_back(cmd("PING"));
    two.push_back(cmd("PING"));
    auto many = co_await conn.exec_many(std::move(two));
    CO_ASSERT_TRUE(many.size() == 2u);
    for (auto& r : many) EXPECT_EQ(r.error(), make_error_code(errc::not_connected));
  });
}

TEST_F(RedisClientTest, NeverReachableServerGivesNotConnected) {
  const auto port = test::free_port();  // nobody listens there
  Connection conn(ioc_.get_executor(), options("redis://127.0.0.1:" + std::to_string(port)));
  run_coro([&]() -> asio::awaitable<void> {
    conn.start();
    co_await sleep_for(100ms);
    EXPECT_FALSE(conn.connected());
    EXPECT_NE(conn.last_error().find("connect"), std::string::npos) << conn.last_error();
    auto t0 = Clock::now();
    auto r = co_await conn.exec(cmd("PING"));
    EXPECT_LT(ms_since(t0), 100);
    CO_ASSERT_TRUE(!r.has_value());
    EXPECT_EQ(r.error(), make_error_code(errc::not_connected));
  });
}

TEST_F(RedisClientTest, InFlightCommandsFailOnKill9AndTheConnectionComesBack) {
  auto o = options();
  o.command_timeout = 5s;  // the BLPOP below must not trip the watchdog
  Connection conn(ioc_.get_executor(), o);
  int connects = 0;
  conn.on_connect([&] { ++connects; });
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    EXPECT_EQ(connects, 1);
    // A blocking command, then more behind it: all in flight when Redis dies.
    std::vector<Result<Reply>> results;
    auto ex = co_await asio::this_coro::executor;
    std::vector<Command> in_flight;
    in_flight.push_back(cmd("BLPOP", "never", "0"));
    for (int i = 0; i < 5; ++i) in_flight.push_back(cmd("INCR", "n"));
    for (auto& c : in_flight) {
      asio::co_spawn(
          ex,
          [&, c]() -> asio::awaitable<void> {
            auto copy = c;
            results.push_back(co_await conn.exec(std::move(copy)));
          },
          asio::detached);
    }
    co_await sleep_for(100ms);
    CO_ASSERT_TRUE(results.empty());  // all stuck behind BLPOP

    auto t0 = Clock::now();
    redis_.kill9();
    CO_ASSERT_TRUE(co_await wait_until([&] { return results.size() == in_flight.size(); }, 2s));
    EXPECT_LT(ms_since(t0), 1000);
    for (const auto& r : results) {
      CO_ASSERT_TRUE(!r.has_value());
      EXPECT_EQ(r.error(), make_error_code(errc::connection_lost)) << r.error().message();
    }
    EXPECT_FALSE(conn.connected());

    redis_.restart();  // same port; the connection must find it by itself
    t0 = Clock::now();
    CO_ASSERT_TRUE(co_await wait_until([&] { return conn.connected(); }, 5s));
    EXPECT_LT(ms_since(t0), 5000);
    auto pong = co_await conn.exec(cmd("PING"));
    CO_ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(pong->str, "PONG");
    auto incr = co_await conn.exec(cmd("INCR", "after"));
    CO_ASSERT_TRUE(incr.has_value());
    EXPECT_EQ(incr->integer, 1);
    EXPECT_EQ(connects, 2);
    EXPECT_EQ(conn.stats().reconnects, 1u);
  });
}

// Resumes a SIGSTOPped redis-server even when the test fails half-way.
struct ResumeOnExit {
  pid_t pid;
  ~ResumeOnExit() { ::kill(pid, SIGCONT); }
};

TEST_F(RedisClientTest, CommandTimeoutWhenRedisHangs) {
  auto o = options();
  o.command_timeout = 300ms;
  Connection conn(ioc_.get_executor(), o);
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    ResumeOnExit resume{redis_.pid()};
    CO_ASSERT_TRUE(::kill(redis_.pid(), SIGSTOP) == 0);

    // One command and two pipelined behind it: all time out together.
    auto t0 = Clock::now();
    std::vector<Command> cmds;
    cmds.push_back(cmd("PING"));
    cmds.push_back(cmd("INCR", "x"));
    cmds.push_back(cmd("GET", "x"));
    auto results = co_await conn.exec_many(std::move(cmds));
    auto took = ms_since(t0);
    CO_ASSERT_TRUE(results.size() == 3u);
    for (const auto& r : results) {
      CO_ASSERT_TRUE(!r.has_value());
      EXPECT_EQ(r.error(), make_error_code(errc::timeout)) << r.error().message();
    }
    EXPECT_GE(took, 290);
    EXPECT_LT(took, 900);
    EXPECT_FALSE(conn.connected());

    ::kill(redis_.pid(), SIGCONT);
    CO_ASSERT_TRUE(co_await wait_until([&] { return conn.connected(); }, 5s));
    auto pong = co_await conn.exec(cmd("PING"));
    CO_ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(pong->str, "PONG");
  });
}

TEST_F(RedisClientTest, CommandTimeoutOnDebugSleep) {
  auto o = options();
  o.command_timeout = 300ms;
  Connection conn(ioc_.get_executor(), o);
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    auto t0 = Clock::now();
    auto r = co_await conn.exec(cmd("DEBUG", "SLEEP", "1"));  // redis blocks 1 s
    auto took = ms_since(t0);
    CO_ASSERT_TRUE(!r.has_value());
    EXPECT_EQ(r.error(), make_error_code(errc::timeout));
    EXPECT_GE(took, 290);
    EXPECT_LT(took, 900);
    CO_ASSERT_TRUE(co_await wait_until([&] { return conn.connected(); }, 5s));
    auto pong = co_await conn.exec(cmd("PING"));
    CO_ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(pong->str, "PONG");
  });
}

TEST_F(RedisClientTest, StopFailsInFlightWithShuttingDown) {
  Connection conn(ioc_.get_executor(), options());
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    std::optional<Result<Reply>> blocked;
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&]() -> asio::awaitable<void> { blocked = co_await conn.exec(cmd("BLPOP", "never", "0")); },
        asio::detached);
    co_await sleep_for(50ms);
    conn.stop();
    CO_ASSERT_TRUE(co_await wait_until([&] { return blocked.has_value(); }, 1s));
    CO_ASSERT_TRUE(!blocked->has_value());
    EXPECT_EQ(blocked->error(), make_error_code(errc::shutting_down));
    auto r = co_await conn.exec(cmd("PING"));
    CO_ASSERT_TRUE(!r.has_value());
    EXPECT_EQ(r.error(), make_error_code(errc::shutting_down));
    EXPECT_FALSE(conn.connected());
  });
}

const char* kIncrScript = "return redis.call('INCRBY', KEYS[1], ARGV[1])";

TEST_F(RedisClientTest, RunScriptFallsBackToEvalOnNoscript) {
  Connection conn(ioc_.get_executor(), options());
  Script script(kIncrScript);
  ASSERT_TRUE(redis_.command({"SCRIPT", "FLUSH"}).is_ok());
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    // Not loaded: EVALSHA answers NOSCRIPT, run_script sends EVAL (which loads it).
    const std::vector<std::string> keys(1, "k");
    auto args = [](const char* a) { return std::vector<std::string>(1, a); };
    auto direct = co_await conn.exec(script.evalsha(keys, args("1")));
    EXPECT_TRUE(is_noscript(direct)) << describe(direct);

    auto first = co_await run_script(conn, script, keys, args("1"));
    CO_ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->integer, 1) << describe(first);
    auto exists = redis_.command({"SCRIPT", "EXISTS", script.sha()});
    EXPECT_EQ(exists.elements.at(0).integer, 1);  // EVAL cached it under the same SHA

    auto second = co_await run_script(conn, script, keys, args("10"));
    CO_ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->integer, 11);

    EXPECT_TRUE(redis_.command({"SCRIPT", "FLUSH"}).is_ok());
    auto third = co_await run_script(conn, script, keys, args("100"));
    CO_ASSERT_TRUE(third.has_value());
    EXPECT_EQ(third->integer, 111) << describe(third);

    // A script that fails at run time is an error reply, not a NOSCRIPT loop.
    Script broken("return redis.call('NOSUCHCOMMAND')");
    auto bad = co_await run_script(conn, broken, std::vector<std::string>{}, std::vector<std::string>{});
    CO_ASSERT_TRUE(bad.has_value());
    EXPECT_TRUE(bad->is_error());
    EXPECT_FALSE(is_noscript(bad));
  });
  EXPECT_EQ(redis_.command({"GET", "k"}).str, "111");
}

TEST_F(RedisClientTest, RunScriptManyRetriesOnlyTheNoscriptCalls) {
  Connection conn(ioc_.get_executor(), options());
  Script script(kIncrScript);
  ASSERT_TRUE(redis_.command({"SCRIPT", "FLUSH"}).is_ok());
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    for (int round = 1; round <= 3; ++round) {
      if (round == 3) {
        EXPECT_TRUE(redis_.command({"SCRIPT", "FLUSH"}).is_ok());
      }
      std::vector<ScriptCall> calls;
      for (int i = 0; i < 20; ++i) {
        ScriptCall c;
        c.keys.push_back("key" + std::to_string(i));
        c.args.push_back(std::to_string(i));
        calls.push_back(std::move(c));
      }
      auto results = co_await run_script_many(conn, script, std::move(calls));
      CO_ASSERT_TRUE(results.size() == 20u);
      for (int i = 0; i < 20; ++i) {
        CO_ASSERT_TRUE(results[i].has_value());
        EXPECT_EQ(results[i]->integer, static_cast<std::int64_t>(i) * round) << "round " << round << " call " << i;
      }
    }
    auto none = co_await run_script_many(conn, script, std::vector<ScriptCall>{});
    EXPECT_TRUE(none.empty());
  });
  EXPECT_EQ(redis_.command({"GET", "key7"}).str, "21");
}

TEST_F(RedisClientTest, PasswordFromUrl) {
  ASSERT_TRUE(redis_.command({"CONFIG", "SET", "requirepass", "s3cret"}).is_ok());
  const std::string port = std::to_string(redis_.port());
  Connection with_pw(ioc_.get_executor(), options("redis://:s3cret@127.0.0.1:" + port));
  Connection pw_only(ioc_.get_executor(), options("redis://s3cret@127.0.0.1:" + port));
  Connection wrong_pw(ioc_.get_executor(), options("redis://:nope@127.0.0.1:" + port));
  Connection no_pw(ioc_.get_executor(), options("redis://127.0.0.1:" + port));
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(with_pw));
    auto r = co_await with_pw.exec(cmd("SET", "authed", "yes"));
    CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->str, "OK");

    CO_ASSERT_TRUE(co_await connect(pw_only));
    auto pong = co_await pw_only.exec(cmd("PING"));
    CO_ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(pong->str, "PONG");

    // Wrong or missing passwords never count as connected.
    wrong_pw.start();
    no_pw.start();
    co_await sleep_for(300ms);
    EXPECT_FALSE(wrong_pw.connected());
    EXPECT_FALSE(no_pw.connected());
    EXPECT_NE(wrong_pw.last_error().find("AUTH"), std::string::npos) << wrong_pw.last_error();
    EXPECT_NE(no_pw.last_error().find("NOAUTH"), std::string::npos) << no_pw.last_error();
    auto refused = co_await no_pw.exec(cmd("PING"));
    CO_ASSERT_TRUE(!refused.has_value());
    EXPECT_EQ(refused.error(), make_error_code(errc::not_connected));
  });
  EXPECT_EQ(redis_.command({"GET", "authed"}).str, "yes");
}

TEST_F(RedisClientTest, UserAndPasswordFromUrl) {
  ASSERT_TRUE(redis_.command({"ACL", "SETUSER", "alice", "on", ">apw", "~*", "&*", "+@all"}).is_ok());
  const std::string port = std::to_string(redis_.port());
  Connection alice(ioc_.get_executor(), options("redis://alice:apw@127.0.0.1:" + port));
  Connection wrong(ioc_.get_executor(), options("redis://alice:bad@127.0.0.1:" + port));
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(alice));
    auto who = co_await alice.exec(cmd("ACL", "WHOAMI"));
    CO_ASSERT_TRUE(who.has_value());
    EXPECT_EQ(who->str, "alice");
    wrong.start();
    co_await sleep_for(200ms);
    EXPECT_FALSE(wrong.connected());
  });
}

TEST_F(RedisClientTest, SelectsDbFromUrl) {
  Connection conn(ioc_.get_executor(), options("redis://127.0.0.1:" + std::to_string(redis_.port()) + "/3"));
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    auto r = co_await conn.exec(cmd("SET", "in-db-3", "yes"));
    CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->str, "OK");
  });
  auto other = redis_.client();
  EXPECT_TRUE(other.command({"GET", "in-db-3"}).is_nil());  // not in db 0
  ASSERT_TRUE(other.command({"SELECT", "3"}).is_ok());
  EXPECT_EQ(other.command({"GET", "in-db-3"}).str, "yes");
}

TEST_F(RedisClientTest, SelectsDbAgainAfterReconnect) {
  Connection conn(ioc_.get_executor(), options("redis://127.0.0.1:" + std::to_string(redis_.port()) + "/5"));
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    redis_.restart();
    CO_ASSERT_TRUE(co_await wait_until([&] { return !conn.connected(); }, 2s));
    CO_ASSERT_TRUE(co_await wait_until([&] { return conn.connected(); }, 5s));
    auto r = co_await conn.exec(cmd("SET", "after-restart", "1"));
    CO_ASSERT_TRUE(r.has_value());
  });
  auto other = redis_.client();
  ASSERT_TRUE(other.command({"SELECT", "5"}).is_ok());
  EXPECT_EQ(other.command({"GET", "after-restart"}).str, "1");
}

TEST_F(RedisClientTest, ClientNameIsSet) {
  auto o = options();
  o.client_name = "ms-test-conn";
  Connection conn(ioc_.get_executor(), o);
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    auto name = co_await conn.exec(cmd("CLIENT", "GETNAME"));
    CO_ASSERT_TRUE(name.has_value());
    EXPECT_EQ(name->str, "ms-test-conn");
  });
}

// Regression test, bug fixed (was in src/redis/connection.cpp, Impl::enqueue): an empty Command is encoded as
// "*0\r\n", to which Redis sends no reply at all, but a Pending entry is queued for
// it: every later reply goes to the caller before it (desync) until the watchdog
// drops the connection. enqueue should fail an empty command at once instead.
TEST_F(RedisClientTest, EmptyCommandDoesNotDesyncReplies) {
  auto o = options();
  o.command_timeout = 500ms;
  Connection conn(ioc_.get_executor(), o);
  run_coro([&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE(co_await connect(conn));
    std::vector<Command> cmds;
    cmds.push_back(Command{});
    cmds.push_back(cmd("ECHO", "mine"));
    auto results = co_await conn.exec_many(std::move(cmds));
    CO_ASSERT_TRUE(results.size() == 2u);
    EXPECT_FALSE(results[0].has_value()) << describe(results[0]);
    CO_ASSERT_TRUE(results[1].has_value());
    EXPECT_EQ(results[1]->str, "mine") << describe(results[1]);
  });
}

}  // namespace
}  // namespace ms::redis
