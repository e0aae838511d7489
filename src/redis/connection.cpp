#include "redis/connection.h"

#include "observe/log.h"
#include "redis/connect.h"
#include "redis/errors.h"
#include "redis/redis_metrics.h"
#include "redis/resp_reader.h"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <deque>
#include <optional>

namespace ms::redis {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Completion = asio::any_completion_handler<void(Result<Reply>)>;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

struct Connection::Impl : std::enable_shared_from_this<Connection::Impl> {
  enum class State { idle, connecting, handshaking, connected, stopped };

  struct Pending {
    Completion done;
    Clock::time_point sent_at;
  };

  asio::any_io_executor ex;
  ConnectionOptions opts;
  tcp::socket socket;
  asio::steady_timer disconnect_signal;
  asio::steady_timer backoff_timer;
  asio::steady_timer watchdog;
  State state = State::idle;
  bool started = false;
  std::atomic<bool> up{false};  // state == connected, readable from any thread (readiness)
  std::uint64_t generation = 0;
  std::string wbuf;          // commands waiting for the next write
  std::string writing;       // the write in flight
  bool write_in_flight = false;
  bool write_scheduled = false;
  std::deque<Pending> pending;  // replies owed, in order
  std::string error = "not connected yet";
  ConnectionStats stats;
  RedisMetrics& metrics = RedisMetrics::get();
  std::vector<std::function<void()>> on_connect;
  std::shared_ptr<spdlog::logger> log = observe::logger("redis");

  Impl(asio::any_io_executor e, ConnectionOptions o)
      : ex(std::move(e)), opts(std::move(o)), socket(ex), disconnect_signal(ex), backoff_timer(ex), watchdog(ex) {}

  // Completions run later on the caller's executor (ours for plain callbacks), never
  // inline: a resumed caller may issue new commands while we walk the reply queue.
  void complete(Completion h, Result<Reply> r) {
    asio::post(ex, [h = std::move(h), r = std::move(r)]() mutable { std::move(h)(std::move(r)); });
  }

  void enqueue(const Command& cmd, Completion done, bool handshake = false) {
    if (cmd.empty()) {  // Redis answers nothing to "*0": it would shift every reply after it
      complete(std::move(done), make_error_code(errc::protocol_error));
      return;
    }
    bool ok = handshake ? (state == State::handshaking) : (state == State::connected);
    if (!ok) {
      complete(std::move(done), make_error_code(state == State::stopped ? errc::shutting_down : errc::not_connected));
      return;
    }
    append_command(wbuf, cmd);
    pending.push_back(Pending{std::move(done), Clock::now()});
    ++stats.commands;
    schedule_write();
  }

  // Defer the write by one turn of the event loop so that every coroutine that is
  // ready now adds its command to the same write.
  void schedule_write() {
    if (write_in_flight || write_scheduled) return;
    write_scheduled = true;
    asio::post(ex, [self = shared_from_this(), gen = generation] {
      self->write_scheduled = false;
      if (gen == self->generation) self->do_write();
    });
  }

  void do_write() {
    if (write_in_flight || wbuf.empty() || !socket.is_open()) return;
    write_in_flight = true;
    writing.swap(wbuf);
    ++stats.writes;
    asio::async_write(socket, asio::buffer(writing),
                      [self = shared_from_this(), gen = generation](boost::system::error_code ec, std::size_t) {
                        if (gen != self->generation) return;
                        self->write_in_flight = false;
                        self->writing.clear();
                        if (ec) {
                          self->fail_connection(ec.message());
                          return;
                        }
                        if (!self->wbuf.empty()) self->do_write();
                      });
  }

  void fail_connection(const std::string& why, errc code = errc::connection_lost) {
    metrics.connection_errors.Increment();
    if (state == State::connected || state == State::handshaking) {
      log->warn("connection to {}:{} lost: {}", opts.endpoint.host, opts.endpoint.port, why);
    }
    error = why;
    ++generation;
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    wbuf.clear();
    writing.clear();
    write_in_flight = false;
    auto owed = std::move(pending);
    pending.clear();
    for (auto& p : owed) complete(std::move(p.done), make_error_code(code));
    if (state != State::stopped) state = State::idle;
    up = false;
    disconnect_signal.cancel();
  }

