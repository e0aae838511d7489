#include "redis/subscriber.h"

#include "observe/log.h"
#include "redis/connect.h"
#include "redis/resp_reader.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <set>

namespace ms::redis {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

struct Subscriber::Impl : std::enable_shared_from_this<Subscriber::Impl> {
  asio::any_io_executor ex;
  ConnectionOptions opts;
  tcp::socket socket;
  asio::steady_timer backoff_timer;
  bool stopped = false;
  bool started = false;
  bool is_connected = false;  // handshake answered (PONG): subscriptions are live
  bool link_up = false;       // socket connected: commands may be written
  std::set<std::string> channels;
  std::set<std::string> patterns;
  std::string wbuf;
  bool writing = false;
  std::function<void(const PubSubMessage&)> on_message;
  std::vector<std::function<void()>> on_connect;
  std::shared_ptr<spdlog::logger> log = observe::logger("redis");
  std::size_t current = 0;  // 0: opts.endpoint, k: opts.fallback_endpoints[k - 1]

  const Endpoint& ep() const { return current == 0 ? opts.endpoint : opts.fallback_endpoints[current - 1]; }
  // After a failed connect or a lost connection, the next endpoint gets the next try.
  void rotate() { current = (current + 1) % (1 + opts.fallback_endpoints.size()); }

  Impl(asio::any_io_executor e, ConnectionOptions o) : ex(std::move(e)), opts(std::move(o)), socket(ex), backoff_timer(ex) {}

  void send(const Command& cmd) {
    if (!link_up) return;  // sent with the rest on (re)connect
    append_command(wbuf, cmd);
    flush();
  }

  void flush() {
    if (writing || wbuf.empty()) return;
    writing = true;
    auto data = std::make_shared<std::string>(std::move(wbuf));
    wbuf.clear();
    asio::async_write(socket, asio::buffer(*data), [self = shared_from_this(), data](boost::system::error_code ec, std::size_t) {
      self->writing = false;
      if (ec) {
        boost::system::error_code ignored;
        self->socket.close(ignored);
        return;
      }
      self->flush();
    });
  }

  asio::awaitable<boost::system::error_code> connect_once() {
    return connect_with_timeout(socket, ep().host, ep().port, opts.connect_timeout);
  }

  void dispatch(const Reply& r) {
    if (!r.is_array() || r.elements.empty()) return;
    const auto& kind = r.elements[0].str;
    if (kind == "message" && r.elements.size() == 3) {
      if (on_message) on_message(PubSubMessage{"", r.elements[1].str, r.elements[2].str});
    } else if (kind == "pmessage" && r.elements.size() == 4) {
      if (on_message) on_message(PubSubMessage{r.elements[1].str, r.elements[2].str, r.elements[3].str});
    }
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    auto backoff = opts.backoff_min;
    while (!stopped) {
      auto ec = co_await connect_once();
      if (stopped) break;
      if (!ec) {
        boost::system::error_code nodelay_ignored;
        socket.set_option(tcp::no_delay(true), nodelay_ignored);
        // Handshake and every subscription in one write; the PING's answer says it all worked.
        link_up = true;
        if (!ep().password.empty()) {
          if (ep().username.empty()) {
            append_command(wbuf, {"AUTH", ep().password});
          } else {
            append_command(wbuf, {"AUTH", ep().username, ep().password});
          }
        }
        if (!opts.client_name.empty()) append_command(wbuf, {"CLIENT", "SETNAME", opts.client_name});
        if (!channels.empty()) {
          Command c{"SUBSCRIBE"};
          c.insert(c.end(), channels.begin(), channels.end());
          append_command(wbuf, c);
        }
        if (!patterns.empty()) {
          Command c{"PSUBSCRIBE"};
          c.insert(c.end(), patterns.begin(), patterns.end());
          append_command(wbuf, c);
        }
        append_command(wbuf, {"PING"});
        flush();
        RespReader reader;
        std::vector<char> buf(64 * 1024);
        for (;;) {
          auto [rec, n] = co_await socket.async_read_some(asio::buffer(buf), kUseTuple);
          if (rec || stopped) break;
          if (!reader.feed(std::string_view(buf.data(), n))) break;
          bool refused = false;
          while (auto reply = reader.next()) {
            if (reply->is_error()) {
              log->warn("pub/sub error reply: {}", reply->str);
              // Not authenticated: this connection will never carry messages; retry with backoff.
              if (reply->str.rfind("WRONGPASS", 0) == 0 || reply->str.rfind("NOAUTH", 0) == 0 ||
                  reply->str.rfind("NOPERM", 0) == 0) {
                refused = true;
              }
            }
            bool pong = (reply->is_string() && reply->str == "PONG") ||
                        (reply->is_array() && !reply->elements.empty() && reply->elements[0].str == "pong");
            if (pong && !is_connected && !refused) {
              is_connected = true;
              backoff = opts.backoff_min;
              log->debug("pub/sub connected to {}:{}", ep().host, ep().port);
              for (auto& fn : on_connect) fn();
            }
            dispatch(*reply);
          }
          if (reader.failed() || refused) break;
        }
        is_connected = false;
        link_up = false;
        wbuf.clear();
        boost::system::error_code ignored;
        socket.close(ignored);
        if (!stopped) log->warn("pub/sub connection to {}:{} lost", ep().host, ep().port);
        rotate();
      } else {
        boost::system::error_code ignored;
        socket.close(ignored);
        rotate();
      }
      if (stopped) break;
      backoff_timer.expires_after(backoff);
      co_await backoff_timer.async_wait(kUseTuple);
      backoff = std::min(backoff * 2, opts.backoff_max);
    }
  }
};

Subscriber::Subscriber(asio::any_io_executor ex, ConnectionOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options))) {}
Subscriber::~Subscriber() { stop(); }

void Subscriber::on_message(std::function<void(const PubSubMessage&)> fn) { impl_->on_message = std::move(fn); }
void Subscriber::on_connect(std::function<void()> fn) { impl_->on_connect.push_back(std::move(fn)); }

void Subscriber::start() {
  if (impl_->started) return;
  impl_->started = true;
  asio::co_spawn(impl_->ex, impl_->run(), asio::detached);
}

void Subscriber::stop() {
  impl_->stopped = true;
  impl_->is_connected = false;
  impl_->link_up = false;
  boost::system::error_code ignored;
  impl_->socket.close(ignored);
  impl_->backoff_timer.cancel();
}

bool Subscriber::connected() const { return impl_->is_connected; }

void Subscriber::subscribe(const std::string& channel) {
  if (impl_->channels.insert(channel).second) impl_->send({"SUBSCRIBE", channel});
}
void Subscriber::unsubscribe(const std::string& channel) {
  if (impl_->channels.erase(channel)) impl_->send({"UNSUBSCRIBE", channel});
}
void Subscriber::psubscribe(const std::string& pattern) {
  if (impl_->patterns.insert(pattern).second) impl_->send({"PSUBSCRIBE", pattern});
}
void Subscriber::punsubscribe(const std::string& pattern) {
  if (impl_->patterns.erase(pattern)) impl_->send({"PUNSUBSCRIBE", pattern});
}

}  // namespace ms::redis
