#include "auth/key_ring.h"

#include <gtest/gtest.h>

namespace ms::auth {
namespace {

using Entries = std::vector<KeyRing::Entry>;

KeyRing ring() { return KeyRing(Entries{{"pub-key", {"publish"}}, {"sub-key", {"subscribe"}}, {"root", {"admin", "publish"}}}); }

TEST(KeyRing, KnownKeyYieldsItsScopesAndAStableId) {
  auto r = ring();
  auto out = r.authenticate("Bearer sub-key");
  ASSERT_NE(out.principal, nullptr);
  EXPECT_EQ(out.principal->scopes, kSubscribe);
  EXPECT_EQ(out.principal->index, 1u);
  EXPECT_EQ(out.principal->id.size(), 4u + 16u);
  EXPECT_EQ(out.principal->id.rfind("key_", 0), 0u);
  EXPECT_EQ(ring().authenticate("Bearer sub-key").principal->id, out.principal->id);
  EXPECT_NE(r.authenticate("Bearer pub-key").principal->id, out.principal->id);
  EXPECT_EQ(r.authenticate("Bearer root").principal->scopes, kAdmin | kPublish);
}

TEST(KeyRing, TheIdDoesNotContainTheKey) {
  auto r = KeyRing(Entries{{"abcdef0123456789", {"admin"}}});
  auto out = r.authenticate("Bearer abcdef0123456789");
  ASSERT_NE(out.principal, nullptr);
  EXPECT_EQ(out.principal->id.find("abcdef0123456789"), std::string::npos);
}

TEST(KeyRing, MissingMalformedAndUnknownAreTold) {
  auto r = ring();
  EXPECT_EQ(r.authenticate(std::nullopt).failure, AuthFailure::missing);
  EXPECT_EQ(r.authenticate("").failure, AuthFailure::malformed);
  EXPECT_EQ(r.authenticate("Basic cHViLWtleQ==").failure, AuthFailure::malformed);
  EXPECT_EQ(r.authenticate("Bearer").failure, AuthFailure::malformed);
  EXPECT_EQ(r.authenticate("Bearer ").failure, AuthFailure::malformed);
  EXPECT_EQ(r.authenticate("Bearerpub-key").failure, AuthFailure::malformed);
  EXPECT_EQ(r.authenticate("Bearer pub-ke").failure, AuthFailure::unknown);
  EXPECT_EQ(r.authenticate("Bearer pub-key2").failure, AuthFailure::unknown);
  EXPECT_EQ(r.authenticate("Bearer PUB-KEY").failure, AuthFailure::unknown);
  EXPECT_EQ(r.authenticate("Bearer pub-key").principal->index, 0u);
}

TEST(KeyRing, SchemeIsCaseInsensitiveAndSpacesAroundTheTokenAreIgnored) {
  auto r = ring();
  EXPECT_NE(r.authenticate("bearer pub-key").principal, nullptr);
  EXPECT_NE(r.authenticate("BEARER  pub-key ").principal, nullptr);
}

TEST(KeyRing, EmptyRingKnowsNoKey) {
  KeyRing r(Entries{});
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.authenticate("Bearer x").failure, AuthFailure::unknown);
}

TEST(KeyRing, ScopeNames) {
  EXPECT_EQ(scope_from_name("publish"), kPublish);
  EXPECT_EQ(scope_from_name("subscribe"), kSubscribe);
  EXPECT_EQ(scope_from_name("admin"), kAdmin);
  EXPECT_EQ(scope_from_name("Admin"), 0);
}

TEST(KeyRing, Sha256MatchesAKnownVector) {
  // SHA-256("abc") = ba7816bf...
  auto d = sha256("abc");
  EXPECT_EQ(d[0], 0xba);
  EXPECT_EQ(d[1], 0x78);
  EXPECT_EQ(d[31], 0xad);
  EXPECT_TRUE(digests_equal(d, sha256("abc")));
  EXPECT_FALSE(digests_equal(d, sha256("abd")));
}

}  // namespace
}  // namespace ms::auth
