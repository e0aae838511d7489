// W3C Trace Context: traceparent and tracestate, with the specification's examples
// and the cases of the W3C test suite (test/test.py, strict level).
#include "observe/trace_context.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ms::observe {
namespace {

constexpr const char* kSpecSampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr const char* kSpecNotSampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
constexpr const char* kSuiteId = "12345678901234567890123456789012";

std::string trace_hex(const std::optional<TraceContext>& c) { return c ? to_hex(c->trace_id) : "(invalid)"; }

// --- traceparent ------------------------------------------------------------------------

TEST(TraceParent, SpecExampleSampled) {
  auto c = parse_traceparent(kSpecSampled);
  ASSERT_TRUE(c);
  EXPECT_EQ(to_hex(c->trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(to_hex(c->span_id), "00f067aa0ba902b7");
  EXPECT_EQ(c->flags, 0x01);
  EXPECT_TRUE(c->sampled());
  EXPECT_EQ(format_traceparent(*c), kSpecSampled);
}

TEST(TraceParent, SpecExampleNotSampled) {
  auto c = parse_traceparent(kSpecNotSampled);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->flags, 0x00);
  EXPECT_FALSE(c->sampled());
  EXPECT_EQ(format_traceparent(*c), kSpecNotSampled);
}

TEST(TraceParent, OtherSpecExamples) {
  for (const char* tp : {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                         "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01",
                         "00-0af7651916cd43dd8448eb211c80319c-b9c7c989f97918e1-01"}) {
    SCOPED_TRACE(tp);
    auto c = parse_traceparent(tp);
    ASSERT_TRUE(c);
    EXPECT_EQ(format_traceparent(*c), tp);
  }
}

TEST(TraceParent, FlagsAreABitFieldKeptWhole) {
  // "09" is sampled plus an unknown bit: sampled, and version 00 keeps the byte.
  auto c = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->sampled());
  EXPECT_EQ(c->flags, 0x09);
  auto ff = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff");
  ASSERT_TRUE(ff);
  EXPECT_EQ(ff->flags, 0xff);
}

TEST(TraceParent, InvalidValuesAreIgnored) {
  const std::vector<std::string> invalid = {
      "",
      "00",
      "00-12345678901234567890123456789012-1234567890123456-01.",                           // trailing characters
      "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",  // version 00 is exact
      "ff-12345678901234567890123456789012-1234567890123456-01",                             // version ff
      ".0-12345678901234567890123456789012-1234567890123456-01",
      "0.-12345678901234567890123456789012-1234567890123456-01",
      "000-12345678901234567890123456789012-1234567890123456-01",
      "0000-12345678901234567890123456789012-1234567890123456-01",
      "0-12345678901234567890123456789012-1234567890123456-01",
      "00-00000000000000000000000000000000-1234567890123456-01",  // all-zero trace id
      "00-.2345678901234567890123456789012-1234567890123456-01",
      "00-1234567890123456789012345678901.-1234567890123456-01",
      "00-123456789012345678901234567890123-1234567890123456-01",
      "00-1234567890123456789012345678901-1234567890123456-01",
      "00-12345678901234567890123456789012-0000000000000000-01",  // all-zero parent id
      "00-12345678901234567890123456789012-.234567890123456-01",
      "00-12345678901234567890123456789012-123456789012345.-01",
      "00-12345678901234567890123456789012-12345678901234567-01",
      "00-12345678901234567890123456789012-123456789012345-01",
      "00-12345678901234567890123456789012-1234567890123456-.0",
      "00-12345678901234567890123456789012-1234567890123456-0.",
      "00-12345678901234567890123456789012-1234567890123456-001",
      "00-12345678901234567890123456789012-1234567890123456-1",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // uppercase hex
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
      "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // wrong delimiters
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
      " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // the HTTP layer strips OWS, not this
  };
  for (const auto& tp : invalid) {
    EXPECT_FALSE(parse_traceparent(tp)) << "accepted: '" << tp << "'";
  }
  EXPECT_FALSE(parse_traceparent(std::string_view("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\0", 55)));
}

TEST(TraceParent, HigherVersionsAreReadByTheVersion00Layout) {
  EXPECT_EQ(trace_hex(parse_traceparent("cc-12345678901234567890123456789012-1234567890123456-01")), kSuiteId);
  EXPECT_EQ(trace_hex(parse_traceparent("cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like")),
            kSuiteId);
  EXPECT_FALSE(parse_traceparent("cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like"));
  EXPECT_FALSE(parse_traceparent("cc-12345678901234567890123456789012-1234567890123456-0"));  // shorter than 55
  EXPECT_FALSE(parse_traceparent("01-00000000000000000000000000000000-1234567890123456-01"));
  // Only the flags version 00 defines are kept; the answer is written as version 00.
  auto c = parse_traceparent("01-12345678901234567890123456789012-1234567890123456-ff-x");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->flags, kSampledFlag);
  EXPECT_EQ(format_traceparent(*c), "00-12345678901234567890123456789012-1234567890123456-01");
}

