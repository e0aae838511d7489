#include "http/ssrf_guard.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace ms::http {
namespace {

namespace ip = boost::asio::ip;

std::string check(const SsrfGuard& guard, const char* address) { return guard.check(ip::make_address(address)); }

TEST(SsrfGuard, RefusesNonPublicIPv4ByDefault) {
  SsrfGuard g;
  EXPECT_EQ(check(g, "127.0.0.1"), "loopback");
  EXPECT_EQ(check(g, "127.255.255.254"), "loopback");
  EXPECT_EQ(check(g, "0.0.0.0"), "unspecified");
  EXPECT_EQ(check(g, "0.1.2.3"), "unspecified");
  EXPECT_EQ(check(g, "10.0.0.1"), "private");
  EXPECT_EQ(check(g, "172.16.0.1"), "private");
  EXPECT_EQ(check(g, "172.31.255.255"), "private");
  EXPECT_EQ(check(g, "192.168.1.1"), "private");
  EXPECT_EQ(check(g, "100.64.0.1"), "private");
  EXPECT_EQ(check(g, "100.127.255.255"), "private");
  EXPECT_EQ(check(g, "169.254.1.1"), "link-local");
  EXPECT_EQ(check(g, "169.254.169.254"), "metadata");
  EXPECT_EQ(check(g, "224.0.0.1"), "multicast");
  EXPECT_EQ(check(g, "239.255.255.250"), "multicast");
  EXPECT_EQ(check(g, "255.255.255.255"), "broadcast");
  EXPECT_EQ(check(g, "240.0.0.1"), "reserved");
  EXPECT_EQ(check(g, "192.0.2.10"), "reserved");
}

TEST(SsrfGuard, AllowsPublicIPv4AndRangeEdges) {
  SsrfGuard g;
  EXPECT_EQ(check(g, "8.8.8.8"), "");
  EXPECT_EQ(check(g, "1.1.1.1"), "");
  EXPECT_EQ(check(g, "172.15.255.255"), "");  // just below 172.16/12
  EXPECT_EQ(check(g, "172.32.0.0"), "");      // just above
  EXPECT_EQ(check(g, "100.63.255.255"), "");  // just below 100.64/10
  EXPECT_EQ(check(g, "100.128.0.0"), "");
  EXPECT_EQ(check(g, "11.0.0.0"), "");
  EXPECT_EQ(check(g, "126.255.255.255"), "");
  EXPECT_EQ(check(g, "128.0.0.0"), "");
  EXPECT_EQ(check(g, "223.255.255.255"), "");
  EXPECT_EQ(check(g, "169.253.255.255"), "");
  EXPECT_EQ(check(g, "192.167.255.255"), "");
}

TEST(SsrfGuard, RefusesNonPublicIPv6ByDefault) {
  SsrfGuard g;
  EXPECT_EQ(check(g, "::1"), "loopback");
  EXPECT_EQ(check(g, "::"), "unspecified");
  EXPECT_EQ(check(g, "fe80::1"), "link-local");
  EXPECT_EQ(check(g, "febf:ffff::1"), "link-local");
  EXPECT_EQ(check(g, "fc00::1"), "private");
  EXPECT_EQ(check(g, "fd12:3456::1"), "private");
  EXPECT_EQ(check(g, "fd00:ec2::254"), "metadata");
  EXPECT_EQ(check(g, "ff02::1"), "multicast");
  EXPECT_EQ(check(g, "2001:db8::1"), "reserved");
  EXPECT_EQ(check(g, "2001:4860:4860::8888"), "");
  EXPECT_EQ(check(g, "2606:4700::1111"), "");
}

TEST(SsrfGuard, ScopedLinkLocalIsStillLinkLocal) {
  SsrfGuard g;
  ip::address_v6 v6 = ip::make_address_v6("fe80::1");
  v6.scope_id(2);
  EXPECT_EQ(g.check(ip::address(v6)), "link-local");
}

TEST(SsrfGuard, IPv4MappedAndEmbeddedAddressesAreJudgedAsIPv4) {
  SsrfGuard g;
  EXPECT_EQ(check(g, "::ffff:127.0.0.1"), "loopback");
  EXPECT_EQ(check(g, "::ffff:10.1.2.3"), "private");
  EXPECT_EQ(check(g, "::ffff:169.254.169.254"), "metadata");
  EXPECT_EQ(check(g, "::ffff:8.8.8.8"), "");
  EXPECT_EQ(check(g, "64:ff9b::7f00:1"), "loopback");     // NAT64 of 127.0.0.1
  EXPECT_EQ(check(g, "64:ff9b::808:808"), "");            // NAT64 of 8.8.8.8
  EXPECT_EQ(check(g, "2002:a00:1::1"), "private");        // 6to4 of 10.0.0.1
  EXPECT_EQ(check(g, "2002:808:808::1"), "");             // 6to4 of 8.8.8.8
  EXPECT_EQ(check(g, "::127.0.0.1"), "reserved");         // deprecated IPv4-compatible
}

TEST(SsrfGuard, AllowListOverrides) {
  SsrfGuard g({"127.0.0.0/8", "10.1.0.0/16", "::1/128"});
  EXPECT_EQ(check(g, "127.0.0.1"), "");
  EXPECT_EQ(check(g, "127.9.9.9"), "");
  EXPECT_EQ(check(g, "::ffff:127.0.0.1"), "");  // mapped form follows the IPv4 allow entry
  EXPECT_EQ(check(g, "10.1.200.3"), "");
  EXPECT_EQ(check(g, "10.2.0.1"), "private");
  EXPECT_EQ(check(g, "::1"), "");
  EXPECT_EQ(check(g, "169.254.169.254"), "metadata");
  EXPECT_EQ(check(g, "192.168.0.1"), "private");
}

TEST(SsrfGuard, AllowListOfBareAddressIsExact) {
  SsrfGuard g({"192.168.1.10"});
  EXPECT_EQ(check(g, "192.168.1.10"), "");
  EXPECT_EQ(check(g, "192.168.1.11"), "private");
}

TEST(SsrfGuard, IPv4AllowEntryDoesNotMatchIPv6) {
  SsrfGuard g({"0.0.0.0/0"});
  EXPECT_EQ(check(g, "10.0.0.1"), "");
  EXPECT_EQ(check(g, "::1"), "loopback");
}

TEST(SsrfGuard, BadAllowEntryThrows) {
  EXPECT_THROW(SsrfGuard({"127.0.0.0/33"}), std::invalid_argument);
  EXPECT_THROW(SsrfGuard({"localhost"}), std::invalid_argument);
}

TEST(SsrfGuard, ParseCidr) {
  auto c = SsrfGuard::parse_cidr("10.1.2.3/8");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->to_string(), "10.0.0.0/8");
  EXPECT_TRUE(c->contains(ip::make_address("10.200.0.1")));
  EXPECT_FALSE(c->contains(ip::make_address("11.0.0.1")));

