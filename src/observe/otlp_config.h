// The trace exporter's configuration, read from the standard OpenTelemetry
// environment variables through an injected lookup (tests pass a map; the
// service passes process_environment()). Pure: nothing here reads the
// process environment by itself, does I/O or logs; problems come back as
// warning texts for the caller to log once at start.
//
//   auto cfg = observe::otlp_config_from_env(observe::process_environment(),
//                                            {.service_version = std::string(config::kVersion)});
//   for (const auto& w : cfg.warnings) log->warn("{}", w);
//   if (cfg.enabled()) exporter = std::make_unique<observe::OtlpExporter>(cfg);
//
// Variables (docs/observability.md "Tracing export"); an empty value counts as
// unset, as the spec says:
//   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  full URL, used as is
//   OTEL_EXPORTER_OTLP_ENDPOINT         base URL; "v1/traces" is appended to its path
//                                       neither set: exporting is off (the spec's
//                                       default of localhost:4318 is not assumed)
//   OTEL_EXPORTER_OTLP_[TRACES_]HEADERS     k=v,k2=v2 (percent-decoded); the TRACES one replaces the other
//   OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT     ms per export request, default 10000
//   OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE PEM CA file trusted (besides the system store) for https
//   OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL    only http/json is spoken; other values warn
//   OTEL_BSP_MAX_QUEUE_SIZE 2048, OTEL_BSP_MAX_EXPORT_BATCH_SIZE 512,
//   OTEL_BSP_SCHEDULE_DELAY 5000 ms, OTEL_BSP_EXPORT_TIMEOUT 30000 ms (one batch, all its tries)
//   OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES (k=v,k2=v2, percent-decoded)
//   OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG (sampler.h)
//   OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none: exporting off
#pragma once

#include "observe/otlp_json.h"
#include "observe/sampler.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ms::observe {

// Returns the variable's value, nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The real process environment (getenv). Read it at start, before threads
// that might setenv.
EnvLookup process_environment();

using Headers = std::vector<std::pair<std::string, std::string>>;

// Where spans are POSTed: an http:// or https:// URL taken apart.
struct OtlpEndpoint {
  std::string url;          // the URL without userinfo, for logs
  bool tls = false;         // https
  std::string host;         // lower case; IPv6 without brackets
  std::uint16_t port = 0;   // 80 / 443 unless given
  std::string host_header;  // "collector:4318", "[::1]:4318"
  std::string target;       // "/v1/traces" (path and query; "/" when the URL has no path)
};

// Takes an absolute http(s) URL apart; nullopt with `error` set otherwise.
// Userinfo and fragment are ignored.
std::optional<OtlpEndpoint> parse_otlp_endpoint(std::string_view url, std::string& error);

// OTEL_EXPORTER_OTLP_ENDPOINT → the traces URL: "v1/traces" appended to the
// base URL's path, with one slash between ("http://c:4318" and
// "http://c:4318/" both give "http://c:4318/v1/traces"; "http://c/otlp" gives
// "http://c/otlp/v1/traces"). Empty with `error` set when `base` is no URL.
std::string traces_url_from_base(std::string_view base, std::string& error);

// What the service knows about itself, for the resource.
struct ResourceInfo {
  std::string service_version;  // service.version and the scope version; e.g. config::kVersion
  std::string instance_id;      // service.instance.id when not empty
};

struct OtlpConfig {
  std::optional<OtlpEndpoint> endpoint;  // nullopt: exporting off
  bool enabled() const { return endpoint.has_value(); }

  Headers headers;                                  // sent with every export request, after content-type
  std::string ca_file;                              // extra trusted CA (PEM) for https; empty: system store only
  std::chrono::milliseconds timeout{10000};         // one request: connect + TLS + write + read
  std::size_t max_queue_size = 2048;                // spans waiting; beyond it new spans are dropped
  std::size_t max_export_batch_size = 512;          // spans per request, <= max_queue_size
  std::chrono::milliseconds schedule_delay{5000};   // a partial batch waits at most this long
  std::chrono::milliseconds export_timeout{30000};  // one batch, every try and backoff included

  Resource resource;
  SamplerConfig sampler;

  std::vector<std::string> warnings;  // one sentence each, naming the variable
};

OtlpConfig otlp_config_from_env(const EnvLookup& env, const ResourceInfo& info = {});

// ---- the pieces, for tests and reuse -------------------------------------------

// "%41b" → "Ab". nullopt on a '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text);

// "k=v, k2 = v%202" → {{"k","v"},{"k2","v 2"}}: entries split on ',', key and
// value split on the first '=', whitespace trimmed, both percent-decoded. An
// entry without '=', with an empty or non-token key, a value with control
// characters, a bad percent escape, or a header the exporter sets itself
// (host, content-type, content-length, ...) is skipped with a warning naming
// `variable`. Empty entries are ignored.
Headers parse_otlp_headers(std::string_view text, std::string_view variable, std::vector<std::string>& warnings);

// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and `info` → the resource.
// Precedence for service.name: OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES,
// then "messaging_service". Other keys: OTEL_RESOURCE_ATTRIBUTES over `info`
// and the built-in telemetry.sdk.* (name "messaging_service", language "cpp",
// version = info.service_version). A malformed OTEL_RESOURCE_ATTRIBUTES is
// discarded as a whole with a warning, as the resource SDK spec says.
Resource resource_from_env(const EnvLookup& env, const ResourceInfo& info, std::vector<std::string>& warnings);

// OTEL_TRACES_SAMPLER (case-insensitive; unknown → default with a warning)
// and OTEL_TRACES_SAMPLER_ARG (the ratio for the *traceidratio kinds; not a
// number in [0, 1] → 1.0 with a warning; ignored by the other kinds).
SamplerConfig sampler_from_env(const EnvLookup& env, std::vector<std::string>& warnings);

}  // namespace ms::observe
