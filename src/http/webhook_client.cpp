#include "http/webhook_client.h"

#include "http/ssrf_guard.h"
#include "observe/log.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <list>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace ms::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Failure = WebhookResponse::Failure;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kChunk = 16 * 1024;                   // body read granularity
constexpr std::chrono::hours kMaxTimeout{24};               // clamps absurd timeouts (no overflow)

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "Connection refused" → "connection refused": errors read as one sentence.
std::string message_of(const boost::system::error_code& ec) {
  std::string m = ec.message();
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}

WebhookResponse failed(Failure failure, std::string error) {
  WebhookResponse r;
  r.failure = failure;
  r.error = std::move(error);
  return r;
}

bool is_token_char(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool valid_header(std::string_view name, std::string_view value) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) return false;
  return std::none_of(value.begin(), value.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7F;
  });
}

// The parts of a webhook URL the client needs.
struct Target {
  bool tls = false;
  std::string host;         // lower case, IPv6 without brackets
  std::uint16_t port = 0;
  std::optional<asio::ip::address> literal;  // host is an IP literal: no DNS, no SNI
  std::string host_header;  // "example.com", "example.com:8443", "[::1]:8080"
  std::string target;       // "/path?query"
  std::string origin;       // "https://example.com:443": the pool key
};

// Empty error → ok.
std::string parse_target(std::string_view url, Target& t) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return "not an absolute URL: " + message_of(parsed.error());
  const boost::urls::url_view& u = *parsed;
  if (u.scheme_id() == boost::urls::scheme::https) {
    t.tls = true;
  } else if (u.scheme_id() != boost::urls::scheme::http) {
    return "unsupported scheme \"" + std::string(u.scheme()) + "\" (only http and https)";
  }
  if (!u.has_authority() || u.encoded_host().empty()) return "URL has no host";

  switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6: {
      t.host = lower(u.host_address());
      boost::system::error_code ec;
      auto addr = asio::ip::make_address(t.host, ec);
      if (ec) return "bad IP address in URL: " + t.host;
      t.literal = addr;
      break;
    }
    case boost::urls::host_type::name: {
      t.host = lower(u.host_name());
      auto ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'; };
      if (t.host.empty() || !std::all_of(t.host.begin(), t.host.end(), ok)) return "bad host name in URL";
      // A name the system resolver reads as an address ("127.1"): still a
      // name here; the connect-time SSRF check sees the resolved address.
      break;
    }
    default:
      return "unsupported host in URL";
  }

  t.port = t.tls ? 443 : 80;
  if (u.has_port()) {
    std::string_view p = u.port();
    unsigned value = 0;
    auto [end, err] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (p.empty() || err != std::errc() || end != p.data() + p.size() || value == 0 || value > 65535) {
      return "bad port in URL: \"" + std::string(p) + "\"";
    }
    t.port = static_cast<std::uint16_t>(value);
  }
  const bool default_port = t.port == (t.tls ? 443 : 80);
  const bool v6 = t.literal && t.literal->is_v6();
  t.host_header = v6 ? "[" + t.host + "]" : t.host;
  if (!default_port) t.host_header += ":" + std::to_string(t.port);

  t.target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) t.target += "?" + std::string(u.encoded_query());
  t.origin = std::string(t.tls ? "https://" : "http://") + (v6 ? "[" + t.host + "]" : t.host) + ":" +
             std::to_string(t.port);
  return {};
}

