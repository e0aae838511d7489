// observe/otlp_config.h: the OTEL_* environment variables through an injected
// lookup, and the pieces (percent-decoding, header lists, endpoint URLs,
// resource, sampler choice).
#include "observe/otlp_config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace ms::observe {
namespace {

using Env = std::map<std::string, std::string, std::less<>>;

EnvLookup lookup(Env env) {
  return [env = std::move(env)](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

OtlpConfig config(Env env, ResourceInfo info = {}) { return otlp_config_from_env(lookup(std::move(env)), info); }

bool mentions(const std::vector<std::string>& warnings, std::string_view text) {
  for (const auto& w : warnings) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

const AttributeValue* find_attr(const Attributes& attrs, std::string_view key) {
  for (const auto& [k, v] : attrs) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string str_attr(const Attributes& attrs, std::string_view key) {
  const AttributeValue* v = find_attr(attrs, key);
  if (!v) return "<absent>";
  return std::get<std::string>(*v);
}

// ---- endpoint ------------------------------------------------------------------

TEST(OtlpConfig, NoEndpointMeansOff) {
  OtlpConfig c = config({});
  EXPECT_FALSE(c.enabled());
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_FALSE(config({{"OTEL_EXPORTER_OTLP_ENDPOINT", "  "}}).enabled());  // empty = unset
}

TEST(OtlpConfig, TracesEndpointIsUsedAsIs) {
  OtlpConfig c = config({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/custom/path?x=1"},
                         {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4318"}});
  ASSERT_TRUE(c.enabled());
  EXPECT_EQ(c.endpoint->url, "http://collector:4318/custom/path?x=1");
  EXPECT_EQ(c.endpoint->host, "collector");
  EXPECT_EQ(c.endpoint->port, 4318);
  EXPECT_EQ(c.endpoint->target, "/custom/path?x=1");
  EXPECT_EQ(c.endpoint->host_header, "collector:4318");
  EXPECT_FALSE(c.endpoint->tls);
}

TEST(OtlpConfig, TracesEndpointWithoutPathUsesRoot) {
  OtlpConfig c = config({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318"}});
  ASSERT_TRUE(c.enabled());
  EXPECT_EQ(c.endpoint->target, "/");
}

TEST(OtlpConfig, BaseEndpointGetsV1Traces) {
  for (const char* base : {"http://collector:4318", "http://collector:4318/"}) {
    OtlpConfig c = config({{"OTEL_EXPORTER_OTLP_ENDPOINT", base}});
    ASSERT_TRUE(c.enabled()) << base;
    EXPECT_EQ(c.endpoint->url, "http://collector:4318/v1/traces") << base;
    EXPECT_EQ(c.endpoint->target, "/v1/traces") << base;
  }
  OtlpConfig c = config({{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://gateway.example/otlp/"}});
  ASSERT_TRUE(c.enabled());
  EXPECT_EQ(c.endpoint->url, "https://gateway.example/otlp/v1/traces");
  EXPECT_TRUE(c.endpoint->tls);
  EXPECT_EQ(c.endpoint->port, 443);
  EXPECT_EQ(c.endpoint->host_header, "gateway.example");
}

TEST(OtlpConfig, TracesUrlFromBaseKeepsTheQuery) {
  std::string error;
  EXPECT_EQ(traces_url_from_base("http://c:4318/p?tenant=a", error), "http://c:4318/p/v1/traces?tenant=a");
  EXPECT_EQ(traces_url_from_base("collector:4318", error), "collector:4318/v1/traces");  // a URI, but...
  EXPECT_TRUE(traces_url_from_base("::nope", error).empty());
  EXPECT_FALSE(error.empty());
}

TEST(OtlpConfig, BadEndpointsTurnExportOffWithAWarning) {
  for (const char* url : {"collector:4318", "grpc://collector:4317", "http://", "http://c:0/v1/traces",
                          "http://c:99999/v1/traces", "not a url"}) {
    OtlpConfig c = config({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url}});
    EXPECT_FALSE(c.enabled()) << url;
    EXPECT_TRUE(mentions(c.warnings, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) << url;
    EXPECT_TRUE(mentions(c.warnings, "trace export is off")) << url;
  }
  OtlpConfig c = config({{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}});  // scheme "collector"
  EXPECT_FALSE(c.enabled());
  EXPECT_TRUE(mentions(c.warnings, "OTEL_EXPORTER_OTLP_ENDPOINT"));
}

TEST(OtlpConfig, Ipv6Endpoint) {
  std::string error;
  auto ep = parse_otlp_endpoint("http://[::1]:4318/v1/traces", error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->host_header, "[::1]:4318");
}

TEST(OtlpConfig, UserinfoIsNeitherSentNorShown) {
  std::string error;
  auto ep = parse_otlp_endpoint("http://user:secret@collector:4318/v1/traces#frag", error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->url.find("secret"), std::string::npos);
  EXPECT_EQ(ep->url.find("user"), std::string::npos);
  EXPECT_EQ(ep->host_header, "collector:4318");
  EXPECT_EQ(ep->target, "/v1/traces");
}

TEST(OtlpConfig, OffSwitches) {
  const Env on = {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}};
  EXPECT_TRUE(config(on).enabled());
  Env e = on;
  e["OTEL_SDK_DISABLED"] = "TRUE";
  EXPECT_FALSE(config(e).enabled());
  e = on;
  e["OTEL_SDK_DISABLED"] = "false";
  EXPECT_TRUE(config(e).enabled());
  e = on;
  e["OTEL_TRACES_EXPORTER"] = "none";
  EXPECT_FALSE(config(e).enabled());
  e["OTEL_TRACES_EXPORTER"] = "otlp";
  EXPECT_TRUE(config(e).enabled());
  e["OTEL_TRACES_EXPORTER"] = "zipkin";
  OtlpConfig c = config(e);
  EXPECT_FALSE(c.enabled());
  EXPECT_TRUE(mentions(c.warnings, "zipkin"));
  e["OTEL_TRACES_EXPORTER"] = "otlp, console";
  c = config(e);
  EXPECT_TRUE(c.enabled());
  EXPECT_TRUE(mentions(c.warnings, "console"));
}

TEST(OtlpConfig, ProtocolOtherThanJsonWarns) {
  OtlpConfig c = config({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}, {"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}});
  EXPECT_TRUE(c.enabled());
  EXPECT_TRUE(mentions(c.warnings, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"));
  c = config({{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"}});
  EXPECT_TRUE(c.warnings.empty());
}

// ---- headers -------------------------------------------------------------------

TEST(OtlpConfig, PercentDecode) {
  EXPECT_EQ(percent_decode("a%20b%2Cc%3d"), "a b,c=");
  EXPECT_EQ(percent_decode("plain+text"), "plain+text");  // no form encoding
  EXPECT_EQ(percent_decode("%e2%82%ac"), "\xe2\x82\xac");
  EXPECT_EQ(percent_decode("100%"), std::nullopt);
  EXPECT_EQ(percent_decode("%4"), std::nullopt);
  EXPECT_EQ(percent_decode("%zz"), std::nullopt);
  EXPECT_EQ(percent_decode(""), "");
}

TEST(OtlpConfig, Headers) {
  std::vector<std::string> w;
  Headers h = parse_otlp_headers(" api-key = secret%3Dvalue ,x-tenant=acme,,  authorization=Bearer%20abc ", "VAR", w);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0], (std::pair<std::string, std::string>("api-key", "secret=value")));
  EXPECT_EQ(h[1], (std::pair<std::string, std::string>("x-tenant", "acme")));
  EXPECT_EQ(h[2], (std::pair<std::string, std::string>("authorization", "Bearer abc")));
  EXPECT_TRUE(w.empty());
}

TEST(OtlpConfig, BadHeaderEntriesAreSkippedWithAWarning) {
  std::vector<std::string> w;
  Headers h = parse_otlp_headers("good=1,novalue,=empty,bad name=2,ctl=a%0Db,pct=%zz,Content-Type=text/plain,ok=%20",
                                 "OTEL_EXPORTER_OTLP_HEADERS", w);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].first, "good");
  EXPECT_EQ(h[1].first, "ok");
  EXPECT_EQ(h[1].second, " ");
  EXPECT_EQ(w.size(), 6u);
  for (const auto& warning : w) EXPECT_NE(warning.find("OTEL_EXPORTER_OTLP_HEADERS"), std::string::npos) << warning;
  EXPECT_TRUE(mentions(w, "\"novalue\""));
  EXPECT_TRUE(mentions(w, "Content-Type"));
}

TEST(OtlpConfig, TracesHeadersReplaceGenericOnes) {
  OtlpConfig c = config({{"OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2"}});
  ASSERT_EQ(c.headers.size(), 2u);
  c = config({{"OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2"}, {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "c=3"}});
  ASSERT_EQ(c.headers.size(), 1u);
  EXPECT_EQ(c.headers[0].first, "c");
}

// ---- numbers -------------------------------------------------------------------

TEST(OtlpConfig, Defaults) {
  OtlpConfig c = config({});
  EXPECT_EQ(c.timeout, std::chrono::milliseconds(10000));
  EXPECT_EQ(c.max_queue_size, 2048u);
  EXPECT_EQ(c.max_export_batch_size, 512u);
  EXPECT_EQ(c.schedule_delay, std::chrono::milliseconds(5000));
  EXPECT_EQ(c.export_timeout, std::chrono::milliseconds(30000));
  EXPECT_TRUE(c.headers.empty());
  EXPECT_TRUE(c.ca_file.empty());
  EXPECT_EQ(c.sampler.kind, SamplerKind::parentbased_always_on);
  EXPECT_EQ(c.resource.service_name, "messaging_service");
}

TEST(OtlpConfig, Numbers) {
  OtlpConfig c = config({{"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
                         {"OTEL_BSP_MAX_QUEUE_SIZE", "100"},
                         {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", " 10 "},
                         {"OTEL_BSP_SCHEDULE_DELAY", "250"},
                         {"OTEL_BSP_EXPORT_TIMEOUT", "7000"}});
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_EQ(c.timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(c.max_queue_size, 100u);
  EXPECT_EQ(c.max_export_batch_size, 10u);
  EXPECT_EQ(c.schedule_delay, std::chrono::milliseconds(250));
  EXPECT_EQ(c.export_timeout, std::chrono::milliseconds(7000));
  c = config({{"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"}, {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "800"}});
  EXPECT_EQ(c.timeout, std::chrono::milliseconds(800));
}

TEST(OtlpConfig, BadNumbersFallBackWithAWarning) {
  for (const char* bad : {"abc", "-5", "0", "1.5", "10ms", "-99999999999999999999999"}) {
    OtlpConfig c = config({{"OTEL_BSP_MAX_QUEUE_SIZE", bad}});
    EXPECT_EQ(c.max_queue_size, 2048u) << bad;
    EXPECT_TRUE(mentions(c.warnings, "OTEL_BSP_MAX_QUEUE_SIZE")) << bad;
  }
  OtlpConfig c = config({{"OTEL_EXPORTER_OTLP_TIMEOUT", "99999999999999999999999"}});
  EXPECT_EQ(c.timeout, std::chrono::hours(24));
  EXPECT_TRUE(mentions(c.warnings, "too large"));
}

TEST(OtlpConfig, BatchSizeIsCappedByQueueSize) {
  OtlpConfig c = config({{"OTEL_BSP_MAX_QUEUE_SIZE", "100"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "500"}});
  EXPECT_EQ(c.max_export_batch_size, 100u);
  EXPECT_TRUE(mentions(c.warnings, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"));
}

TEST(OtlpConfig, CertificateFile) {
  EXPECT_EQ(config({{"OTEL_EXPORTER_OTLP_CERTIFICATE", "/a.pem"}}).ca_file, "/a.pem");
  EXPECT_EQ(config({{"OTEL_EXPORTER_OTLP_CERTIFICATE", "/a.pem"}, {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/b.pem"}})
                .ca_file,
            "/b.pem");
}

// ---- resource ------------------------------------------------------------------

TEST(OtlpConfig, ResourceDefaults) {
  OtlpConfig c = config({}, {.service_version = "0.1.0", .instance_id = "host-1:8080"});
  const Resource& r = c.resource;
  EXPECT_EQ(r.service_name, "messaging_service");
  EXPECT_EQ(r.service_version, "0.1.0");
  EXPECT_EQ(str_attr(r.attributes, "service.instance.id"), "host-1:8080");
  EXPECT_EQ(str_attr(r.attributes, "telemetry.sdk.name"), "messaging_service");
  EXPECT_EQ(str_attr(r.attributes, "telemetry.sdk.language"), "cpp");
  EXPECT_EQ(str_attr(r.attributes, "telemetry.sdk.version"), "0.1.0");
  EXPECT_EQ(find_attr(r.attributes, "service.name"), nullptr);  // a field of its own

  Resource bare = config({}).resource;
  EXPECT_EQ(find_attr(bare.attributes, "service.instance.id"), nullptr);
  EXPECT_EQ(find_attr(bare.attributes, "telemetry.sdk.version"), nullptr);
}

TEST(OtlpConfig, ResourceAttributesFromEnv) {
  OtlpConfig c = config({{"OTEL_RESOURCE_ATTRIBUTES",
                          "deployment.environment=prod, team = pay%20ments,service.version=2.0,"
                          "service.instance.id=pod-7,k8s.pod.name=a%2Cb"}},
                        {.service_version = "0.1.0", .instance_id = "host-1"});
  EXPECT_TRUE(c.warnings.empty());
  const Resource& r = c.resource;
  EXPECT_EQ(r.service_version, "2.0");
  EXPECT_EQ(str_attr(r.attributes, "deployment.environment"), "prod");
  EXPECT_EQ(str_attr(r.attributes, "team"), "pay ments");
  EXPECT_EQ(str_attr(r.attributes, "service.instance.id"), "pod-7");  // the environment wins
  EXPECT_EQ(str_attr(r.attributes, "k8s.pod.name"), "a,b");
  std::size_t instance_ids = 0;
  for (const auto& [k, v] : r.attributes) instance_ids += k == "service.instance.id";
  EXPECT_EQ(instance_ids, 1u);  // replaced, not duplicated
}

TEST(OtlpConfig, ServiceNamePrecedence) {
  EXPECT_EQ(config({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs"}}).resource.service_name, "from-attrs");
  EXPECT_EQ(config({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs"}, {"OTEL_SERVICE_NAME", "billing"}})
                .resource.service_name,
            "billing");
  EXPECT_EQ(config({{"OTEL_SERVICE_NAME", "billing"}}).resource.service_name, "billing");
}

TEST(OtlpConfig, MalformedResourceAttributesAreDiscardedWhole) {
  OtlpConfig c = config({{"OTEL_RESOURCE_ATTRIBUTES", "team=pay,broken,service.name=x"}});
  EXPECT_EQ(c.resource.service_name, "messaging_service");
  EXPECT_EQ(find_attr(c.resource.attributes, "team"), nullptr);
  EXPECT_TRUE(mentions(c.warnings, "OTEL_RESOURCE_ATTRIBUTES ignored"));
  c = config({{"OTEL_RESOURCE_ATTRIBUTES", "team=%zz"}});
  EXPECT_EQ(find_attr(c.resource.attributes, "team"), nullptr);
  EXPECT_TRUE(mentions(c.warnings, "bad percent escape"));
}

// ---- sampler -------------------------------------------------------------------

TEST(OtlpConfig, SamplerChoices) {
  struct Case {
    const char* name;
    SamplerKind kind;
  };
  for (const Case& k : {Case{"always_on", SamplerKind::always_on}, Case{"always_off", SamplerKind::always_off},
                        Case{"traceidratio", SamplerKind::traceidratio},
                        Case{"parentbased_always_on", SamplerKind::parentbased_always_on},
                        Case{"parentbased_always_off", SamplerKind::parentbased_always_off},
                        Case{"ParentBased_TraceIdRatio", SamplerKind::parentbased_traceidratio}}) {
    OtlpConfig c = config({{"OTEL_TRACES_SAMPLER", k.name}});
    EXPECT_EQ(c.sampler.kind, k.kind) << k.name;
    EXPECT_EQ(c.sampler.ratio, 1.0) << k.name;
    EXPECT_TRUE(c.warnings.empty()) << k.name;
  }
}

TEST(OtlpConfig, UnknownSamplerFallsBackToDefault) {
  OtlpConfig c = config({{"OTEL_TRACES_SAMPLER", "jaeger_remote"}});
  EXPECT_EQ(c.sampler.kind, SamplerKind::parentbased_always_on);
  EXPECT_TRUE(mentions(c.warnings, "jaeger_remote"));
}

TEST(OtlpConfig, SamplerArg) {
  OtlpConfig c = config({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "0.25"}});
  EXPECT_EQ(c.sampler.ratio, 0.25);
  EXPECT_TRUE(c.warnings.empty());
  c = config({{"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "0"}});
  EXPECT_EQ(c.sampler.ratio, 0.0);
  for (const char* bad : {"1.5", "-0.1", "half", "nan", "0.5x"}) {
    c = config({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", bad}});
    EXPECT_EQ(c.sampler.ratio, 1.0) << bad;
    EXPECT_TRUE(mentions(c.warnings, "OTEL_TRACES_SAMPLER_ARG")) << bad;
  }
  // Ignored by samplers that take no argument.
  c = config({{"OTEL_TRACES_SAMPLER", "always_on"}, {"OTEL_TRACES_SAMPLER_ARG", "half"}});
  EXPECT_TRUE(c.warnings.empty());
}

}  // namespace
}  // namespace ms::observe
