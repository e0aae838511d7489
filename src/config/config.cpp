// Flags and MESSAGING_* variables → Config.
//
// CLI11 only collects raw text; then, for every option not on the command
// line, the variable is looked up, so both sources go through the same checks
// below. The checks run in declaration order and the first problem becomes
// the one-line error. Those checks throw a local BadConfig, which never
// leaves parse(): every problem is fatal and reported the same way, and a
// throw keeps each check on one line.
#include "config/config.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <random>
#include <thread>

namespace ms::config {
namespace {

constexpr std::string_view kProgram = "messaging_service";
constexpr std::string_view kEnvPrefix = "MESSAGING_";
constexpr unsigned kMaxThreads = 256;
constexpr std::uint64_t kMinBodyBytes = 1024;
constexpr std::uint64_t kMaxBodyBytes = std::uint64_t{1} << 30;  // 1 GiB
constexpr std::uint64_t kMaxBatchMessages = 1'000'000;
constexpr std::uint64_t kMaxU32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kMaxCount = std::numeric_limits<std::int64_t>::max();  // fits any signed use
constexpr std::uint64_t kMaxDurationMs = 10ull * 365 * 24 * 3600 * 1000;         // 10 years

enum class Arity { kFlag, kOne, kMany };

// What a repeatable option's values are split on (on the command line and in
// the variable alike); empty items are dropped.
constexpr std::string_view kCommas = ",";
constexpr std::string_view kKeySeparators = "; \t\r\n";

struct OptionSpec {
  std::string_view name;        // the flag without "--"
  std::string_view value_name;  // placeholder shown by --help
  Arity arity;
  std::string_view separators;  // kMany only
  std::string_view help;
};

// Every option, in the order of Config and of --help.
constexpr OptionSpec kOptions[] = {
    {"listen", "HOST:PORT", Arity::kOne, "", "where the HTTP API listens; IPv6 as [::1]:8080 (default 127.0.0.1:8080)"},
    {"redis-url", "URL", Arity::kOne, "", "redis://[user:password@]host:port[/db] or rediss://... (default redis://127.0.0.1:6379/0)"},
    {"redis-cluster-nodes", "H:P", Arity::kMany, kCommas, "Redis Cluster seed nodes, comma-separated or repeated; given, runs in cluster mode"},
    {"key-prefix", "P", Arity::kOne, "", "prefix of every Redis key and pub/sub channel (default ms:)"},
    {"api-key", "KEY:SCOPES", Arity::kMany, kKeySeparators, "repeatable, e.g. s3cret:publish,subscribe; scopes: publish, subscribe, admin"},
    {"api-keys-file", "PATH", Arity::kOne, "", "more API keys, one KEY:SCOPES a line, '#' comments"},
    {"insecure", "", Arity::kFlag, "", "serve without API keys on a non-loopback address"},
    {"metrics-key", "KEY", Arity::kOne, "", "when set, GET /metrics needs Authorization: Bearer KEY"},
    {"metrics-max-channels", "N", Arity::kOne, "", "distinct channel labels in /metrics; more fold into channel=\"other\" (default 1000)"},
    {"rate-limit-rps", "N", Arity::kOne, "", "requests per second per API key (per client address without keys); 0 = off (default 0)"},
    {"rate-limit-burst", "N", Arity::kOne, "", "token bucket size of the rate limit (default: twice --rate-limit-rps)"},
    {"endpoint-allow", "CIDR", Arity::kMany, kCommas, "repeatable; webhook addresses allowed despite the SSRF guard, e.g. 127.0.0.0/8"},
    {"max-body-bytes", "N", Arity::kOne, "", "publish body limit, also after gzip inflation (default 1048576, at least 1024)"},
    {"max-batch-messages", "N", Arity::kOne, "", "messages per batch publish (default 1000)"},
    {"compress-min-bytes", "N", Arity::kOne, "", "envelopes at least this large are stored gzip-compressed; 0 = all (default 1024)"},
    {"threads", "N", Arity::kOne, "", "worker threads, 1..256 (default: number of cores)"},
    {"log-level", "L", Arity::kOne, "", "trace|debug|info|warn|error (default info)"},
    {"log-format", "F", Arity::kOne, "", "text|json (default text)"},
    {"redis-timeout-ms", "MS", Arity::kOne, "", "a Redis command not answered by then fails the connection (default 2000)"},
    {"idempotency-window-ms", "MS", Arity::kOne, "", "how long an idempotency key is remembered (default 86400000)"},
    {"retention-max-messages", "N", Arity::kOne, "", "approximate messages kept per channel (default 1000000)"},
    {"retention-max-age-ms", "MS", Arity::kOne, "", "messages older than this are trimmed; 0 = no age limit (default 0)"},
    {"request-timeout-ms", "MS", Arity::kOne, "", "a request must arrive whole within this (default 30000)"},
    {"idle-timeout-ms", "MS", Arity::kOne, "", "an idle keep-alive connection is closed after this (default 60000)"},
    {"max-connections", "N", Arity::kOne, "", "concurrent HTTP connections per process (default 10000)"},
    {"max-header-count", "N", Arity::kOne, "", "header fields per request; more answer 431 (default 100)"},
    {"max-url-bytes", "N", Arity::kOne, "", "request-target length (path and query); longer answers 414 (default 8192)"},
    {"max-inflight-publishes", "N", Arity::kOne, "", "beyond this many publishes answer 503 (default 4096)"},
    {"shutdown-timeout-ms", "MS", Arity::kOne, "", "in-flight work gets this long on SIGTERM (default 10000)"},
    {"delivery-lease-ms", "MS", Arity::kOne, "",
     "a held message is delivered again by any instance after timeout_ms + this (default 60000)"},
    {"instance-timeout-ms", "MS", Arity::kOne, "",
     "an instance that has not heartbeated for this long is taken for dead: others take its messages over (default 10000)"},
    {"max-subscriptions", "N", Arity::kOne, "", "subscriptions at most (default 10000)"},
    {"webhook-ca-file", "PATH", Arity::kOne, "", "extra CA certificates trusted for https webhooks"},
    {"webhook-pool-size", "N", Arity::kOne, "", "keep-alive connections per webhook origin (default 32)"},
    {"instance-id", "ID", Arity::kOne, "", "consumer name in Redis (default: host name-pid-random)"},
};

constexpr std::string_view kFooter =
    "Every flag also reads the variable MESSAGING_ + its name in upper case with '-' as '_'\n"
    "(e.g. --redis-url <-> MESSAGING_REDIS_URL); a flag wins over its variable and an empty\n"
    "variable counts as unset. MESSAGING_API_KEY holds several keys separated by ';' or\n"
    "spaces; the other list variables are comma-separated.";

struct BadConfig {
  std::string message;
};

[[noreturn]] void fail(std::string_view source, const std::string& what) {
  throw BadConfig{std::string(source) + ": " + what};
}

std::string quote(std::string_view text) { return "'" + std::string(text) + "'"; }

// --- text helpers -----------------------------------------------------------

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

std::vector<std::string> split(std::string_view text, std::string_view separators) {
  std::vector<std::string> items;
  while (!text.empty()) {
    const auto end = std::min(text.find_first_of(separators), text.size());
    if (const auto item = trim(text.substr(0, end)); !item.empty()) items.emplace_back(item);
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return items;
}

// Non-empty, no spaces or control characters: safe as a Redis key part or name.
bool is_token(std::string_view text) {
  return !text.empty() && std::none_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
  });
}

bool is_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Decimal digits only (no sign, spaces or 0x); nullopt when not that or beyond 64 bits.
std::optional<std::uint64_t> decimal(std::string_view text) {
  std::uint64_t value = 0;
  if (!is_digits(text)) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// --- addresses --------------------------------------------------------------

bool is_ipv4(const std::string& text) {
  in_addr addr{};
  return inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

bool is_ipv6(const std::string& text) {
  in6_addr addr{};
  return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

// 127.0.0.0/8, ::1 (also as ::ffff:127.x) or "localhost": only this machine can connect.
bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

// RFC 1123 labels (plus '_', which container names use); all-numeric names must be IPv4.
bool is_hostname(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  if (std::all_of(text.begin(), text.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); })) return false;
  for (const auto& label : split(text, ".")) {
    if (label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (const char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    }
  }
  return text.front() != '.' && text.back() != '.' && text.find("..") == std::string_view::npos;
}

struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = 0;
};

// HOST:PORT with HOST an IPv4 address, a host name or a bracketed IPv6 address.
HostPort parse_host_port(std::string_view text, std::string_view source, bool allow_port_zero) {
  HostPort result;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") {
      fail(source, quote(text) + " is not [IPV6]:PORT");
    }
    result.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (!is_ipv6(result.host)) fail(source, quote(result.host) + " is not an IPv6 address");
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) fail(source, quote(text) + " is not HOST:PORT");
    result.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (result.host.find(':') != std::string::npos) {
      fail(source, quote(text) + ": an IPv6 address goes in brackets, e.g. [::1]:8080");
    }
    if (!is_ipv4(result.host) && !is_hostname(result.host)) {
      fail(source, quote(result.host) + " is not an IPv4 address or host name");
    }
  }
  const auto number = decimal(port);
  const std::uint64_t min_port = allow_port_zero ? 0 : 1;
  if (!number || *number < min_port || *number > 65535) {
    fail(source, "port " + quote(port) + " is not a number in " + std::to_string(min_port) + "..65535");
  }
  result.port = static_cast<std::uint16_t>(*number);
  return result;
}