std::string endpoint_text(const tcp::endpoint& ep) {
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

// One keep-alive connection. Exactly one of plain / tls is set.
struct Connection {
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;  // kept across requests (bytes read ahead belong to the next response)
  Clock::time_point idle_since{};
  std::string peer;  // "127.0.0.1:8080"
  std::uint64_t id = 0;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  void close() {
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  // Non-blocking look at an idle connection: a server that closed it (EOF), reset it or sent
  // anything unasked for (a stray response, a TLS alert) makes it unusable.
  bool looks_alive() {
    auto& socket = lowest().socket();
    if (!socket.is_open() || buffer.size() != 0) return false;
    if (tls && SSL_pending(tls->native_handle()) > 0) return false;
    char byte = 0;
    const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n >= 0) return false;  // 0: EOF; >0: unexpected bytes
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
};

// A caller waiting for a connection of a full pool. Lives in the caller's
// coroutine frame; the pool holds a pointer while it waits.
struct Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : timer(ex) {}
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  // A frame destroyed while suspended (io_context torn down) must not leave a
  // dangling pointer in the pool.
  ~Waiter() { dequeue(); }

  void enqueue(std::list<Waiter*>& q) {
    queue = &q;
    pos = q.insert(q.end(), this);
  }
  void dequeue() {
    if (queue) queue->erase(pos);
    queue = nullptr;
  }

  asio::steady_timer timer;
  std::list<Waiter*>* queue = nullptr;  // set while waiting
  std::list<Waiter*>::iterator pos;
  bool granted = false;  // got a slot: `conn` is an idle connection, or null (open a new one)
  bool closed = false;   // the client was closed while waiting
  std::unique_ptr<Connection> conn;
};

struct Pool {
  std::string origin;
  std::size_t open = 0;  // slots taken: connecting + busy + idle
  std::vector<std::unique_ptr<Connection>> idle;  // back = most recently used
  std::list<Waiter*> waiters;                    // first come, first served
  std::unordered_set<Connection*> busy;          // so close_all() can reach them

  bool unused() const { return open == 0 && idle.empty() && waiters.empty() && busy.empty(); }
};

// What one request/response on one connection came to.
struct Exchange {
  enum class Phase { done, write, read_header, read_body } phase = Phase::done;
  beast::error_code ec;
  bool nothing_received = false;  // the failure came before any byte of the response
  bool keep_alive = false;        // the connection may carry the next request
  WebhookResponse response;
};

// Writes the request and reads the response, everything bounded by `deadline`.
// The body is read in chunks through a buffer_body so a huge (or endless)
// body costs at most max_body bytes: past that the read stops and the
// connection is not reused.
template <class Stream>
asio::awaitable<Exchange> exchange(Stream& stream, Connection& conn, bhttp::request<bhttp::string_body>& request,
                                   Clock::time_point deadline, const WebhookClientOptions& opts) {
  Exchange x;
  beast::tcp_stream& lowest = conn.lowest();
  lowest.expires_at(deadline);
  auto [write_ec, written] = co_await bhttp::async_write(stream, request, kUseTuple);
  if (write_ec) {
    x.phase = Exchange::Phase::write;
    x.ec = write_ec;
    x.nothing_received = true;
    co_return x;
  }

  std::vector<char> chunk(kChunk);
  for (;;) {  // loops only over interim 1xx responses
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(boost::none);  // enforced below, without failing the response
    parser.header_limit(static_cast<std::uint32_t>(opts.max_response_header));
    lowest.expires_at(deadline);
    auto [header_ec, header_n] = co_await bhttp::async_read_header(stream, conn.buffer, parser, kUseTuple);
    if (header_ec) {
      x.phase = Exchange::Phase::read_header;
      x.ec = header_ec;
      x.nothing_received = !parser.got_some() && conn.buffer.size() == 0;
      co_return x;
    }
    auto& msg = parser.get();
    const int status = static_cast<int>(msg.result_int());
    if (status >= 100 && status < 200 && status != 101) continue;  // 100 Continue etc.: the real answer follows

    WebhookResponse& res = x.response;
    res.status = status;
    res.headers.reserve(16);
    for (const auto& field : msg) res.headers.emplace_back(lower(field.name_string()), std::string(field.value()));

    while (!parser.is_done()) {
      msg.body().data = chunk.data();
      msg.body().size = chunk.size();
      lowest.expires_at(deadline);
      auto [body_ec, body_n] = co_await bhttp::async_read(stream, conn.buffer, parser, kUseTuple);
      if (body_ec == bhttp::error::need_buffer) body_ec = {};
      const std::size_t got = chunk.size() - msg.body().size;
      const std::size_t room = opts.max_response_body - std::min(opts.max_response_body, res.body.size());
      res.body.append(chunk.data(), std::min(got, room));
      if (got > room) res.body_truncated = true;
      if (body_ec) {
        x.phase = Exchange::Phase::read_body;
        x.ec = body_ec;
        co_return x;
      }
      if (res.body_truncated) break;
    }
    x.keep_alive = parser.is_done() && !res.body_truncated && msg.keep_alive() && status != 101;
    co_return x;
  }
}

}  // namespace