  asio::awaitable<void> read_loop(std::uint64_t gen) {
    auto self = shared_from_this();
    RespReader reader;
    std::vector<char> buf(64 * 1024);
    while (gen == generation) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), kUseTuple);
      if (gen != generation) co_return;
      if (ec) {
        fail_connection(ec == asio::error::eof ? "closed by server" : ec.message());
        co_return;
      }
      if (!reader.feed(std::string_view(buf.data(), n))) {
        fail_connection("protocol error: " + reader.error(), errc::protocol_error);
        co_return;
      }
      while (auto reply = reader.next()) {
        if (pending.empty()) {
          fail_connection("reply without a command", errc::protocol_error);
          co_return;
        }
        auto p = std::move(pending.front());
        pending.pop_front();
        metrics.command_duration.Observe(std::chrono::duration<double>(Clock::now() - p.sent_at).count());
        complete(std::move(p.done), std::move(*reply));
      }
      if (reader.failed()) {
        fail_connection("protocol error: " + reader.error(), errc::protocol_error);
        co_return;
      }
    }
  }

  asio::awaitable<Result<Reply>> exec_internal(Command cmd, bool handshake) {
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<Reply>)>(
        [this, handshake](auto handler, Command c) { enqueue(c, Completion(std::move(handler)), handshake); },
        asio::use_awaitable, std::move(cmd));
  }

  // The command is encoded into the write buffer when the operation starts, so
  // the caller keeps it (to send it again elsewhere) without a copy.
  asio::awaitable<Result<Reply>> exec_ref(const Command& cmd) {
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<Reply>)>(
        [this, &cmd](auto handler) { enqueue(cmd, Completion(std::move(handler))); }, asio::use_awaitable);
  }

  asio::awaitable<boost::system::error_code> connect_once() {
    return connect_with_timeout(socket, opts.endpoint.host, opts.endpoint.port, opts.connect_timeout);
  }

  asio::awaitable<std::string> handshake() {
    std::vector<Command> cmds;
    if (!opts.endpoint.password.empty()) {
      if (opts.endpoint.username.empty()) {
        cmds.push_back({"AUTH", opts.endpoint.password});
      } else {
        cmds.push_back({"AUTH", opts.endpoint.username, opts.endpoint.password});
      }
    }
    if (opts.endpoint.db != 0) cmds.push_back({"SELECT", std::to_string(opts.endpoint.db)});
    if (!opts.client_name.empty()) cmds.push_back({"CLIENT", "SETNAME", opts.client_name});
    cmds.push_back({"PING"});
    for (auto& c : cmds) {
      auto name = c[0];
      auto r = co_await exec_internal(std::move(c), true);
      if (!r) co_return name + ": " + r.error().message();
      if (r->is_error()) co_return name + ": " + r->str;
    }
    co_return std::string{};
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    auto backoff = opts.backoff_min;
    bool was_connected = false;
    while (state != State::stopped) {
      state = State::connecting;
      auto ec = co_await connect_once();
      if (state == State::stopped) break;
      if (ec) {
        error = "connect to " + opts.endpoint.host + ":" + std::to_string(opts.endpoint.port) + ": " + ec.message();
        boost::system::error_code ignored;
        socket.close(ignored);
        state = State::idle;
      } else {
        ++generation;
        state = State::handshaking;
        asio::co_spawn(ex, read_loop(generation), asio::detached);
        auto why = co_await handshake();
        if (state == State::stopped) break;
        if (!why.empty()) {
          fail_connection(why);
        } else if (state == State::handshaking) {
          state = State::connected;
          up = true;
          error.clear();
          backoff = opts.backoff_min;
          if (was_connected) {
            ++stats.reconnects;
            metrics.reconnects.Increment();
          }
          log->info("connected to {}:{}", opts.endpoint.host, opts.endpoint.port);
          was_connected = true;
          for (auto& fn : on_connect) fn();
          disconnect_signal.expires_at(Clock::time_point::max());
          co_await disconnect_signal.async_wait(kUseTuple);
          if (state == State::stopped) break;
        }
      }
      backoff_timer.expires_after(backoff);
      co_await backoff_timer.async_wait(kUseTuple);
      backoff = std::min(backoff * 2, opts.backoff_max);
    }
  }

  // A command unanswered past its timeout means Redis (or the path to it) hangs.
  asio::awaitable<void> watch() {
    auto self = shared_from_this();
    auto period = std::max(std::chrono::milliseconds(20), opts.command_timeout / 10);
    while (state != State::stopped) {
      watchdog.expires_after(period);
      co_await watchdog.async_wait(kUseTuple);
      if (state == State::stopped) break;
      if (!pending.empty() && Clock::now() - pending.front().sent_at > opts.command_timeout) {
        fail_connection("no reply within " + std::to_string(opts.command_timeout.count()) + " ms", errc::timeout);
      }
    }
  }
};