// An IPv4 or IPv6 CIDR, returned with its prefix length (a bare address is /32 or /128).
std::string normalize_cidr(std::string_view text, std::string_view source) {
  const auto slash = text.find('/');
  const std::string address(text.substr(0, slash));
  const bool v4 = is_ipv4(address);
  if (!v4 && !is_ipv6(address)) fail(source, quote(text) + " is not a CIDR such as 127.0.0.0/8 or ::1/128");
  const std::uint64_t max_prefix = v4 ? 32 : 128;
  if (slash == std::string_view::npos) return address + "/" + std::to_string(max_prefix);
  const auto prefix = decimal(text.substr(slash + 1));
  if (!prefix || *prefix > max_prefix) {
    fail(source, quote(text) + ": the prefix length must be 0.." + std::to_string(max_prefix));
  }
  return address + "/" + std::to_string(*prefix);
}

// --- API keys ----------------------------------------------------------------

// KEY:SCOPES. The key is a secret, so messages name its place, never its text.
ApiKey parse_api_key(std::string_view text, const std::string& source) {
  static constexpr std::string_view kScopes[] = {"publish", "subscribe", "admin"};
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    fail(source, "an API key must be KEY:SCOPES, e.g. s3cret:publish,subscribe");
  }
  ApiKey key{std::string(text.substr(0, colon)), {}};
  if (!is_token(key.key)) fail(source, "an API key must not contain spaces or control characters");
  for (auto& scope : split(text.substr(colon + 1), ",")) {
    if (std::find(std::begin(kScopes), std::end(kScopes), scope) == std::end(kScopes)) {
      fail(source, "an API key's scopes must be publish, subscribe or admin, comma-separated");
    }
    if (std::find(key.scopes.begin(), key.scopes.end(), scope) == key.scopes.end()) {
      key.scopes.push_back(std::move(scope));
    }
  }
  if (key.scopes.empty()) fail(source, "an API key needs at least one scope: publish, subscribe or admin");
  return key;
}