// ---- WebhookResponse ---------------------------------------------------------------

std::optional<std::string_view> WebhookResponse::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

std::string_view to_string(WebhookResponse::Failure failure) {
  switch (failure) {
    case Failure::none: return "none";
    case Failure::timeout: return "timeout";
    case Failure::connect: return "connect";
    case Failure::tls: return "tls";
    case Failure::refused_address: return "refused_address";
    case Failure::protocol: return "protocol";
    case Failure::bad_url: return "bad_url";
  }
  return "unknown";
}

// ---- Impl ------------------------------------------------------------------------------

// Owned by the WebhookClient and by every post() in flight (shared_ptr), used
// only on `ex`. Pools are keyed by origin and removed when they hold nothing.
struct WebhookClient::Impl : std::enable_shared_from_this<WebhookClient::Impl> {
  Impl(asio::any_io_executor e, WebhookClientOptions o)
      : ex(std::move(e)), opts(std::move(o)), ssl_ctx(ssl::context::tls_client), sweep_timer(ex) {
    if (opts.max_connections_per_origin == 0) opts.max_connections_per_origin = 1;
    ssl_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ssl_ctx.set_default_verify_paths();
    if (!opts.ca_file.empty()) ssl_ctx.load_verify_file(opts.ca_file);  // throws: a config error
    ssl_ctx.set_verify_mode(ssl::verify_peer);
  }

  // A slot in a pool's cap, with the connection using it once there is one.
  // The destructor gives the slot back (closing the connection) on every path
  // that did not release it explicitly, exceptions included.
  struct Slot {
    Impl* impl = nullptr;
    Pool* pool = nullptr;
    std::unique_ptr<Connection> conn;
    bool reused = false;

    Slot() = default;
    Slot(Impl* i, Pool* p, std::unique_ptr<Connection> c, bool r) : impl(i), pool(p), conn(std::move(c)), reused(r) {}
    Slot(Slot&& o) noexcept
        : impl(std::exchange(o.impl, nullptr)), pool(o.pool), conn(std::move(o.conn)), reused(o.reused) {}
    Slot& operator=(Slot&& o) noexcept {
      if (this != &o) {
        if (impl) impl->release(*pool, std::move(conn), false);
        impl = std::exchange(o.impl, nullptr);
        pool = o.pool;
        conn = std::move(o.conn);
        reused = o.reused;
      }
      return *this;
    }
    ~Slot() {
      if (impl) impl->release(*pool, std::move(conn), false);
    }
    void release(bool reusable) { std::exchange(impl, nullptr)->release(*pool, std::move(conn), reusable); }
    explicit operator bool() const { return impl != nullptr; }
  };

  struct Acquired {
    Slot slot;
    WebhookResponse failure;  // when !slot
  };

  struct Connected {
    std::unique_ptr<Connection> conn;
    WebhookResponse failure;  // when !conn
  };

  asio::any_io_executor ex;
  WebhookClientOptions opts;
  ssl::context ssl_ctx;  // outlives every stream: streams live in pools and frames that hold this Impl
  std::unordered_map<std::string, std::unique_ptr<Pool>> pools;
  asio::steady_timer sweep_timer;
  bool sweeping = false;
  bool closed = false;
  std::uint64_t created = 0;
  std::uint64_t reused = 0;
  std::uint64_t stale_retries = 0;
  std::uint64_t next_id = 0;
  std::shared_ptr<spdlog::logger> log = observe::logger("webhook");

  static std::string timeout_text(std::chrono::milliseconds timeout, std::string_view phase) {
    return "timeout after " + std::to_string(timeout.count()) + " ms (" + std::string(phase) + ")";
  }

  Pool& pool_for(const std::string& origin) {
    auto& p = pools[origin];
    if (!p) {
      p = std::make_unique<Pool>();
      p->origin = origin;
    }
    return *p;
  }

  void erase_if_unused(Pool& pool) {
    if (pool.unused()) pools.erase(pool.origin);  // `pool` dangles from here on
  }