TEST(TraceParent, FormatParseRoundTrip) {
  TraceContext c;
  for (std::size_t i = 0; i < c.trace_id.size(); ++i) c.trace_id[i] = static_cast<std::uint8_t>(0xf0 + i);
  c.span_id[7] = 1;
  c.flags = 0x03;
  const std::string text = format_traceparent(c);
  EXPECT_EQ(text, "00-f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff-0000000000000001-03");
  EXPECT_EQ(parse_traceparent(text), c);
}

// --- new ids --------------------------------------------------------------------------------

TEST(TraceIds, NewTraceIsValidAndRandom) {
  auto a = new_trace(true);
  auto b = new_trace(false);
  EXPECT_TRUE(a.sampled());
  EXPECT_FALSE(b.sampled());
  EXPECT_NE(a.trace_id, b.trace_id);
  EXPECT_EQ(parse_traceparent(format_traceparent(a)), a);
  EXPECT_EQ(parse_traceparent(format_traceparent(b)), b);
}

TEST(TraceIds, NewSpanKeepsTraceAndFlags) {
  auto parent = *parse_traceparent(kSpecSampled);
  auto child = new_span(parent);
  EXPECT_EQ(child.trace_id, parent.trace_id);
  EXPECT_EQ(child.flags, parent.flags);
  EXPECT_NE(child.span_id, parent.span_id);
}

TEST(TraceIds, NeverAllZeroEvenFromABrokenSource) {
  int calls = 0;
  RandomFill zeros = [&](std::span<std::uint8_t> out) {
    ++calls;
    std::fill(out.begin(), out.end(), 0);
  };
  auto c = new_trace(false, zeros);
  EXPECT_GT(calls, 2);  // retried before giving up on the source
  EXPECT_TRUE(parse_traceparent(format_traceparent(c)));
  auto s = new_span(c, zeros);
  EXPECT_TRUE(parse_traceparent(format_traceparent(s)));
}

TEST(TraceIds, AZeroDrawIsRetried) {
  int calls = 0;
  RandomFill first_zero = [&](std::span<std::uint8_t> out) {
    std::fill(out.begin(), out.end(), calls++ == 0 ? 0 : 0xab);
  };
  auto c = new_trace(false, first_zero);
  EXPECT_EQ(to_hex(c.trace_id), "abababababababababababababababab");
}

// --- tracestate ---------------------------------------------------------------------------

TraceState state(std::vector<TraceStateMember> members) { return TraceState{std::move(members)}; }

TEST(TraceState, SpecExamples) {
  EXPECT_EQ(parse_tracestate("congo=t61rcWkgMzE"), state({{"congo", "t61rcWkgMzE"}}));
  EXPECT_EQ(parse_tracestate("rojo=00f067aa0ba902b7"), state({{"rojo", "00f067aa0ba902b7"}}));
  auto two = parse_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(two, state({{"rojo", "00f067aa0ba902b7"}, {"congo", "t61rcWkgMzE"}}));
  EXPECT_EQ(format_tracestate(*two), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(parse_tracestate("vendorname1=opaqueValue1,vendorname2=opaqueValue2"),
            state({{"vendorname1", "opaqueValue1"}, {"vendorname2", "opaqueValue2"}}));
}

TEST(TraceState, EmptyAndWhitespaceMembersAreAllowed) {
  EXPECT_EQ(parse_tracestate(""), state({}));
  EXPECT_EQ(parse_tracestate(" \t , ,"), state({}));
  EXPECT_EQ(parse_tracestate("foo=1,"), state({{"foo", "1"}}));  // "foo=1" and "" combined
  EXPECT_EQ(parse_tracestate(",foo=1"), state({{"foo", "1"}}));
}

TEST(TraceState, OptionalWhitespaceAroundMembers) {
  const auto expected = state({{"foo", "1"}, {"bar", "2"}, {"baz", "3"}});
  EXPECT_EQ(parse_tracestate("foo=1 \t , \t bar=2, \t baz=3"), expected);
  EXPECT_EQ(parse_tracestate("foo=1\t \t,\t \tbar=2,\t \tbaz=3"), expected);
  for (const char* one : {" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"}) {
    EXPECT_EQ(parse_tracestate(one), state({{"foo", "1"}})) << "'" << one << "'";
  }
  // Leading spaces belong to the value.
  EXPECT_EQ(parse_tracestate("foo=  1"), state({{"foo", "  1"}}));
}

TEST(TraceState, AllAllowedCharacters) {
  const std::string key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
  const std::string vendor_key = key + "@a-z0-9_-*/";
  std::string value;
  for (char c = 0x20; c <= 0x7e; ++c) {
    if (c != ',' && c != '=') value += c;
  }
  EXPECT_EQ(parse_tracestate(key + "=" + value), state({{key, value}}));
  EXPECT_EQ(parse_tracestate(vendor_key + "=" + value), state({{vendor_key, value}}));
}

TEST(TraceState, InvalidValueDropsTheWholeHeader) {
  for (const char* bad : {"foo =1", "FOO=1", "foo.bar=1", "foo@=1,bar=2", "@foo=1,bar=2", "foo@@bar=1,bar=2",
                          "foo@bar@baz=1,bar=2", "foo=bar=baz", "foo=,bar=3", "foo", "foo=1,bar", "=1", "foo=1\tx",
                          "foo=\x7f", "1foo=1", "foo=1,foo=1", "foo=1,foo=2"}) {
    EXPECT_FALSE(parse_tracestate(bad)) << "accepted: '" << bad << "'";
  }
}

TEST(TraceState, MemberCountLimit) {
  std::string value;
  for (int i = 1; i <= 32; ++i) value += (i > 1 ? "," : "") + std::string("bar") + (i < 10 ? "0" : "") + std::to_string(i) + "=1";
  auto ok = parse_tracestate(value);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->members.size(), 32u);
  EXPECT_EQ(ok->members.front().key, "bar01");
  EXPECT_FALSE(parse_tracestate(value + ",bar33=33"));
  EXPECT_TRUE(parse_tracestate(value + ",,  ,"));  // empty members do not count
}