std::vector<ApiKey> read_api_keys_file(const std::string& path, std::string_view source) {
  std::ifstream file(path);
  if (!file) fail(source, "cannot read " + quote(path) + ": " + std::strerror(errno));
  std::vector<ApiKey> keys;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    const auto text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    keys.push_back(parse_api_key(text, std::string(source) + " " + path + ":" + std::to_string(number)));
  }
  if (file.bad()) fail(source, "cannot read " + quote(path));
  return keys;
}

// --- collecting: command line, then environment --------------------------------

// One option as given: where from ("--threads" or "MESSAGING_THREADS") and its text.
struct Given {
  std::string source;
  std::vector<std::string> values;  // kOne and kFlag: exactly one

  const std::string& value() const { return values.front(); }
};

using Inputs = std::map<std::string_view, Given>;

// CLI11's storage for one option.
struct Slot {
  std::string one;
  std::vector<std::string> many;
  bool flag = false;
  CLI::Option* option = nullptr;
};

std::string env_name(std::string_view name) {
  std::string result(kEnvPrefix);
  for (const char c : name) result += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return result;
}

void declare(CLI::App& app, const OptionSpec& spec, Slot& slot) {
  const std::string flag = "--" + std::string(spec.name);
  const std::string help(spec.help);
  switch (spec.arity) {
    case Arity::kFlag: slot.option = app.add_flag(flag, slot.flag, help); break;
    case Arity::kOne: slot.option = app.add_option(flag, slot.one, help); break;
    case Arity::kMany: slot.option = app.add_option(flag, slot.many, help)->allow_extra_args(false); break;
  }
  if (!spec.value_name.empty()) slot.option->type_name(std::string(spec.value_name));
}