  // Gives a slot back. A reusable connection goes to the first waiter, or idle;
  // otherwise the connection is closed and the slot itself goes to the first
  // waiter (who opens a new connection), or is freed.
  void release(Pool& pool, std::unique_ptr<Connection> conn, bool reusable) {
    if (conn) pool.busy.erase(conn.get());
    if (closed) reusable = false;
    if (conn && reusable) {
      if (!pool.waiters.empty()) {
        Waiter* w = pool.waiters.front();
        w->dequeue();
        w->granted = true;
        w->conn = std::move(conn);
        w->timer.cancel();
        return;
      }
      conn->idle_since = Clock::now();
      pool.idle.push_back(std::move(conn));
      start_sweeper();
      return;
    }
    if (conn) conn->close();
    if (!pool.waiters.empty() && !closed) {
      Waiter* w = pool.waiters.front();
      w->dequeue();
      w->granted = true;
      w->timer.cancel();
      return;
    }
    --pool.open;
    erase_if_unused(pool);
  }

  // Takes an idle connection, or a free slot to open one, or waits (FIFO) until
  // another caller releases one, bounded by `deadline`.
  asio::awaitable<Acquired> acquire(const Target& t, Clock::time_point deadline, std::chrono::milliseconds timeout) {
    Acquired out;
    Pool& pool = pool_for(t.origin);
    while (!pool.idle.empty()) {
      std::unique_ptr<Connection> conn = std::move(pool.idle.back());
      pool.idle.pop_back();
      if (Clock::now() - conn->idle_since < opts.idle_timeout && conn->looks_alive()) {
        ++reused;
        pool.busy.insert(conn.get());
        out.slot = Slot(this, &pool, std::move(conn), true);
        co_return out;
      }
      log->debug("dropping dead or expired idle connection {} to {}", conn->id, pool.origin);
      conn->close();
      --pool.open;
    }
    if (pool.open < opts.max_connections_per_origin) {
      ++pool.open;
      out.slot = Slot(this, &pool, nullptr, false);
      co_return out;
    }

    Waiter waiter(ex);
    waiter.enqueue(pool.waiters);
    waiter.timer.expires_at(deadline);
    co_await waiter.timer.async_wait(kUseTuple);
    if (waiter.closed) {  // close_all() emptied the queue and may have dropped the pool
      out.failure = failed(Failure::connect, "webhook client closed");
      co_return out;
    }
    if (waiter.granted) {  // `pool` holds our slot, so it is still there
      const bool with_conn = waiter.conn != nullptr;
      if (with_conn) pool.busy.insert(waiter.conn.get());
      Slot slot(this, &pool, std::move(waiter.conn), with_conn);
      if (Clock::now() >= deadline) {  // granted too late: hand the connection on rather than burn it
        slot.release(with_conn);
        out.failure = failed(Failure::timeout, timeout_text(timeout, "waiting for a free connection"));
        co_return out;
      }
      if (with_conn) ++reused;
      out.slot = std::move(slot);
      co_return out;
    }
    waiter.dequeue();
    erase_if_unused(pool);
    out.failure = failed(Failure::timeout, timeout_text(timeout, "waiting for a free connection"));
    co_return out;
  }

  // DNS through the resolver's own thread, but never waited for past the
  // deadline: on timeout the lookup is abandoned (its state is shared with the
  // completion handler, which still runs, later, and finds nobody).
  struct ResolveState {
    explicit ResolveState(const asio::any_io_executor& e) : resolver(e), wake(e) {}
    tcp::resolver resolver;
    asio::steady_timer wake;
    bool done = false;
    beast::error_code ec;
    tcp::resolver::results_type results;
  };