  auto v6 = SsrfGuard::parse_cidr("fd00:ec2::254/112");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->to_string(), "fd00:ec2::/112");

  auto all = SsrfGuard::parse_cidr("0.0.0.0/0");
  ASSERT_TRUE(all.has_value());
  EXPECT_TRUE(all->contains(ip::make_address("203.0.113.5")));

  auto bare = SsrfGuard::parse_cidr("::1");
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->prefix_length, 128u);

  auto odd = SsrfGuard::parse_cidr("172.16.0.0/12");
  ASSERT_TRUE(odd.has_value());
  EXPECT_TRUE(odd->contains(ip::make_address("172.31.1.1")));
  EXPECT_FALSE(odd->contains(ip::make_address("172.32.0.0")));

  EXPECT_FALSE(SsrfGuard::parse_cidr(""));
  EXPECT_FALSE(SsrfGuard::parse_cidr("10.0.0.0/"));
  EXPECT_FALSE(SsrfGuard::parse_cidr("10.0.0.0/33"));
  EXPECT_FALSE(SsrfGuard::parse_cidr("::/129"));
  EXPECT_FALSE(SsrfGuard::parse_cidr("10.0.0.0/8x"));
  EXPECT_FALSE(SsrfGuard::parse_cidr("10.0.0.0/-1"));
  EXPECT_FALSE(SsrfGuard::parse_cidr("10.0.0/8"));
  EXPECT_FALSE(SsrfGuard::parse_cidr("example.com/8"));
  EXPECT_FALSE(SsrfGuard::parse_cidr("fe80::1%1/64"));
}

TEST(SsrfGuard, CheckLiteralHost) {
  SsrfGuard g;
  EXPECT_EQ(SsrfGuard::check_literal_host("127.0.0.1", g), "loopback");
  EXPECT_EQ(SsrfGuard::check_literal_host("[::1]", g), "loopback");
  EXPECT_EQ(SsrfGuard::check_literal_host("::1", g), "loopback");
  EXPECT_EQ(SsrfGuard::check_literal_host("[::ffff:10.0.0.1]", g), "private");
  EXPECT_EQ(SsrfGuard::check_literal_host("169.254.169.254", g), "metadata");
  EXPECT_EQ(SsrfGuard::check_literal_host("8.8.8.8", g), "");
  // Names are left to the connect-time check.
  EXPECT_EQ(SsrfGuard::check_literal_host("localhost", g), "");
  EXPECT_EQ(SsrfGuard::check_literal_host("billing.internal", g), "");
  SsrfGuard allow({"127.0.0.0/8"});
  EXPECT_EQ(SsrfGuard::check_literal_host("127.0.0.1", allow), "");
}

TEST(SsrfGuard, RefusalMessage) {
  EXPECT_EQ(SsrfGuard::refusal_message(ip::make_address("10.0.0.1"), "private"),
            "address 10.0.0.1 is not allowed (private)");
}

}  // namespace
}  // namespace ms::http