Inputs collect(const std::vector<Slot>& slots, const EnvLookup& env) {
  Inputs inputs;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const OptionSpec& spec = kOptions[i];
    const Slot& slot = slots[i];
    Given given;
    std::vector<std::string> raw;
    if (slot.option->count() > 0) {
      given.source = "--" + std::string(spec.name);
      if (spec.arity == Arity::kFlag) raw = {slot.flag ? "true" : "false"};
      if (spec.arity == Arity::kOne) raw = {slot.one};
      if (spec.arity == Arity::kMany) raw = slot.many;
    } else {
      given.source = env_name(spec.name);
      const char* value = env ? env(given.source.c_str()) : nullptr;
      if (value == nullptr || *value == '\0') continue;
      raw = {value};
    }
    if (spec.arity == Arity::kMany) {
      for (const auto& text : raw) {
        for (auto& item : split(text, spec.separators)) given.values.push_back(std::move(item));
      }
    } else {
      given.values = std::move(raw);
    }
    inputs.emplace(spec.name, std::move(given));
  }
  return inputs;
}

// --- building the Config ---------------------------------------------------------

const Given* find(const Inputs& inputs, std::string_view name) {
  const auto it = inputs.find(name);
  return it == inputs.end() ? nullptr : &it->second;
}

// Sets field from a decimal option within [min, max]; false when not given.
template <class T>
bool number(const Inputs& inputs, std::string_view name, T& field, std::uint64_t min, std::uint64_t max) {
  const Given* given = find(inputs, name);
  if (given == nullptr) return false;
  const std::string& text = given->value();
  if (!is_digits(text)) fail(given->source, quote(text) + " is not a number");
  const auto value = decimal(text);
  if (!value || *value < min || *value > max) {
    fail(given->source, quote(text) + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
  }
  field = static_cast<T>(*value);
  return true;
}

void choice(const Inputs& inputs, std::string_view name, std::string& field,
            std::initializer_list<std::string_view> allowed) {
  const Given* given = find(inputs, name);
  if (given == nullptr) return;
  if (std::find(allowed.begin(), allowed.end(), given->value()) == allowed.end()) {
    std::string list;
    for (const auto a : allowed) {
      if (!list.empty()) list += '|';
      list.append(a.data(), a.size());  // not `"" + std::string`: g++ 12 -O3 -Wrestrict false positive
    }
    fail(given->source, quote(given->value()) + " is not one of " + list);
  }
  field = given->value();
}

bool parse_bool(const Given& given) {
  std::string text = given.value();
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  if (text == "1" || text == "true" || text == "yes" || text == "on") return true;
  if (text == "0" || text == "false" || text == "no" || text == "off") return false;
  fail(given.source, quote(given.value()) + " is not a boolean (true/false, 1/0, yes/no, on/off)");
}

unsigned default_threads() {
  return std::clamp(std::thread::hardware_concurrency(), 1u, kMaxThreads);
}

std::string generate_instance_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
  std::random_device random;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%06x", std::uniform_int_distribution<unsigned>(0, 0xffffff)(random));
  return std::string(host) + "-" + std::to_string(getpid()) + "-" + suffix;
}