Connection::Connection(asio::any_io_executor ex, ConnectionOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options))) {}

Connection::~Connection() { stop(); }

void Connection::start() {
  // The state leaves idle only once run() runs: a flag makes a second start() a no-op.
  if (impl_->state != Impl::State::idle || impl_->started) return;
  impl_->started = true;
  asio::co_spawn(impl_->ex, impl_->run(), asio::detached);
  asio::co_spawn(impl_->ex, impl_->watch(), asio::detached);
}

void Connection::stop() {
  auto& i = *impl_;
  if (i.state == Impl::State::stopped) return;
  i.state = Impl::State::stopped;
  i.fail_connection("stopped", errc::shutting_down);
  i.backoff_timer.cancel();
  i.watchdog.cancel();
}

bool Connection::connected() const { return impl_->up.load(std::memory_order_relaxed); }
std::string Connection::last_error() const { return impl_->error; }
ConnectionStats Connection::stats() const { return impl_->stats; }
const Endpoint& Connection::endpoint() const { return impl_->opts.endpoint; }
void Connection::on_connect(std::function<void()> fn) { impl_->on_connect.push_back(std::move(fn)); }

asio::awaitable<Result<Reply>> Connection::exec(Command cmd) {
  return impl_->exec_internal(std::move(cmd), false);
}

asio::awaitable<Result<Reply>> Connection::exec_ref(const Command& cmd) { return impl_->exec_ref(cmd); }

void Connection::exec_async(Command cmd, std::function<void(Result<Reply>)> done) {
  impl_->enqueue(cmd, Completion([d = std::move(done)](Result<Reply> r) { d(std::move(r)); }));
}

asio::awaitable<std::vector<Result<Reply>>> Connection::exec_many(std::vector<Command> cmds) {
  using Results = std::vector<Result<Reply>>;
  auto impl = impl_;
  // A named initiation: g++ 12 destroys non-trivial temporaries of a co_await
  // expression twice (it would drop the shared_ptr capture twice).
  auto initiate = [impl](auto handler, std::vector<Command> cs) {
        struct Gather {
          Results results;
          std::size_t remaining = 0;
          std::optional<decltype(handler)> done;
        };
        auto g = std::make_shared<Gather>();
        g->results.assign(cs.size(), Result<Reply>(make_error_code(errc::not_connected)));
        g->remaining = cs.size();
        g->done.emplace(std::move(handler));
        auto finish = [impl](std::shared_ptr<Gather> gather) {
          asio::post(impl->ex, [gather]() mutable { std::move(*gather->done)(std::move(gather->results)); });
        };
        if (cs.empty()) {
          finish(g);
          return;
        }
        for (std::size_t i = 0; i < cs.size(); ++i) {
          impl->enqueue(cs[i], Completion([g, i, finish](Result<Reply> r) {
                          g->results[i] = std::move(r);
                          if (--g->remaining == 0) finish(g);
                        }));
        }
      };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Results)>(initiate, asio::use_awaitable,
                                                                                       std::move(cmds));
}

}  // namespace ms::redis
