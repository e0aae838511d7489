#include "messaging/ulid.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace ms::messaging {
namespace {

constexpr std::int64_t kSomeMs = 1733076000123;  // 2024-12-01T18:00:00.123Z

TEST(Ulid, FormatIsCanonicalCrockford) {
  UlidGenerator gen;
  std::string id = gen.next(kSomeMs);
  ASSERT_EQ(id.size(), 26u);
  EXPECT_TRUE(is_ulid(id)) << id;
  EXPECT_EQ(id.find_first_of("ILOUilou"), std::string::npos);
  EXPECT_TRUE(is_ulid(new_ulid()));
}

TEST(Ulid, EncodesTimestampInFirstTenChars) {
  UlidGenerator gen;
  EXPECT_EQ(gen.next(0).substr(0, 10), "0000000000");
  UlidGenerator gen2;
  EXPECT_EQ(gen2.next((std::int64_t{1} << 48) - 1).substr(0, 10), "7ZZZZZZZZZ");
  // 1469918176385 is the example from the ULID spec: 01ARYZ6S41.
  UlidGenerator gen3;
  EXPECT_EQ(gen3.next(1469918176385).substr(0, 10), "01ARYZ6S41");
}

TEST(Ulid, ClampsOutOfRangeTimes) {
  UlidGenerator gen;
  EXPECT_EQ(gen.next(-5).substr(0, 10), "0000000000");
  UlidGenerator gen2;
  EXPECT_EQ(gen2.next(std::int64_t{1} << 50).substr(0, 10), "7ZZZZZZZZZ");
}

TEST(Ulid, MonotonicAndUniqueWithinSameMillisecond) {
  UlidGenerator gen;
  std::unordered_set<std::string> seen;
  std::string prev;
  for (int i = 0; i < 100000; ++i) {
    std::string id = gen.next(kSomeMs);
    ASSERT_TRUE(is_ulid(id)) << id;
    ASSERT_GT(id, prev);
    ASSERT_TRUE(seen.insert(id).second) << "duplicate " << id;
    prev = std::move(id);
  }
}

TEST(Ulid, IncrementsRandomPartByOneInSameMillisecond) {
  UlidGenerator gen;
  std::string a = gen.next(kSomeMs);
  std::string b = gen.next(kSomeMs);
  EXPECT_EQ(a.substr(0, 10), b.substr(0, 10));
  // Unless the last character was 'Z' (carry), only the last character changes by one.
  if (a.back() != 'Z') {
    EXPECT_EQ(a.substr(0, 25), b.substr(0, 25));
    constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    EXPECT_EQ(kAlphabet.find(b.back()), kAlphabet.find(a.back()) + 1);
  }
}

TEST(Ulid, TimeOrdered) {
  UlidGenerator gen;
  std::string prev;
  for (std::int64_t ms = kSomeMs; ms < kSomeMs + 2000; ms += 7) {
    std::string id = gen.next(ms);
    ASSERT_GT(id, prev);
    prev = id;
  }
  // Ids from independent generators still sort by time.
  UlidGenerator g1, g2;
  EXPECT_LT(g1.next(kSomeMs), g2.next(kSomeMs + 1));
}

TEST(Ulid, ClockGoingBackwardsStaysMonotonic) {
  UlidGenerator gen;
  std::string a = gen.next(kSomeMs);
  std::string b = gen.next(kSomeMs - 1000);
  EXPECT_GT(b, a);
  EXPECT_EQ(a.substr(0, 10), b.substr(0, 10));
}

TEST(Ulid, NewUlidIsUniqueAndOrdered) {
  std::string prev;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_ulid();
    ASSERT_GT(id, prev);
    prev = id;
  }
}

TEST(Ulid, IsUlidRejectsBadText) {
  EXPECT_FALSE(is_ulid(""));
  EXPECT_FALSE(is_ulid("01ARYZ6S41TSV4RRFFQ69G5FA"));    // 25
  EXPECT_FALSE(is_ulid("01ARYZ6S41TSV4RRFFQ69G5FAVV"));  // 27
  EXPECT_TRUE(is_ulid("01ARYZ6S41TSV4RRFFQ69G5FAV"));
  EXPECT_FALSE(is_ulid("01ARYZ6S41TSV4RRFFQ69G5FAI"));   // I is not Crockford
  EXPECT_FALSE(is_ulid("01ARYZ6S41TSV4RRFFQ69G5FAU"));
  EXPECT_FALSE(is_ulid("01aryz6s41tsv4rrffq69g5fav"));   // not canonical
  EXPECT_FALSE(is_ulid("81ARYZ6S41TSV4RRFFQ69G5FAV"));   // > 128 bits
  EXPECT_FALSE(is_ulid("01ARYZ6S41TSV4RRFFQ69G5FA-"));
}

}  // namespace
}  // namespace ms::messaging