Config build(const Inputs& in) {
  Config c;
  if (const Given* g = find(in, "listen")) {
    auto [host, port] = parse_host_port(g->value(), g->source, /*allow_port_zero=*/true);
    c.listen_host = std::move(host);
    c.listen_port = port;
  }
  if (const Given* g = find(in, "redis-url")) {
    // Not echoed: the URL may hold a password.
    const std::string& url = g->value();
    const auto scheme_end = url.find("://");
    const bool scheme_ok = url.starts_with("redis://") || url.starts_with("rediss://");
    if (!scheme_ok || !is_token(url) || url.size() == scheme_end + 3 || url[scheme_end + 3] == '/') {
      fail(g->source, "expected redis://[user:password@]host:port[/db] or rediss://...");
    }
    c.redis_url = url;
  }
  if (const Given* g = find(in, "redis-cluster-nodes")) {
    for (const auto& node : g->values) {
      parse_host_port(node, g->source, /*allow_port_zero=*/false);
      c.redis_cluster_nodes.push_back(node);
    }
  }
  if (const Given* g = find(in, "key-prefix")) {
    if (!is_token(g->value())) fail(g->source, "must be non-empty, without spaces or control characters");
    c.key_prefix = g->value();
  }
  if (const Given* g = find(in, "api-key")) {
    for (std::size_t i = 0; i < g->values.size(); ++i) {
      const auto place = g->values.size() == 1 ? g->source : g->source + " #" + std::to_string(i + 1);
      c.api_keys.push_back(parse_api_key(g->values[i], place));
    }
  }
  if (const Given* g = find(in, "api-keys-file"); g != nullptr && !g->value().empty()) {
    c.api_keys_file = g->value();
    for (auto& key : read_api_keys_file(c.api_keys_file, g->source)) c.api_keys.push_back(std::move(key));
  }
  if (const Given* g = find(in, "insecure")) c.insecure = parse_bool(*g);
  if (const Given* g = find(in, "metrics-key"); g != nullptr) {
    if (!is_token(g->value())) fail(g->source, "must not contain spaces or control characters");
    c.metrics_key = g->value();
  }
  number(in, "metrics-max-channels", c.metrics_max_channels, 0, kMaxU32);
  number(in, "rate-limit-rps", c.rate_limit_rps, 0, kMaxU32);
  if (!number(in, "rate-limit-burst", c.rate_limit_burst, 1, kMaxU32)) {
    c.rate_limit_burst = c.rate_limit_rps > kMaxU32 / 2 ? kMaxU32 : c.rate_limit_rps * 2;
  }
  if (const Given* g = find(in, "endpoint-allow")) {
    for (const auto& cidr : g->values) c.endpoint_allow.push_back(normalize_cidr(cidr, g->source));
  }
  number(in, "max-body-bytes", c.max_body_bytes, kMinBodyBytes, kMaxBodyBytes);
  number(in, "max-batch-messages", c.max_batch_messages, 1, kMaxBatchMessages);
  number(in, "compress-min-bytes", c.compress_min_bytes, 0, kMaxU32);
  if (!number(in, "threads", c.threads, 1, kMaxThreads)) c.threads = default_threads();
  choice(in, "log-level", c.log_level, {"trace", "debug", "info", "warn", "error"});
  choice(in, "log-format", c.log_format, {"text", "json"});
  number(in, "redis-timeout-ms", c.redis_timeout_ms, 1, kMaxU32);
  number(in, "idempotency-window-ms", c.idempotency_window_ms, 1, kMaxDurationMs);
  number(in, "retention-max-messages", c.retention_max_messages, 1, kMaxCount);
  number(in, "retention-max-age-ms", c.retention_max_age_ms, 0, kMaxDurationMs);
  number(in, "request-timeout-ms", c.request_timeout_ms, 1, kMaxU32);
  number(in, "idle-timeout-ms", c.idle_timeout_ms, 1, kMaxU32);
  number(in, "max-connections", c.max_connections, 1, kMaxU32);
  number(in, "max-header-count", c.max_header_count, 1, kMaxU32);
  number(in, "max-url-bytes", c.max_url_bytes, 1, kMaxU32);
  number(in, "max-inflight-publishes", c.max_inflight_publishes, 1, kMaxU32);
  number(in, "shutdown-timeout-ms", c.shutdown_timeout_ms, 0, kMaxU32);
  number(in, "delivery-lease-ms", c.delivery_lease_ms, 100, kMaxU32);
  number(in, "instance-timeout-ms", c.instance_timeout_ms, 1000, kMaxU32);
  number(in, "max-subscriptions", c.max_subscriptions, 1, kMaxU32);
  if (const Given* g = find(in, "webhook-ca-file"); g != nullptr && !g->value().empty()) {
    if (!std::ifstream(g->value())) fail(g->source, "cannot read " + quote(g->value()) + ": " + std::strerror(errno));
    c.webhook_ca_file = g->value();
  }
  number(in, "webhook-pool-size", c.webhook_pool_size, 1, kMaxU32);
  if (const Given* g = find(in, "instance-id"); g != nullptr && !g->value().empty()) {
    if (!is_token(g->value())) fail(g->source, "must not contain spaces or control characters");
    c.instance_id = g->value();
  } else {
    c.instance_id = generate_instance_id();
  }
  // API.md Security: without keys, only loopback clients unless --insecure.
  if (c.api_keys.empty() && !c.insecure && !is_loopback_host(c.listen_host)) {
    fail("--listen", "refusing to serve " + c.listen_host +
                         " without API keys; give --api-key or --api-keys-file, or --insecure");
  }
  return c;
}

