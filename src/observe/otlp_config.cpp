#include "observe/otlp_config.h"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace ms::observe {

namespace {

constexpr std::string_view kWhitespace = " \t\r\n";
constexpr std::int64_t kMaxMillis = 24LL * 3600 * 1000;  // a day: clamps absurd durations
constexpr std::int64_t kMaxSpans = 1'000'000;            // queue and batch sizes

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(kWhitespace);
  return s.substr(first, last - first + 1);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The variable's trimmed value; nullopt when unset, empty or only whitespace
// (the spec: an empty value is the same as unset).
std::optional<std::string> get(const EnvLookup& env, std::string_view name) {
  std::optional<std::string> v = env(name);
  if (!v) return std::nullopt;
  std::string_view t = trim(*v);
  if (t.empty()) return std::nullopt;
  return std::string(t);
}

// The first of the variables that is set, with its name.
std::optional<std::pair<std::string_view, std::string>> first_of(const EnvLookup& env,
                                                                 std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    if (auto v = get(env, name)) return std::make_pair(name, std::move(*v));
  }
  return std::nullopt;
}

// A positive integer within [1, max]; else the default with a warning.
std::int64_t positive_int(const EnvLookup& env, std::initializer_list<std::string_view> names, std::int64_t fallback,
                          std::int64_t max, std::vector<std::string>& warnings) {
  auto found = first_of(env, names);
  if (!found) return fallback;
  const auto& [name, text] = *found;
  std::int64_t value = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.front() == '-') err = std::errc::invalid_argument;
  if (err == std::errc::result_out_of_range ||
      (err == std::errc() && end == text.data() + text.size() && value > max)) {
    warnings.push_back(std::string(name) + "=" + text + " is too large; using " + std::to_string(max));
    return max;
  }
  if (err != std::errc() || end != text.data() + text.size() || value <= 0) {
    warnings.push_back(std::string(name) + "=" + text + " is not a positive integer; using the default " +
                       std::to_string(fallback));
    return fallback;
  }
  return value;
}

bool is_token_char(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7F;
  });
}

// Headers the exporter writes itself (framing, connection management, the body's type).
bool reserved_header(std::string_view lower_name) {
  static constexpr std::array<std::string_view, 8> kReserved = {
      "host", "content-type", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "upgrade"};
  return std::find(kReserved.begin(), kReserved.end(), lower_name) != kReserved.end();
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits "k=v,k2=v2" into trimmed, decoded pairs. Calls `bad(entry, why)` for a
// malformed entry (and skips it).
template <class OnPair, class OnBad>
void parse_pairs(std::string_view text, OnPair on_pair, OnBad bad) {
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view entry = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (entry.empty()) continue;
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) {
      bad(entry, "no '='");
      continue;
    }
    auto key = percent_decode(trim(entry.substr(0, eq)));
    auto value = percent_decode(trim(entry.substr(eq + 1)));
    if (!key || !value) {
      bad(entry, "bad percent escape");
      continue;
    }
    if (key->empty()) {
      bad(entry, "empty key");
      continue;
    }
    on_pair(std::move(*key), std::move(*value), entry);
  }
}

void set_attribute(Attributes& attrs, std::string key, std::string value) {
  auto it = std::find_if(attrs.begin(), attrs.end(), [&](const auto& kv) { return kv.first == key; });
  if (it != attrs.end()) {
    it->second = std::move(value);
  } else {
    attrs.emplace_back(std::move(key), AttributeValue(std::move(value)));
  }
}

std::optional<SamplerKind> sampler_kind(std::string_view name) {
  static constexpr std::array<SamplerKind, 6> kAll = {SamplerKind::always_on,
                                                      SamplerKind::always_off,
                                                      SamplerKind::traceidratio,
                                                      SamplerKind::parentbased_always_on,
                                                      SamplerKind::parentbased_always_off,
                                                      SamplerKind::parentbased_traceidratio};
  for (SamplerKind k : kAll) {
    if (to_string(k) == name) return k;
  }
  return std::nullopt;
}

}  // namespace

EnvLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const std::string key(name);
    const char* v = std::getenv(key.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int hi = hex_digit(text[i + 1]);
    const int lo = hex_digit(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::optional<OtlpEndpoint> parse_otlp_endpoint(std::string_view url, std::string& error) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    error = "not an absolute URL: \"" + std::string(url) + "\"";
    return std::nullopt;
  }
  const boost::urls::url_view& u = *parsed;
  OtlpEndpoint ep;
  boost::urls::url shown(u);
  shown.remove_userinfo();  // never sent, never logged
  ep.url = std::string(shown.buffer());
  if (u.scheme_id() == boost::urls::scheme::https) {
    ep.tls = true;
  } else if (u.scheme_id() != boost::urls::scheme::http) {
    error = "unsupported scheme \"" + std::string(u.scheme()) + "\" in \"" + ep.url + "\" (only http and https)";
    return std::nullopt;
  }
  if (!u.has_authority() || u.encoded_host().empty()) {
    error = "no host in \"" + ep.url + "\"";
    return std::nullopt;
  }
  bool v6 = false;
  switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
      ep.host = u.host_address();
      break;
    case boost::urls::host_type::ipv6:
      ep.host = lower(u.host_address());
      v6 = true;
      break;
    case boost::urls::host_type::name: {
      ep.host = lower(u.host_name());
      auto ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'; };
      if (ep.host.empty() || !std::all_of(ep.host.begin(), ep.host.end(), ok)) {
        error = "bad host name in \"" + ep.url + "\"";
        return std::nullopt;
      }
      break;
    }
    default:
      error = "unsupported host in \"" + ep.url + "\"";
      return std::nullopt;
  }
  ep.port = ep.tls ? 443 : 80;
  if (u.has_port()) {
    std::string_view p = u.port();
    unsigned value = 0;
    auto [end, err] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (p.empty() || err != std::errc() || end != p.data() + p.size() || value == 0 || value > 65535) {
      error = "bad port in \"" + ep.url + "\"";
      return std::nullopt;
    }
    ep.port = static_cast<std::uint16_t>(value);
  }
  ep.host_header = v6 ? "[" + ep.host + "]" : ep.host;
  if (ep.port != (ep.tls ? 443 : 80)) ep.host_header += ":" + std::to_string(ep.port);
  ep.target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) ep.target += "?" + std::string(u.encoded_query());
  return ep;
}

std::string traces_url_from_base(std::string_view base, std::string& error) {
  auto parsed = boost::urls::parse_uri(base);
  if (!parsed) {
    error = "not an absolute URL: \"" + std::string(base) + "\"";
    return {};
  }
  boost::urls::url u(*parsed);
  std::string path(u.encoded_path());
  if (path.empty() || path.back() != '/') path += '/';
  path += "v1/traces";
  u.set_encoded_path(path);
  return std::string(u.buffer());
}

Headers parse_otlp_headers(std::string_view text, std::string_view variable, std::vector<std::string>& warnings) {
  Headers out;
  auto bad = [&](std::string_view entry, std::string_view why) {
    warnings.push_back(std::string(variable) + ": skipping header entry \"" + std::string(entry) + "\" (" +
                       std::string(why) + ")");
  };
  parse_pairs(
      text,
      [&](std::string key, std::string value, std::string_view entry) {
        if (!std::all_of(key.begin(), key.end(), is_token_char)) return bad(entry, "not a valid header name");
        if (has_control_char(value)) return bad(entry, "control character in the value");
        if (reserved_header(lower(key))) return bad(entry, "the exporter sets this header itself");
        out.emplace_back(std::move(key), std::move(value));
      },
      bad);
  return out;
}

Resource resource_from_env(const EnvLookup& env, const ResourceInfo& info, std::vector<std::string>& warnings) {
  Resource r;
  r.service_version = info.service_version;
  if (!info.instance_id.empty()) r.attributes.emplace_back("service.instance.id", AttributeValue(info.instance_id));
  r.attributes.emplace_back("telemetry.sdk.name", AttributeValue(std::string(kScopeName)));
  r.attributes.emplace_back("telemetry.sdk.language", AttributeValue(std::string("cpp")));
  if (!info.service_version.empty()) {
    r.attributes.emplace_back("telemetry.sdk.version", AttributeValue(info.service_version));
  }

  if (auto text = get(env, "OTEL_RESOURCE_ATTRIBUTES")) {
    std::vector<std::pair<std::string, std::string>> pairs;
    std::string error;
    parse_pairs(
        *text, [&](std::string key, std::string value, std::string_view) { pairs.emplace_back(key, value); },
        [&](std::string_view entry, std::string_view why) {
          if (error.empty()) error = "\"" + std::string(entry) + "\" (" + std::string(why) + ")";
        });
    if (!error.empty()) {
      warnings.push_back("OTEL_RESOURCE_ATTRIBUTES ignored: malformed entry " + error);
    } else {
      for (auto& [key, value] : pairs) {
        if (key == "service.name") {
          r.service_name = std::move(value);
        } else if (key == "service.version") {
          r.service_version = std::move(value);
        } else {
          set_attribute(r.attributes, std::move(key), std::move(value));
        }
      }
    }
  }
  if (auto name = get(env, "OTEL_SERVICE_NAME")) r.service_name = std::move(*name);
  return r;
}

