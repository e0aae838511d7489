// ms::config::parse: flags, MESSAGING_* variables (injected), validation, help.
#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace ms::config {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

using Env = std::map<std::string, std::string>;

ParseOutcome run(const std::vector<std::string>& args, const Env& env = {}) {
  std::vector<const char*> argv{"messaging_service"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse(static_cast<int>(argv.size()), argv.data(), [&env](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

Config ok(const std::vector<std::string>& args, const Env& env = {}) {
  ParseOutcome out = run(args, env);
  EXPECT_TRUE(out.config.has_value()) << out.output;
  EXPECT_EQ(out.exit_code, 0);
  return out.config.value_or(Config{});
}

// Exit 2, no config, one line "messaging_service: ..." containing `part`.
void expect_error(const ParseOutcome& out, const std::string& part) {
  EXPECT_FALSE(out.config.has_value());
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_TRUE(out.output.starts_with("messaging_service: ")) << out.output;
  EXPECT_EQ(out.output.find('\n'), std::string::npos) << out.output;
  EXPECT_THAT(out.output, HasSubstr(part));
}

// A file in the temp directory, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& content)
      : path_(std::filesystem::temp_directory_path() /
              ("config_test_" + std::to_string(getpid()) + "_" + std::to_string(counter_++))) {
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(ConfigTest, Defaults) {
  const Config c = ok({});
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.redis_url, "redis://127.0.0.1:6379/0");
  EXPECT_TRUE(c.redis_cluster_nodes.empty());
  EXPECT_EQ(c.key_prefix, "ms:");
  EXPECT_TRUE(c.api_keys.empty());
  EXPECT_TRUE(c.api_keys_file.empty());
  EXPECT_FALSE(c.insecure);
  EXPECT_TRUE(c.endpoint_allow.empty());
  EXPECT_EQ(c.max_body_bytes, 1048576u);
  EXPECT_EQ(c.max_batch_messages, 1000u);
  EXPECT_EQ(c.compress_min_bytes, 1024u);
  EXPECT_EQ(c.threads, std::clamp(std::thread::hardware_concurrency(), 1u, 256u));
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.log_format, "text");
  EXPECT_EQ(c.redis_timeout_ms, 2000u);
  EXPECT_EQ(c.idempotency_window_ms, 86400000u);
  EXPECT_EQ(c.retention_max_messages, 1000000u);
  EXPECT_EQ(c.retention_max_age_ms, 0u);
  EXPECT_EQ(c.request_timeout_ms, 30000u);
  EXPECT_EQ(c.idle_timeout_ms, 60000u);
  EXPECT_EQ(c.max_connections, 10000u);
  EXPECT_EQ(c.max_header_count, 100u);
  EXPECT_EQ(c.max_url_bytes, 8192u);
  EXPECT_EQ(c.max_inflight_publishes, 4096u);
  EXPECT_EQ(c.shutdown_timeout_ms, 10000u);
  EXPECT_EQ(c.max_subscriptions, 10000u);
  EXPECT_TRUE(c.webhook_ca_file.empty());
  EXPECT_EQ(c.webhook_pool_size, 32u);
  EXPECT_THAT(c.instance_id, MatchesRegex(".+-" + std::to_string(getpid()) + "-[0-9a-f]{6}"));
}

TEST(ConfigTest, GeneratedInstanceIdsDiffer) {
  // 24 random bits: two equal suffixes in a row would be a 1-in-16M accident.
  EXPECT_NE(ok({}).instance_id, ok({}).instance_id);
}

// --- every option, once as a flag and once as its variable -----------------------

struct OptionCase {
  std::string name;   // flag without "--"
  std::string value;  // as typed
  std::function<void(const Config&)> check;
  bool bare_flag = false;  // takes no separate value: "--insecure", not "--insecure true"
};

std::string env_name(const std::string& name) {
  std::string result = "MESSAGING_";
  for (const char c : name) result += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return result;
}

class EveryOption : public ::testing::TestWithParam<OptionCase> {};

TEST_P(EveryOption, AsFlag) {
  const OptionCase& p = GetParam();
  p.check(p.bare_flag ? ok({"--" + p.name}) : ok({"--" + p.name, p.value}));
}

TEST_P(EveryOption, AsFlagWithEquals) {
  GetParam().check(ok({"--" + GetParam().name + "=" + GetParam().value}));
}

TEST_P(EveryOption, AsVariable) {
  GetParam().check(ok({}, {{env_name(GetParam().name), GetParam().value}}));
}

TempFile& keys_file() {
  static TempFile file("# keys\nfilekey:admin\n");
  return file;
}

TempFile& ca_file() {
  static TempFile file("-----BEGIN CERTIFICATE-----\n");
  return file;
}

// clang-format off
const OptionCase kOptionCases[] = {
    {"listen", "127.0.0.2:0", [](const Config& c) { EXPECT_EQ(c.listen_host, "127.0.0.2"); EXPECT_EQ(c.listen_port, 0); }},
    {"redis-url", "rediss://u:p@redis.local:6380/2", [](const Config& c) { EXPECT_EQ(c.redis_url, "rediss://u:p@redis.local:6380/2"); }},
    {"redis-cluster-nodes", "10.0.0.1:7000,redis-b:7001", [](const Config& c) {
       EXPECT_EQ(c.redis_cluster_nodes, (std::vector<std::string>{"10.0.0.1:7000", "redis-b:7001"})); }},
    {"key-prefix", "app1:", [](const Config& c) { EXPECT_EQ(c.key_prefix, "app1:"); }},
    {"api-key", "s3cret:publish,subscribe", [](const Config& c) {
       ASSERT_EQ(c.api_keys.size(), 1u);
       EXPECT_EQ(c.api_keys[0].key, "s3cret");
       EXPECT_EQ(c.api_keys[0].scopes, (std::vector<std::string>{"publish", "subscribe"})); }},
    {"api-keys-file", keys_file().path(), [](const Config& c) {
       EXPECT_EQ(c.api_keys_file, keys_file().path());
       ASSERT_EQ(c.api_keys.size(), 1u);
       EXPECT_EQ(c.api_keys[0].key, "filekey"); }},
    {"insecure", "true", [](const Config& c) { EXPECT_TRUE(c.insecure); }, true},
    {"metrics-key", "scrape-me", [](const Config& c) { EXPECT_EQ(c.metrics_key, "scrape-me"); }},
    {"metrics-max-channels", "20", [](const Config& c) { EXPECT_EQ(c.metrics_max_channels, 20u); }},
    {"rate-limit-rps", "50", [](const Config& c) { EXPECT_EQ(c.rate_limit_rps, 50u); EXPECT_EQ(c.rate_limit_burst, 100u); }},
    {"rate-limit-burst", "7", [](const Config& c) { EXPECT_EQ(c.rate_limit_burst, 7u); }},
    {"endpoint-allow", "127.0.0.0/8", [](const Config& c) { EXPECT_EQ(c.endpoint_allow, (std::vector<std::string>{"127.0.0.0/8"})); }},
    {"max-body-bytes", "2048", [](const Config& c) { EXPECT_EQ(c.max_body_bytes, 2048u); }},
    {"max-batch-messages", "50", [](const Config& c) { EXPECT_EQ(c.max_batch_messages, 50u); }},
    {"compress-min-bytes", "0", [](const Config& c) { EXPECT_EQ(c.compress_min_bytes, 0u); }},
    {"threads", "3", [](const Config& c) { EXPECT_EQ(c.threads, 3u); }},
    {"log-level", "debug", [](const Config& c) { EXPECT_EQ(c.log_level, "debug"); }},
    {"log-format", "json", [](const Config& c) { EXPECT_EQ(c.log_format, "json"); }},
    {"redis-timeout-ms", "150", [](const Config& c) { EXPECT_EQ(c.redis_timeout_ms, 150u); }},
    {"idempotency-window-ms", "60000", [](const Config& c) { EXPECT_EQ(c.idempotency_window_ms, 60000u); }},
    {"retention-max-messages", "500", [](const Config& c) { EXPECT_EQ(c.retention_max_messages, 500u); }},
    {"retention-max-age-ms", "3600000", [](const Config& c) { EXPECT_EQ(c.retention_max_age_ms, 3600000u); }},
    {"request-timeout-ms", "1000", [](const Config& c) { EXPECT_EQ(c.request_timeout_ms, 1000u); }},
    {"idle-timeout-ms", "2000", [](const Config& c) { EXPECT_EQ(c.idle_timeout_ms, 2000u); }},
    {"max-connections", "64", [](const Config& c) { EXPECT_EQ(c.max_connections, 64u); }},
    {"max-header-count", "20", [](const Config& c) { EXPECT_EQ(c.max_header_count, 20u); }},
    {"max-url-bytes", "2048", [](const Config& c) { EXPECT_EQ(c.max_url_bytes, 2048u); }},
    {"max-inflight-publishes", "8", [](const Config& c) { EXPECT_EQ(c.max_inflight_publishes, 8u); }},
    {"shutdown-timeout-ms", "0", [](const Config& c) { EXPECT_EQ(c.shutdown_timeout_ms, 0u); }},
    {"max-subscriptions", "7", [](const Config& c) { EXPECT_EQ(c.max_subscriptions, 7u); }},
    {"webhook-ca-file", ca_file().path(), [](const Config& c) { EXPECT_EQ(c.webhook_ca_file, ca_file().path()); }},
    {"webhook-pool-size", "4", [](const Config& c) { EXPECT_EQ(c.webhook_pool_size, 4u); }},
    {"instance-id", "node-a", [](const Config& c) { EXPECT_EQ(c.instance_id, "node-a"); }},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Config, EveryOption, ::testing::ValuesIn(kOptionCases),
                         [](const ::testing::TestParamInfo<OptionCase>& info) {
                           std::string name = info.param.name;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(ConfigTest, InsecureFlagWithValue) {
  EXPECT_FALSE(ok({"--insecure=false"}, {{"MESSAGING_INSECURE", "true"}}).insecure);
  expect_error(run({"--insecure=maybe"}), "--insecure");
}

TEST(ConfigTest, InsecureVariableValues) {
  EXPECT_TRUE(ok({}, {{"MESSAGING_INSECURE", "1"}}).insecure);
  EXPECT_TRUE(ok({}, {{"MESSAGING_INSECURE", "YES"}}).insecure);
  EXPECT_FALSE(ok({}, {{"MESSAGING_INSECURE", "off"}}).insecure);
  expect_error(run({}, {{"MESSAGING_INSECURE", "maybe"}}), "MESSAGING_INSECURE: 'maybe' is not a boolean");
}

// --- precedence ---------------------------------------------------------------------

// Found by fuzz_cidr: CLI11 read "--endpoint-allow=" as a flag waiting for its value
// and took the next argument (or failed at the end), where the variable set to ""
// means "none". Now "--name=" is the empty value, as "--name ''" is.
TEST(ConfigTest, EmptyValueAfterEqualsIsTheEmptyValue) {
  EXPECT_TRUE(ok({"--endpoint-allow="}).endpoint_allow.empty());
  const Config c = ok({"--endpoint-allow=", "--threads", "3"});
  EXPECT_TRUE(c.endpoint_allow.empty());
  EXPECT_EQ(c.threads, 3u);  // "--threads" is not swallowed as a CIDR
  expect_error(run({"--threads="}), "--threads: '' is not a number");
  expect_error(run({"--metrics-key=", "--insecure"}), "--metrics-key");  // the key is not "--insecure"
  EXPECT_EQ(ok({"--key-prefix=a=", "--threads=2"}).key_prefix, "a=");   // only a bare "--name="
}

TEST(ConfigTest, FlagBeatsVariable) {
  const Config c = ok({"--listen", "[::1]:9000", "--threads", "2", "--api-key", "flag:admin"},
                      {{"MESSAGING_LISTEN", "10.0.0.1:1"},
                       {"MESSAGING_THREADS", "5"},
                       {"MESSAGING_API_KEY", "env:publish"},
                       {"MESSAGING_LOG_LEVEL", "warn"}});
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 9000);
  EXPECT_EQ(c.threads, 2u);
  ASSERT_EQ(c.api_keys.size(), 1u);
  EXPECT_EQ(c.api_keys[0].key, "flag");
  EXPECT_EQ(c.log_level, "warn");  // no flag: the variable applies
}

TEST(ConfigTest, FlagBeatsBadVariable) {
  // The variable is never looked at, so its bad value does not matter.
  EXPECT_EQ(ok({"--threads", "4"}, {{"MESSAGING_THREADS", "zero"}}).threads, 4u);
}

TEST(ConfigTest, EmptyVariableCountsAsUnset) {
  const Config c = ok({}, {{"MESSAGING_THREADS", ""}, {"MESSAGING_LISTEN", ""}});
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_GE(c.threads, 1u);
}

// --- repeatable options ---------------------------------------------------------------

TEST(ConfigTest, ApiKeyRepeatedFlag) {
  const Config c = ok({"--api-key", "a:publish", "--api-key=b:subscribe,admin"});
  ASSERT_EQ(c.api_keys.size(), 2u);
  EXPECT_EQ(c.api_keys[0].key, "a");
  EXPECT_EQ(c.api_keys[0].scopes, (std::vector<std::string>{"publish"}));
  EXPECT_EQ(c.api_keys[1].key, "b");
  EXPECT_EQ(c.api_keys[1].scopes, (std::vector<std::string>{"subscribe", "admin"}));
}

TEST(ConfigTest, ApiKeyVariableSplitsOnSemicolonsAndSpaces) {
  const Config c = ok({}, {{"MESSAGING_API_KEY", "a:publish; b:subscribe\n c:admin,publish;"}});
  ASSERT_EQ(c.api_keys.size(), 3u);
  EXPECT_EQ(c.api_keys[0].key, "a");
  EXPECT_EQ(c.api_keys[1].key, "b");
  EXPECT_EQ(c.api_keys[2].key, "c");
  EXPECT_EQ(c.api_keys[2].scopes, (std::vector<std::string>{"admin", "publish"}));
}

TEST(ConfigTest, ApiKeyMayContainColons) {
  const Config c = ok({"--api-key", "a:b:c:publish"});
  ASSERT_EQ(c.api_keys.size(), 1u);
  EXPECT_EQ(c.api_keys[0].key, "a:b:c");
}

TEST(ConfigTest, ApiKeyDuplicateScopesCollapse) {
  const Config c = ok({"--api-key", "k:publish,publish"});
  ASSERT_EQ(c.api_keys.size(), 1u);
  EXPECT_EQ(c.api_keys[0].scopes, (std::vector<std::string>{"publish"}));
}

TEST(ConfigTest, EndpointAllowRepeatedAndCommaSeparated) {
  EXPECT_EQ(ok({"--endpoint-allow", "10.0.0.0/8,::1", "--endpoint-allow", "192.168.1.5"}).endpoint_allow,
            (std::vector<std::string>{"10.0.0.0/8", "::1/128", "192.168.1.5/32"}));
  EXPECT_EQ(ok({}, {{"MESSAGING_ENDPOINT_ALLOW", "127.0.0.0/8, fd00::/8"}}).endpoint_allow,
            (std::vector<std::string>{"127.0.0.0/8", "fd00::/8"}));
}

TEST(ConfigTest, ClusterNodesRepeatedAndCommaSeparated) {
  EXPECT_EQ(ok({"--redis-cluster-nodes", "a:1,b:2", "--redis-cluster-nodes", "[::1]:3"}).redis_cluster_nodes,
            (std::vector<std::string>{"a:1", "b:2", "[::1]:3"}));
}

TEST(ConfigTest, BadClusterNode) {
  expect_error(run({"--redis-cluster-nodes", "a:1,b"}), "--redis-cluster-nodes: 'b' is not HOST:PORT");
  expect_error(run({"--redis-cluster-nodes", "a:0"}), "--redis-cluster-nodes: port '0'");
}

// --- API keys file -----------------------------------------------------------------------

TEST(ConfigTest, ApiKeysFile) {
  TempFile file("# service keys\n\n  k1:publish  \n\t# indented comment\nk2:subscribe,admin\n");
  const Config c = ok({"--api-key", "flag:admin", "--api-keys-file", file.path()});
  ASSERT_EQ(c.api_keys.size(), 3u);
  EXPECT_EQ(c.api_keys[0].key, "flag");
  EXPECT_EQ(c.api_keys[1].key, "k1");
  EXPECT_EQ(c.api_keys[1].scopes, (std::vector<std::string>{"publish"}));
  EXPECT_EQ(c.api_keys[2].key, "k2");
  EXPECT_EQ(c.api_keys[2].scopes, (std::vector<std::string>{"subscribe", "admin"}));
  EXPECT_EQ(c.api_keys_file, file.path());
}

TEST(ConfigTest, ApiKeysFileFromVariable) {
  TempFile file("envkey:publish\n");
  const Config c = ok({}, {{"MESSAGING_API_KEYS_FILE", file.path()}});
  ASSERT_EQ(c.api_keys.size(), 1u);
  EXPECT_EQ(c.api_keys[0].key, "envkey");
}

TEST(ConfigTest, ApiKeysFileUnreadable) {
  expect_error(run({"--api-keys-file", "/nonexistent/keys.txt"}),
               "--api-keys-file: cannot read '/nonexistent/keys.txt'");
  expect_error(run({"--api-keys-file", std::filesystem::temp_directory_path().string()}),
               "--api-keys-file: cannot read");
}

TEST(ConfigTest, ApiKeysFileBadLineNamesLineNotSecret) {
  TempFile file("good:publish\n\nhushhush:publish,root\n");
  const ParseOutcome out = run({"--api-keys-file", file.path()});
  expect_error(out, "--api-keys-file " + file.path() + ":3: ");
  EXPECT_THAT(out.output, Not(HasSubstr("hushhush")));
}

// --- errors ------------------------------------------------------------------------------

TEST(ConfigTest, UnknownFlag) {
  const ParseOutcome out = run({"--bogus"});
  expect_error(out, "--bogus");
  EXPECT_THAT(out.output, HasSubstr("--help"));
}

TEST(ConfigTest, UnexpectedPositionalArgument) { expect_error(run({"stray"}), "stray"); }

TEST(ConfigTest, MissingValue) {
  expect_error(run({"--threads"}), "--threads");
  // CLI11 takes the next word as the value, whatever it looks like; "2" is then the stray one.
  expect_error(run({"--listen", "--threads", "2"}), "not expected: 2");
}

TEST(ConfigTest, SingleValueFlagGivenTwice) { expect_error(run({"--threads", "1", "--threads", "2"}), "--threads"); }

TEST(ConfigTest, BadNumbers) {
  expect_error(run({"--threads", "0x"}), "--threads: '0x' is not a number");
  expect_error(run({"--threads", "-1"}), "--threads: '-1' is not a number");
  expect_error(run({"--threads", "+1"}), "--threads: '+1' is not a number");
  expect_error(run({"--threads", "1.5"}), "--threads: '1.5' is not a number");
  expect_error(run({"--threads", " 4"}), "--threads: ' 4' is not a number");
  expect_error(run({"--threads", ""}), "--threads: '' is not a number");
  expect_error(run({"--threads", "0"}), "--threads: '0' is out of range 1..256");
  expect_error(run({"--threads", "257"}), "--threads: '257' is out of range 1..256");
  expect_error(run({"--max-body-bytes", "1023"}), "--max-body-bytes: '1023' is out of range 1024..");
  expect_error(run({"--max-connections", "4294967296"}), "--max-connections: '4294967296' is out of range");
  expect_error(run({"--retention-max-messages", "99999999999999999999999"}), "is out of range");
  expect_error(run({"--max-batch-messages", "0"}), "--max-batch-messages: '0' is out of range");
  expect_error(run({"--redis-timeout-ms", "0"}), "--redis-timeout-ms: '0' is out of range");
  expect_error(run({"--webhook-pool-size", "0"}), "--webhook-pool-size: '0' is out of range");
  expect_error(run({"--max-header-count", "0"}), "--max-header-count: '0' is out of range");
  expect_error(run({}, {{"MESSAGING_MAX_URL_BYTES", "0"}}), "MESSAGING_MAX_URL_BYTES: '0' is out of range");
}

TEST(ConfigTest, BadNumberFromVariableNamesTheVariable) {
  expect_error(run({}, {{"MESSAGING_MAX_SUBSCRIPTIONS", "lots"}}), "MESSAGING_MAX_SUBSCRIPTIONS: 'lots' is not a number");
}

TEST(ConfigTest, GoodListenForms) {
  Config c = ok({"--listen", "[::1]:8080"});
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 8080);
  c = ok({"--listen", "localhost:65535"});
  EXPECT_EQ(c.listen_host, "localhost");
  EXPECT_EQ(c.listen_port, 65535);
  EXPECT_EQ(ok({"--listen", "[::]:1", "--insecure"}).listen_host, "::");
  EXPECT_EQ(ok({"--listen", "my_service.internal:80", "--api-key", "k:admin"}).listen_host, "my_service.internal");
}

// API.md Security: without keys only loopback clients, unless --insecure.
TEST(ConfigTest, NonLoopbackListenNeedsKeysOrInsecure) {
  for (const char* listen : {"0.0.0.0:8080", "[::]:8080", "10.1.2.3:80", "my_service.internal:80", "[::ffff:10.0.0.1]:80"}) {
    expect_error(run({"--listen", listen}), "without API keys; give --api-key or --api-keys-file, or --insecure");
    EXPECT_TRUE(ok({"--listen", listen, "--insecure"}).insecure) << listen;
    EXPECT_EQ(ok({"--listen", listen, "--api-key", "k:publish"}).api_keys.size(), 1u) << listen;
    EXPECT_EQ(ok({"--listen", listen}, {{"MESSAGING_API_KEY", "k:admin"}}).api_keys.size(), 1u) << listen;
  }
  for (const char* listen : {"127.0.0.1:0", "127.9.9.9:80", "[::1]:80", "localhost:80", "[::ffff:127.0.0.1]:80"}) {
    EXPECT_FALSE(ok({"--listen", listen}).insecure) << listen;
  }
}

TEST(ConfigTest, RateLimitBurstDefaultsToTwiceTheRate) {
  EXPECT_EQ(ok({}).rate_limit_rps, 0u);
  EXPECT_EQ(ok({"--rate-limit-rps", "10"}).rate_limit_burst, 20u);
  EXPECT_EQ(ok({"--rate-limit-rps", "10", "--rate-limit-burst", "3"}).rate_limit_burst, 3u);
  expect_error(run({"--rate-limit-burst", "0"}), "--rate-limit-burst");
  expect_error(run({"--metrics-key", "a b"}), "--metrics-key: must not contain spaces");
}

TEST(ConfigTest, BadListen) {
  expect_error(run({"--listen", "8080"}), "--listen: '8080' is not HOST:PORT");
  expect_error(run({"--listen", "::1:8080"}), "brackets");
  expect_error(run({"--listen", "[::1]"}), "is not [IPV6]:PORT");
  expect_error(run({"--listen", "[1.2.3.4]:80"}), "is not an IPv6 address");
  expect_error(run({"--listen", "1.2.3.4:65536"}), "port '65536'");
  expect_error(run({"--listen", "1.2.3.4:"}), "port ''");
  expect_error(run({"--listen", "host:http"}), "port 'http'");
  expect_error(run({"--listen", "256.1.1.1:80"}), "'256.1.1.1' is not an IPv4 address or host name");
  expect_error(run({"--listen", ":80"}), "is not an IPv4 address or host name");
  expect_error(run({"--listen", "a..b:80"}), "is not an IPv4 address or host name");
  expect_error(run({"--listen", "-bad:80"}), "is not an IPv4 address or host name");
  expect_error(run({}, {{"MESSAGING_LISTEN", "nope"}}), "MESSAGING_LISTEN: 'nope' is not HOST:PORT");
}

TEST(ConfigTest, BadCidr) {
  expect_error(run({"--endpoint-allow", "10.0.0.0/33"}), "--endpoint-allow: '10.0.0.0/33': the prefix length must be 0..32");
  expect_error(run({"--endpoint-allow", "::/129"}), "the prefix length must be 0..128");
  expect_error(run({"--endpoint-allow", "10.0.0.0/"}), "the prefix length");
  expect_error(run({"--endpoint-allow", "1.2.3.4/-1"}), "the prefix length");
  expect_error(run({"--endpoint-allow", "10.0.0/8"}), "'10.0.0/8' is not a CIDR");
  expect_error(run({"--endpoint-allow", "example.com"}), "is not a CIDR");
  expect_error(run({}, {{"MESSAGING_ENDPOINT_ALLOW", "10.0.0.0/8,bad"}}), "MESSAGING_ENDPOINT_ALLOW: 'bad' is not a CIDR");
}

TEST(ConfigTest, BadApiKeys) {
  expect_error(run({"--api-key", "k:publish,delete"}), "--api-key: an API key's scopes must be publish, subscribe or admin");
  expect_error(run({"--api-key", "k:"}), "needs at least one scope");
  expect_error(run({"--api-key", ":publish"}), "must be KEY:SCOPES");
  expect_error(run({"--api-key", "nocolon"}), "must be KEY:SCOPES");
  expect_error(run({}, {{"MESSAGING_API_KEY", "a:publish;b:root"}}), "MESSAGING_API_KEY #2: ");
}

TEST(ConfigTest, ApiKeyErrorsDoNotEchoTheSecret) {
  const ParseOutcome out = run({"--api-key", "topsecret:publish,everything"});
  expect_error(out, "--api-key");
  EXPECT_THAT(out.output, Not(HasSubstr("topsecret")));
}

TEST(ConfigTest, BadRedisUrlDoesNotEchoThePassword) {
  const ParseOutcome out = run({"--redis-url", "http://user:pa55word@host:6379"});
  expect_error(out, "--redis-url: expected redis://");
  EXPECT_THAT(out.output, Not(HasSubstr("pa55word")));
  expect_error(run({"--redis-url", "redis://"}), "--redis-url");
  expect_error(run({"--redis-url", "redis:///0"}), "--redis-url");
}

TEST(ConfigTest, BadChoicesAndTokens) {
  expect_error(run({"--log-level", "verbose"}), "--log-level: 'verbose' is not one of trace|debug|info|warn|error");
  expect_error(run({"--log-format", "xml"}), "--log-format: 'xml' is not one of text|json");
  expect_error(run({"--key-prefix", "my prefix"}), "--key-prefix: must be non-empty");
  expect_error(run({"--key-prefix", ""}), "--key-prefix: must be non-empty");
  expect_error(run({"--instance-id", "a b"}), "--instance-id: must not contain spaces");
  expect_error(run({"--webhook-ca-file", "/nonexistent/ca.pem"}), "--webhook-ca-file: cannot read");
}

TEST(ConfigTest, ErrorStaysOneLineWhateverTheValue) {
  expect_error(run({}, {{"MESSAGING_LOG_LEVEL", "info\nerror"}}), "MESSAGING_LOG_LEVEL: 'info error'");
}

// --- help and version -----------------------------------------------------------------------

TEST(ConfigTest, Help) {
  for (const char* flag : {"--help", "-h"}) {
    const ParseOutcome out = run({flag});
    EXPECT_FALSE(out.config.has_value());
    EXPECT_EQ(out.exit_code, 0);
    EXPECT_THAT(out.output, HasSubstr("--redis-url"));
    EXPECT_THAT(out.output, HasSubstr("--instance-id"));
    EXPECT_THAT(out.output, HasSubstr("MESSAGING_REDIS_URL"));
  }
}

TEST(ConfigTest, HelpWinsOverBadValues) {
  EXPECT_EQ(run({"--threads", "0", "--help"}).exit_code, 0);
}

TEST(ConfigTest, Version) {
  const ParseOutcome out = run({"--version"});
  EXPECT_FALSE(out.config.has_value());
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.output, "messaging_service 0.1.0\n");
}

TEST(ConfigTest, NoEnvironmentLookupAtAll) {
  const char* argv[] = {"messaging_service"};
  const ParseOutcome out = parse(1, argv, nullptr);
  ASSERT_TRUE(out.config.has_value()) << out.output;
  EXPECT_EQ(out.config->listen_port, 8080);
}

}  // namespace
}  // namespace ms::config