TEST(TraceState, KeyLengthLimits) {
  EXPECT_TRUE(parse_tracestate("foo=1," + std::string(256, 'z') + "=1"));
  EXPECT_FALSE(parse_tracestate("foo=1," + std::string(257, 'z') + "=1"));
  EXPECT_TRUE(parse_tracestate("foo=1," + std::string(241, 't') + "@" + std::string(14, 'v') + "=1"));
  EXPECT_FALSE(parse_tracestate("foo=1," + std::string(242, 't') + "@v=1"));
  EXPECT_FALSE(parse_tracestate("foo=1,t@" + std::string(15, 'v') + "=1"));
  EXPECT_TRUE(parse_tracestate("0tenant@vendor=1"));  // a tenant may start with a digit
  EXPECT_FALSE(parse_tracestate("tenant@0vendor=1"));  // a system id may not
}

TEST(TraceState, ValueLengthLimits) {
  EXPECT_TRUE(parse_tracestate("foo=" + std::string(256, 'v')));
  EXPECT_FALSE(parse_tracestate("foo=" + std::string(257, 'v')));
  EXPECT_TRUE(is_valid_tracestate_value(" x"));
  EXPECT_FALSE(is_valid_tracestate_value("x "));
  EXPECT_FALSE(is_valid_tracestate_value(""));
}

TEST(TraceState, TruncationRemovesLongMembersFirstThenFromTheRight) {
  TraceState s;
  s.members = {{"a", "1"}, {"long", std::string(200, 'x')}, {"b", "2"}, {"c", "3"}};
  TraceState t = s;
  truncate_tracestate(t, 512);
  EXPECT_EQ(t, s);  // fits: unchanged
  truncate_tracestate(t, 20);
  EXPECT_EQ(t, state({{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  truncate_tracestate(t, 7);
  EXPECT_EQ(format_tracestate(t), "a=1,b=2");
  truncate_tracestate(t, 2);
  EXPECT_EQ(t, state({}));
}

TEST(TraceState, TruncationKeepsAtMostTheLimit) {
  TraceState s;
  for (int i = 0; i < 32; ++i) s.members.push_back({"key" + std::to_string(i), std::string(20, 'v')});
  truncate_tracestate(s);
  EXPECT_LE(format_tracestate(s).size(), kTraceStatePropagateChars);
  EXPECT_EQ(s.members.front().key, "key0");  // removed from the right
  EXPECT_EQ(s.members.size(), 19u);          // 10 * 25 + 9 * 26 + 18 commas = 502
}

TEST(TraceState, PutMovesToTheLeftAndCapsAt32) {
  auto s = *parse_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_TRUE(put_tracestate(s, "congo", "ucfJifl5GOE"));
  EXPECT_EQ(format_tracestate(s), "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");  // the spec's third hop
  EXPECT_FALSE(put_tracestate(s, "Bad", "1"));
  EXPECT_FALSE(put_tracestate(s, "ok", "a,b"));
  EXPECT_EQ(s.members.size(), 2u);
  for (int i = 0; i < 40; ++i) EXPECT_TRUE(put_tracestate(s, "k" + std::to_string(i), "v"));
  EXPECT_EQ(s.members.size(), kMaxTraceStateMembers);
  EXPECT_EQ(s.members.front().key, "k39");
}

}  // namespace
}  // namespace ms::observe
