// SSRF guard for outgoing webhook connections: decides whether the service may
// connect to an IP address. By default everything that is not a public unicast
// address is refused (loopback, private, link-local, cloud metadata, multicast,
// unspecified, reserved ranges); an allow list of CIDRs overrides the refusals
// (tests and local development allow 127.0.0.0/8).
//
// The check is applied twice, for different threats:
//   - at subscription creation/PATCH, to a URL host that is an IP literal
//     (check_literal_host), so an obviously bad endpoint gets a 400 at once;
//   - at connect time, to every address the host name actually resolved to
//     (WebhookClient), so DNS rebinding or odd literal forms that the resolver
//     accepts ("127.1", "2130706433") cannot get around it.
//
// IPv4-mapped IPv6 (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
// addresses are judged by the IPv4 address they carry.
//
// Immutable after construction, so one instance may be shared by every shard.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ms::http {

struct Cidr {
  boost::asio::ip::address network;  // host bits cleared
  unsigned prefix_length = 0;        // 0..32 for IPv4, 0..128 for IPv6

  // An IPv4 CIDR matches only IPv4 addresses and an IPv6 CIDR only IPv6 ones.
  bool contains(const boost::asio::ip::address& address) const;
  std::string to_string() const;  // "10.0.0.0/8"
};

class SsrfGuard {
 public:
  // allow_cidrs: "127.0.0.0/8", "::1/128", or a bare address (= /32 or /128).
  // Throws std::invalid_argument naming the first entry that is not a CIDR
  // (validate user input with parse_cidr first for a friendlier error).
  explicit SsrfGuard(std::vector<std::string> allow_cidrs = {});

  // Empty when a connection to `address` is allowed, else why not: "loopback",
  // "private", "link-local", "unspecified", "multicast", "broadcast",
  // "metadata" or "reserved".
  std::string check(const boost::asio::ip::address& address) const;
  bool allowed(const boost::asio::ip::address& address) const { return check(address).empty(); }

  // For creation-time validation of a URL's host (as Boost.URL gives it; IPv6
  // with or without brackets). Empty when the host is not an IP literal (it is
  // checked after resolution, at connect time) or the literal is allowed; else
  // the reason, as check() gives it.
  static std::string check_literal_host(std::string_view host, const SsrfGuard& guard);

  // "address 10.0.0.1 is not allowed (private)": the text used in errors.
  static std::string refusal_message(const boost::asio::ip::address& address, std::string_view reason);

  // "a.b.c.d/n", "x:y::z/n" or a bare address; nullopt when malformed or the
  // prefix is too long. Host bits are cleared ("10.1.2.3/8" → 10.0.0.0/8).
  static std::optional<Cidr> parse_cidr(std::string_view text);

  const std::vector<Cidr>& allow_list() const { return allow_; }

 private:
  bool in_allow_list(const boost::asio::ip::address& address) const;
  std::string check_v4(const boost::asio::ip::address_v4& address) const;

  std::vector<Cidr> allow_;
};

}  // namespace ms::http
