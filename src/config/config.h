// The service's configuration: one struct, filled from flags and MESSAGING_*
// environment variables (a flag wins over its variable), validated at start.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ms::config {

// Printed by --version as "messaging_service 0.1.0".
inline constexpr std::string_view kVersion = "0.1.0";

struct ApiKey {
  std::string key;                  // the secret as given; hashed by the auth layer
  std::vector<std::string> scopes;  // publish, subscribe, admin
};

struct Config {
  // --listen HOST:PORT, default 127.0.0.1:8080. IPv6 as [::1]:8080 (listen_host
  // then holds "::1", without brackets). Port 0 asks for an ephemeral port.
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  // --redis-url, default redis://127.0.0.1:6379/0 (redis://[user:password@]host:port[/db]).
  std::string redis_url = "redis://127.0.0.1:6379/0";
  // --redis-cluster-nodes H:P,... ; empty means single-node mode.
  std::vector<std::string> redis_cluster_nodes;
  // --key-prefix, default "ms:" (prefix of every Redis key and pub/sub channel).
  std::string key_prefix = "ms:";
  // --api-key KEY:SCOPES, repeatable. MESSAGING_API_KEY holds several separated by ';' or whitespace.
  std::vector<ApiKey> api_keys;
  // --api-keys-file PATH: one KEY:SCOPES a line, '#' comments. Read by parse(); its
  // keys are appended to api_keys.
  std::string api_keys_file;
  // --insecure: serve without API keys on a non-loopback address. Without keys and
  // without this flag, parse() refuses a --listen host that is not loopback.
  bool insecure = false;
  // --metrics-key KEY: when set, GET /metrics needs "Authorization: Bearer KEY".
  std::string metrics_key;
  // --metrics-max-channels N, default 1000: distinct channel label values in /metrics;
  // further channels are counted under channel="other".
  std::uint32_t metrics_max_channels = 1000;
  // --rate-limit-rps N, default 0 = off: requests per second per API key (per client
  // address when no keys are configured), a token bucket; over it answers 429.
  std::uint32_t rate_limit_rps = 0;
  // --rate-limit-burst N, default 0 = twice rate_limit_rps: the bucket's size.
  std::uint32_t rate_limit_burst = 0;
  // --endpoint-allow CIDR, repeatable (comma-separated in the variable). Always
  // stored with a prefix length: a bare 10.1.2.3 becomes 10.1.2.3/32, ::1 becomes ::1/128.
  std::vector<std::string> endpoint_allow;
  // --max-body-bytes, default 1 MiB: publish body limit (also after gzip inflation).
  std::size_t max_body_bytes = 1048576;
  // --max-batch-messages, default 1000.
  std::size_t max_batch_messages = 1000;
  // --compress-min-bytes, default 1024: envelopes at least this large are stored gzip-compressed.
  std::size_t compress_min_bytes = 1024;
  // --threads 1..256, default: number of cores (parse() fills it in, never 0).
  unsigned threads = 0;
  // --log-level trace|debug|info|warn|error, default info.
  std::string log_level = "info";
  // --log-format text|json, default text.
  std::string log_format = "text";
  // --redis-timeout-ms, default 2000: a Redis command not answered by then fails the connection.
  std::uint32_t redis_timeout_ms = 2000;
  // --idempotency-window-ms, default 24 h.
  std::uint64_t idempotency_window_ms = 86400000;
  // --retention-max-messages, default 1,000,000 (approximate MAXLEN per channel).
  std::uint64_t retention_max_messages = 1000000;
  // --retention-max-age-ms, default 0 = no age limit.
  std::uint64_t retention_max_age_ms = 0;
  // --request-timeout-ms, default 30000: a request must arrive whole within this (slow clients).
  std::uint32_t request_timeout_ms = 30000;
  // --idle-timeout-ms, default 60000: an idle keep-alive connection is closed after this.
  std::uint32_t idle_timeout_ms = 60000;
  // --max-connections, default 10000 concurrent HTTP connections per process.
  std::uint32_t max_connections = 10000;
  // --max-header-count, default 100: a request with more header fields answers 431.
  std::uint32_t max_header_count = 100;
  // --max-url-bytes, default 8192: a longer request-target (path + query) answers 414.
  // The request line also counts toward the 16 KiB header limit.
  std::uint32_t max_url_bytes = 8192;
  // --max-inflight-publishes, default 4096 per process; beyond it publishes answer 503.
  std::uint32_t max_inflight_publishes = 4096;
  // --shutdown-timeout-ms, default 10000: in-flight work gets this long on SIGTERM.
  std::uint32_t shutdown_timeout_ms = 10000;
  // --delivery-lease-ms, default 60000: a message held by an instance that died is
  // delivered again by another after the subscription's timeout_ms + this.
  std::uint32_t delivery_lease_ms = 60000;
  // --instance-timeout-ms, default 10000: every instance heartbeats each second
  // (ms:instances); one silent this long is dead, and the others take over the
  // messages it held at once instead of when their leases run out.
  std::uint32_t instance_timeout_ms = 10000;
  // --max-subscriptions, default 10000.
  std::uint32_t max_subscriptions = 10000;
  // --webhook-ca-file PATH: extra CA certificates trusted for https webhooks.
  std::string webhook_ca_file;
  // --webhook-pool-size, default 32 keep-alive connections per origin.
  std::uint32_t webhook_pool_size = 32;
  // --instance-id, default: host name + pid + random suffix (consumer name in Redis).
  std::string instance_id;
};

// What parse() decided: run with the config, or exit now with a code and a text.
struct ParseOutcome {
  std::optional<Config> config;  // set when the service should start
  int exit_code = 0;             // when !config: 0 for --help/--version, 2 for errors
  std::string output;            // help text (stdout) or one-line error (stderr)
};

// Parses argv and the environment (getenv-like lookup injected for tests; an
// empty variable counts as unset). Errors are one line, e.g.
// "messaging_service: --threads: '0x' is not a number". Secrets (API keys, the
// password in a Redis URL) are never echoed in errors.
using EnvLookup = std::function<const char*(const char*)>;
ParseOutcome parse(int argc, const char* const* argv, EnvLookup env);

}  // namespace ms::config