  asio::awaitable<Connected> connect(const Target& t, Clock::time_point deadline, std::chrono::milliseconds timeout) {
    Connected out;
    std::vector<tcp::endpoint> endpoints;
    if (t.literal) {
      endpoints.emplace_back(*t.literal, t.port);
    } else {
      auto state = std::make_shared<ResolveState>(ex);
      state->wake.expires_at(deadline);
      auto on_resolved = [state](beast::error_code ec, tcp::resolver::results_type results) {
        state->ec = ec;
        state->results = std::move(results);
        state->done = true;
        state->wake.cancel();
      };
      std::string service = std::to_string(t.port);
      state->resolver.async_resolve(t.host, service, tcp::resolver::numeric_service, std::move(on_resolved));
      co_await state->wake.async_wait(kUseTuple);
      if (!state->done) {
        state->resolver.cancel();
        out.failure = failed(Failure::timeout, timeout_text(timeout, "resolving " + t.host));
        co_return out;
      }
      if (state->ec) {
        out.failure = failed(Failure::connect, "cannot resolve " + t.host + ": " + message_of(state->ec));
        co_return out;
      }
      for (const auto& entry : state->results) endpoints.push_back(entry.endpoint());
    }

    std::vector<std::string> refusals;
    std::string connect_error;
    std::unique_ptr<Connection> conn;
    for (const tcp::endpoint& ep : endpoints) {
      if (opts.guard) {
        std::string reason = opts.guard->check(ep.address());
        if (!reason.empty()) {
          refusals.push_back(SsrfGuard::refusal_message(ep.address(), reason));
          continue;
        }
      }
      auto candidate = std::make_unique<Connection>();
      if (t.tls) {
        candidate->tls.emplace(ex, ssl_ctx);
      } else {
        candidate->plain.emplace(ex);
      }
      beast::tcp_stream& lowest = candidate->lowest();
      lowest.expires_at(deadline);
      auto [ec] = co_await lowest.async_connect(ep, kUseTuple);
      if (!ec) {
        candidate->peer = endpoint_text(ep);
        conn = std::move(candidate);
        break;
      }
      if (ec == beast::error::timeout || Clock::now() >= deadline) {
        out.failure = failed(Failure::timeout, timeout_text(timeout, "connecting to " + endpoint_text(ep)));
        co_return out;
      }
      connect_error = "connect to " + endpoint_text(ep) + " failed: " + message_of(ec);
    }
    if (!conn) {
      std::string refused;
      for (const auto& r : refusals) refused += (refused.empty() ? "" : "; ") + r;
      if (connect_error.empty() && !refused.empty()) {
        out.failure = failed(Failure::refused_address, std::move(refused));
      } else if (connect_error.empty()) {
        out.failure = failed(Failure::connect, "no address found for " + t.host);
      } else {
        out.failure = failed(Failure::connect, refused.empty() ? connect_error : connect_error + "; " + refused);
      }
      co_return out;
    }

    if (conn->tls) {
      auto& stream = *conn->tls;
      // SNI only for names (RFC 6066 forbids IP literals); verification handles both.
      if (!t.literal && !SSL_set_tlsext_host_name(stream.native_handle(), t.host.c_str())) {
        out.failure = failed(Failure::tls, "tls: cannot set SNI host name " + t.host);
        co_return out;
      }
      stream.set_verify_mode(ssl::verify_peer);
      // host_name_verification (IP literals via X509_check_ip_asc), naming a
      // mismatch as such instead of OpenSSL's "unspecified" error.
      const int mismatch = t.literal ? X509_V_ERR_IP_ADDRESS_MISMATCH : X509_V_ERR_HOSTNAME_MISMATCH;
      auto verify = [check = ssl::host_name_verification(t.host), mismatch](bool preverified,
                                                                            ssl::verify_context& ctx) mutable {
        const bool ok = check(preverified, ctx);
        if (preverified && !ok) X509_STORE_CTX_set_error(ctx.native_handle(), mismatch);
        return ok;
      };
      stream.set_verify_callback(std::move(verify));
      conn->lowest().expires_at(deadline);
      auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, kUseTuple);
      if (ec) {
        if (ec == beast::error::timeout || Clock::now() >= deadline) {
          out.failure = failed(Failure::timeout, timeout_text(timeout, "TLS handshake with " + conn->peer));
          co_return out;
        }
        // "certificate verify failed (SSL routines)" says little; the verify result says why.
        const long verify = SSL_get_verify_result(stream.native_handle());
        std::string text = verify != X509_V_OK
                               ? std::string("tls: certificate verify failed: ") + X509_verify_cert_error_string(verify)
                               : "tls: " + message_of(ec);
        out.failure = failed(Failure::tls, text + " (" + t.host + " at " + conn->peer + ")");
        co_return out;
      }
    }
    conn->id = ++next_id;
    ++created;
    log->debug("connection {} to {} ({}) established", conn->id, t.origin, conn->peer);
    out.conn = std::move(conn);
    co_return out;
  }

  bhttp::request<bhttp::string_body> build_request(const Target& t, WebhookRequest& req, std::string& error) const {
    bhttp::request<bhttp::string_body> out(bhttp::verb::post, t.target, 11);
    out.set(bhttp::field::host, t.host_header);
    out.set(bhttp::field::user_agent, opts.user_agent);
    out.set(bhttp::field::content_type, "application/json");
    for (const auto& [name, value] : req.headers) {
      if (!valid_header(name, value)) {
        error = "invalid request header \"" + name + "\"";
        return out;
      }
      const std::string lname = lower(name);
      if (lname == "host" || lname == "content-length" || lname == "transfer-encoding" || lname == "connection" ||
          lname == "keep-alive" || lname == "te" || lname == "upgrade") {
        continue;  // framing and connection management are the client's
      }
      if (lname == "content-type" || lname == "user-agent") {
        out.set(name, value);
      } else {
        out.insert(name, value);
      }
    }
    out.keep_alive(true);
    out.body() = std::move(req.body);
    out.prepare_payload();
    return out;
  }

  asio::awaitable<WebhookResponse> run(WebhookRequest req) {
    auto self = shared_from_this();  // first local: outlives the Slot below on every path
    try {
      co_return co_await run_unguarded(req);
    } catch (const std::exception& e) {
      log->error("webhook post to {} threw: {}", req.url, e.what());
      co_return failed(Failure::protocol, std::string("internal error: ") + e.what());
    }
  }

  asio::awaitable<WebhookResponse> run_unguarded(WebhookRequest& req) {
    const auto timeout = std::clamp(req.timeout, std::chrono::milliseconds(0),
                                    std::chrono::duration_cast<std::chrono::milliseconds>(kMaxTimeout));
    const Clock::time_point deadline = Clock::now() + timeout;
    if (closed) co_return failed(Failure::connect, "webhook client closed");

    Target t;
    if (std::string err = parse_target(req.url, t); !err.empty()) co_return failed(Failure::bad_url, std::move(err));
    std::string header_error;
    auto request = build_request(t, req, header_error);
    if (!header_error.empty()) co_return failed(Failure::bad_url, std::move(header_error));

    Acquired acquired = co_await acquire(t, deadline, timeout);
    if (!acquired.slot) co_return std::move(acquired.failure);
    Slot slot = std::move(acquired.slot);

    for (int attempt = 0;; ++attempt) {
      if (closed) co_return failed(Failure::connect, "webhook client closed");
      if (!slot.conn) {
        Connected connected = co_await connect(t, deadline, timeout);
        if (!connected.conn) co_return std::move(connected.failure);  // ~Slot frees the slot
        if (closed) co_return failed(Failure::connect, "webhook client closed");
        slot.conn = std::move(connected.conn);
        slot.pool->busy.insert(slot.conn.get());
      }
      Connection& conn = *slot.conn;
      Exchange x;
      if (conn.tls) {
        x = co_await exchange(*conn.tls, conn, request, deadline, opts);
      } else {
        x = co_await exchange(*conn.plain, conn, request, deadline, opts);
      }

      if (x.phase == Exchange::Phase::done) {
        if (!x.keep_alive) log->debug("connection {} to {} not reused", conn.id, t.origin);
        slot.release(x.keep_alive);
        co_return std::move(x.response);
      }

      const bool timed_out = x.ec == beast::error::timeout || Clock::now() >= deadline;
      const bool stale = !timed_out && slot.reused && attempt == 0 &&
                         (x.phase == Exchange::Phase::write ||
                          (x.phase == Exchange::Phase::read_header && x.nothing_received));
      if (stale) {
        // The server closed the idle connection (keep-alive race): it saw
        // nothing of this request, so try once more on a fresh connection,
        // keeping the slot.
        ++stale_retries;
        log->debug("pooled connection {} to {} was closed by the server ({}); retrying on a new connection", conn.id,
                   t.origin, x.ec.message());
        slot.pool->busy.erase(&conn);
        conn.close();
        slot.conn.reset();
        slot.reused = false;
        continue;
      }
      if (timed_out) {
        const char* phase = x.phase == Exchange::Phase::write         ? "sending request"
                            : x.phase == Exchange::Phase::read_header ? "waiting for response"
                                                                      : "reading response body";
        co_return failed(Failure::timeout, timeout_text(timeout, phase));
      }
      const bool tls_error = x.ec.category() == asio::error::get_ssl_category() && x.ec != ssl::error::stream_truncated;
      std::string what = x.phase == Exchange::Phase::write         ? "sending request to "
                         : x.phase == Exchange::Phase::read_header ? "reading response from "
                                                                   : "reading response body from ";
      if (x.phase == Exchange::Phase::read_header && x.nothing_received &&
          (x.ec == bhttp::error::end_of_stream || x.ec == ssl::error::stream_truncated)) {
        co_return failed(Failure::protocol, "connection closed by " + conn.peer + " without a response");
      }
      co_return failed(tls_error ? Failure::tls : Failure::protocol,
                       (tls_error ? "tls: " : "") + what + conn.peer + ": " + message_of(x.ec));
    }
  }

  // Closes idle connections past idle_timeout (or found dead) and returns when
  // the next one expires; nullopt when nothing is idle any more.
  std::optional<Clock::time_point> sweep_once() {
    const auto now = Clock::now();
    std::optional<Clock::time_point> next;
    for (auto it = pools.begin(); it != pools.end();) {
      Pool& pool = *it->second;
      auto& idle = pool.idle;
      for (auto c = idle.begin(); c != idle.end();) {
        if (now - (*c)->idle_since >= opts.idle_timeout || !(*c)->looks_alive()) {
          (*c)->close();
          c = idle.erase(c);
          --pool.open;
        } else {
          const auto expiry = (*c)->idle_since + opts.idle_timeout;
          if (!next || expiry < *next) next = expiry;
          ++c;
        }
      }
      it = pool.unused() ? pools.erase(it) : std::next(it);
    }
    return next;
  }

  void start_sweeper() {
    if (sweeping || closed) return;
    sweeping = true;
    std::weak_ptr<Impl> weak = weak_from_this();
    asio::co_spawn(ex, sweep_loop(std::move(weak)), asio::detached);
  }

  // Holds the Impl only between waits, so an idle pool never keeps a
  // destroyed client alive.
  static asio::awaitable<void> sweep_loop(std::weak_ptr<Impl> weak) {
    for (;;) {
      asio::steady_timer* timer = nullptr;
      {
        std::shared_ptr<Impl> self = weak.lock();
        if (!self || self->closed) co_return;
        std::optional<Clock::time_point> next = self->sweep_once();
        if (!next) {
          self->sweeping = false;
          co_return;
        }
        timer = &self->sweep_timer;
        timer->expires_at(*next);
      }
      co_await timer->async_wait(kUseTuple);  // `timer` is not touched after this returns
    }
  }

  void close_all() {
    closed = true;
    sweep_timer.cancel();
    for (auto& [origin, pool] : pools) {
      for (auto& conn : pool->idle) conn->close();
      pool->open -= pool->idle.size();
      pool->idle.clear();
      for (Connection* conn : pool->busy) conn->close();  // their post() fails and releases the slot
      while (!pool->waiters.empty()) {
        Waiter* w = pool->waiters.front();
        w->dequeue();
        w->closed = true;
        w->timer.cancel();
      }
    }
    std::erase_if(pools, [](const auto& entry) { return entry.second->unused(); });
  }
};

// ---- WebhookClient ---------------------------------------------------------------

WebhookClient::WebhookClient(asio::any_io_executor ex, WebhookClientOptions opts)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(opts))) {}

WebhookClient::~WebhookClient() { impl_->close_all(); }

asio::awaitable<WebhookResponse> WebhookClient::post(WebhookRequest req) {
  std::shared_ptr<Impl> impl = impl_;  // keeps pools and the ssl context alive if the client goes first
  // The by-value argument is built outside the co_await expression (g++ 12
  // mishandles non-trivial temporaries there; see STACK.md).
  asio::awaitable<WebhookResponse> op = impl->run(std::move(req));
  co_return co_await std::move(op);
}

WebhookClient::PoolStats WebhookClient::stats() const {
  PoolStats s;
  s.origins = impl_->pools.size();
  for (const auto& [origin, pool] : impl_->pools) {
    s.open += pool->open;
    s.idle += pool->idle.size();
    s.waiting += pool->waiters.size();
  }
  s.created = impl_->created;
  s.reused = impl_->reused;
  s.stale_retries = impl_->stale_retries;
  return s;
}

void WebhookClient::close_all() { impl_->close_all(); }

}  // namespace ms::http