// "--name=" for an option that takes a value.
bool takes_value(std::string_view arg) {
  if (!arg.starts_with("--") || !arg.ends_with('=')) return false;
  const std::string_view name = arg.substr(2, arg.size() - 3);
  return std::any_of(std::begin(kOptions), std::end(kOptions),
                     [&](const OptionSpec& spec) { return spec.name == name && spec.arity != Arity::kFlag; });
}

// "messaging_service: <what>" on one line, whatever the values echoed in it held.
ParseOutcome error(std::string what) {
  std::replace_if(what.begin(), what.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }, ' ');
  return {std::nullopt, 2, std::string(kProgram) + ": " + what};
}

}  // namespace

ParseOutcome parse(int argc, const char* const* argv, EnvLookup env) {
  CLI::App app{"An HTTP event bus on Redis.", std::string(kProgram)};
  app.set_version_flag("--version", std::string(kProgram) + " " + std::string(kVersion));
  app.footer(std::string(kFooter));
  app.get_formatter()->column_width(36);
  std::vector<Slot> slots(std::size(kOptions));  // never resized: CLI11 keeps pointers into it
  for (std::size_t i = 0; i < slots.size(); ++i) declare(app, kOptions[i], slots[i]);

  std::vector<std::string> args;  // CLI11 wants them last first, without argv[0]
  for (int i = argc - 1; i >= 1; --i) {
    // CLI11 reads "--name=" (nothing after '=') as "--name" and takes the next
    // argument as its value; give it the empty value, as "--name ''" does.
    const std::string_view arg = argv[i];
    if (takes_value(arg)) {
      args.emplace_back();
      args.emplace_back(arg.substr(0, arg.size() - 1));
    } else {
      args.emplace_back(arg);
    }
  }
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    return {std::nullopt, 0, app.help()};
  } catch (const CLI::CallForVersion& e) {
    return {std::nullopt, 0, std::string(e.what()) + "\n"};
  } catch (const CLI::ParseError& e) {
    return error(std::string(e.what()) + " (see --help)");
  }

  try {
    return {build(collect(slots, env)), 0, {}};
  } catch (const BadConfig& e) {
    return error(e.message);
  }
}

}  // namespace ms::config
