#include "observe/tracer.h"

#include <gtest/gtest.h>

#include <vector>

namespace ms::observe {
namespace {

const char* kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

class TracerTest : public ::testing::Test {
 protected:
  void TearDown() override { Tracer::get().configure({}, {}); }
  std::vector<SpanData> spans;
  void capture(Tracer::Sampler sampler = {}) {
    Tracer::get().configure([this](SpanData s) { spans.push_back(std::move(s)); }, std::move(sampler));
  }
};

TEST_F(TracerTest, TraceparentRoundTrips) {
  auto ctx = from_traceparent(kParent, "vendor=x");
  ASSERT_TRUE(ctx);
  EXPECT_TRUE(ctx->sampled());
  EXPECT_EQ(ctx->trace_id[0], 0x4b);
  EXPECT_EQ(ctx->span_id[7], 0xb7);
  EXPECT_EQ(ctx->trace_state, "vendor=x");
  EXPECT_EQ(to_traceparent(*ctx), kParent);
}

TEST_F(TracerTest, InvalidTraceparentsAreRefused) {
  for (const char* bad : {"", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
                          "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}) {
    EXPECT_FALSE(from_traceparent(bad)) << bad;
  }
  // A later version may carry more fields after a '-'.
  EXPECT_TRUE(from_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"));
}

TEST_F(TracerTest, AChildContinuesItsParentsTraceWithANewSpanId) {
  auto parent = from_traceparent(kParent);
  auto child = Tracer::get().child_of(parent);
  EXPECT_EQ(child.trace_id, parent->trace_id);
  EXPECT_NE(child.span_id, parent->span_id);
  EXPECT_TRUE(child.valid());
  EXPECT_TRUE(child.sampled()) << "parent-based by default";
  auto unsampled = from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  EXPECT_FALSE(Tracer::get().child_of(unsampled).sampled());
  // No parent: a new trace, each time another.
  auto a = Tracer::get().child_of(std::nullopt), b = Tracer::get().child_of(std::nullopt);
  EXPECT_TRUE(a.valid());
  EXPECT_NE(a.trace_id, b.trace_id);
}

TEST_F(TracerTest, TheSamplerDecidesWithTheParentsFlag) {
  std::optional<bool> seen = true;
  Tracer::get().configure({}, [&](const TraceId&, std::optional<bool> parent) {
    seen = parent;
    return false;
  });
  EXPECT_FALSE(Tracer::get().child_of(std::nullopt).sampled());
  EXPECT_FALSE(seen.has_value());
  Tracer::get().child_of(from_traceparent(kParent));
  EXPECT_EQ(seen, std::optional<bool>(true));
}

TEST_F(TracerTest, SpansAreRecordedOnlyWhenExportingAndSampled) {
  auto ctx = Tracer::get().child_of(std::nullopt);
  Span off("x", SpanKind::server, ctx, {});
  EXPECT_FALSE(off.recording()) << "no exporter";
  off.end();
  capture();
  Span on("publish a.b", SpanKind::server, ctx, SpanId{1, 2, 3, 4, 5, 6, 7, 8});
  ASSERT_TRUE(on.recording());
  on.set("messaging.destination.name", std::string("a.b"));
  on.set_error("boom");
  on.end();
  on.end();  // once only
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "publish a.b");
  EXPECT_EQ(spans[0].kind, SpanKind::server);
  EXPECT_EQ(spans[0].trace_id, ctx.trace_id);
  EXPECT_EQ(spans[0].span_id, ctx.span_id);
  EXPECT_EQ(spans[0].parent_span_id[7], 8);
  EXPECT_EQ(spans[0].status, StatusCode::error);
  EXPECT_GE(spans[0].end_unix_ns, spans[0].start_unix_ns);
  ASSERT_EQ(spans[0].attributes.size(), 1u);
  SpanContext unsampled = ctx;
  unsampled.flags = 0;
  Span skipped("y", SpanKind::client, unsampled, {});
  EXPECT_FALSE(skipped.recording());
  skipped.end();
  EXPECT_EQ(spans.size(), 1u);
}

}  // namespace
}  // namespace ms::observe