SamplerConfig sampler_from_env(const EnvLookup& env, std::vector<std::string>& warnings) {
  SamplerConfig s;
  if (auto name = get(env, "OTEL_TRACES_SAMPLER")) {
    if (auto kind = sampler_kind(lower(*name))) {
      s.kind = *kind;
    } else {
      warnings.push_back("OTEL_TRACES_SAMPLER=" + *name + " is not supported (always_on, always_off, traceidratio, " +
                         "parentbased_always_on, parentbased_always_off, parentbased_traceidratio); using " +
                         std::string(to_string(s.kind)));
    }
  }
  const bool ratio_kind = s.kind == SamplerKind::traceidratio || s.kind == SamplerKind::parentbased_traceidratio;
  if (auto arg = get(env, "OTEL_TRACES_SAMPLER_ARG"); arg && ratio_kind) {
    double ratio = 0;
    auto [end, err] = std::from_chars(arg->data(), arg->data() + arg->size(), ratio);
    if (err != std::errc() || end != arg->data() + arg->size() || !(ratio >= 0.0 && ratio <= 1.0)) {
      warnings.push_back("OTEL_TRACES_SAMPLER_ARG=" + *arg + " is not a probability in [0, 1]; using 1.0");
    } else {
      s.ratio = ratio;
    }
  }
  return s;
}

OtlpConfig otlp_config_from_env(const EnvLookup& env, const ResourceInfo& info) {
  OtlpConfig c;
  auto& w = c.warnings;
  c.resource = resource_from_env(env, info, w);
  c.sampler = sampler_from_env(env, w);

  if (auto h = first_of(env, {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"})) {
    c.headers = parse_otlp_headers(h->second, h->first, w);
  }
  if (auto ca = first_of(env, {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"})) {
    c.ca_file = ca->second;
  }
  if (auto p = first_of(env, {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"});
      p && lower(p->second) != "http/json") {
    w.push_back(std::string(p->first) + "=" + p->second + " is not supported; the exporter sends http/json");
  }
  c.timeout = std::chrono::milliseconds(
      positive_int(env, {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"}, 10000, kMaxMillis, w));
  c.max_queue_size = static_cast<std::size_t>(positive_int(env, {"OTEL_BSP_MAX_QUEUE_SIZE"}, 2048, kMaxSpans, w));
  c.max_export_batch_size =
      static_cast<std::size_t>(positive_int(env, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE"}, 512, kMaxSpans, w));
  if (c.max_export_batch_size > c.max_queue_size) {
    w.push_back("OTEL_BSP_MAX_EXPORT_BATCH_SIZE=" + std::to_string(c.max_export_batch_size) +
                " is above OTEL_BSP_MAX_QUEUE_SIZE; using " + std::to_string(c.max_queue_size));
    c.max_export_batch_size = c.max_queue_size;
  }
  c.schedule_delay = std::chrono::milliseconds(positive_int(env, {"OTEL_BSP_SCHEDULE_DELAY"}, 5000, kMaxMillis, w));
  c.export_timeout = std::chrono::milliseconds(positive_int(env, {"OTEL_BSP_EXPORT_TIMEOUT"}, 30000, kMaxMillis, w));

  // Off switches first, then the endpoint.
  if (auto off = get(env, "OTEL_SDK_DISABLED"); off && lower(*off) == "true") return c;
  if (auto exporters = get(env, "OTEL_TRACES_EXPORTER")) {
    bool otlp = false, none = false;
    std::string unknown;
    std::string_view rest = *exporters;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string name = lower(trim(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (name == "otlp") {
        otlp = true;
      } else if (name == "none") {
        none = true;
      } else if (!name.empty()) {
        unknown += (unknown.empty() ? "" : ", ") + name;
      }
    }
    if (!unknown.empty()) w.push_back("OTEL_TRACES_EXPORTER: only otlp is supported; ignoring " + unknown);
    if (none || !otlp) return c;
  }

  std::string url;
  std::string_view source;
  std::string error;
  if (auto traces = get(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
    url = std::move(*traces);
    source = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
  } else if (auto base = get(env, "OTEL_EXPORTER_OTLP_ENDPOINT")) {
    source = "OTEL_EXPORTER_OTLP_ENDPOINT";
    url = traces_url_from_base(*base, error);
    if (url.empty()) {
      w.push_back(std::string(source) + ": " + error + "; trace export is off");
      return c;
    }
  } else {
    return c;  // not configured: off, quietly
  }
  c.endpoint = parse_otlp_endpoint(url, error);
  if (!c.endpoint) w.push_back(std::string(source) + ": " + error + "; trace export is off");
  return c;
}

}  // namespace ms::observe
