#include "http/ssrf_guard.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

namespace ms::http {

namespace ip = boost::asio::ip;

namespace {

// A forbidden range, written as text once and parsed at first use.
struct Range {
  const char* cidr;
  const char* reason;
};

// Order matters: the first match wins, so the specific ranges (metadata)
// come before the ones that contain them (link-local, private).
constexpr std::array kV4Ranges{
    Range{"169.254.169.254/32", "metadata"},  // AWS, GCP, Azure, OpenStack, Oracle
    Range{"0.0.0.0/8", "unspecified"},
    Range{"127.0.0.0/8", "loopback"},
    Range{"10.0.0.0/8", "private"},
    Range{"172.16.0.0/12", "private"},
    Range{"192.168.0.0/16", "private"},
    Range{"100.64.0.0/10", "private"},  // carrier-grade NAT
    Range{"169.254.0.0/16", "link-local"},
    Range{"224.0.0.0/4", "multicast"},
    Range{"255.255.255.255/32", "broadcast"},
    Range{"240.0.0.0/4", "reserved"},
    Range{"192.0.0.0/24", "reserved"},     // IETF protocol assignments
    Range{"192.0.2.0/24", "reserved"},     // documentation
    Range{"198.51.100.0/24", "reserved"},  // documentation
    Range{"203.0.113.0/24", "reserved"},   // documentation
    Range{"198.18.0.0/15", "reserved"},    // benchmarking
};

constexpr std::array kV6Ranges{
    Range{"fd00:ec2::254/128", "metadata"},  // AWS IPv6 metadata
    Range{"::/128", "unspecified"},
    Range{"::1/128", "loopback"},
    Range{"::/96", "reserved"},  // deprecated IPv4-compatible addresses
    Range{"fe80::/10", "link-local"},
    Range{"fec0::/10", "private"},  // deprecated site-local
    Range{"fc00::/7", "private"},   // unique local
    Range{"ff00::/8", "multicast"},
    Range{"100::/64", "reserved"},       // discard-only
    Range{"2001:db8::/32", "reserved"},  // documentation
};

struct ParsedRange {
  Cidr cidr;
  const char* reason;
};

template <std::size_t N>
std::vector<ParsedRange> parse_table(const std::array<Range, N>& table) {
  std::vector<ParsedRange> out;
  out.reserve(N);
  for (const Range& r : table) {
    auto cidr = SsrfGuard::parse_cidr(r.cidr);
    if (!cidr) throw std::logic_error(std::string("bad built-in CIDR ") + r.cidr);  // a bug, caught by the unit tests
    out.push_back(ParsedRange{*cidr, r.reason});
  }
  return out;
}

const std::vector<ParsedRange>& v4_ranges() {
  static const std::vector<ParsedRange> ranges = parse_table(kV4Ranges);
  return ranges;
}

const std::vector<ParsedRange>& v6_ranges() {
  static const std::vector<ParsedRange> ranges = parse_table(kV6Ranges);
  return ranges;
}

// True when the first `bits` bits of a and b are equal.
template <std::size_t N>
bool prefix_equal(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b, unsigned bits) {
  bits = std::min<unsigned>(bits, static_cast<unsigned>(N * 8));
  std::size_t i = 0;
  for (; bits >= 8 && i < N; bits -= 8, ++i) {
    if (a[i] != b[i]) return false;
  }
  if (bits == 0 || i >= N) return true;
  const auto mask = static_cast<unsigned char>(0xFFu << (8 - bits));
  return (a[i] & mask) == (b[i] & mask);
}

template <std::size_t N>
void clear_host_bits(std::array<unsigned char, N>& bytes, unsigned prefix) {
  for (std::size_t i = 0; i < N; ++i) {
    const unsigned first_bit = static_cast<unsigned>(i) * 8;
    if (first_bit >= prefix) {
      bytes[i] = 0;
    } else if (prefix - first_bit < 8) {
      bytes[i] &= static_cast<unsigned char>(0xFFu << (8 - (prefix - first_bit)));
    }
  }
}

// The IPv4 address an IPv6 address stands for, if it is one of the forms that
// reach an IPv4 host: IPv4-mapped, NAT64 well-known prefix, 6to4.
std::optional<ip::address_v4> embedded_v4(const ip::address_v6& v6) {
  const auto b = v6.to_bytes();
  if (v6.is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, v6);
  static const auto nat64 = ip::make_address_v6("64:ff9b::");
  if (prefix_equal(b, nat64.to_bytes(), 96)) return ip::address_v4(ip::address_v4::bytes_type{b[12], b[13], b[14], b[15]});
  if (b[0] == 0x20 && b[1] == 0x02) return ip::address_v4(ip::address_v4::bytes_type{b[2], b[3], b[4], b[5]});
  return std::nullopt;
}

}  // namespace

// ---- Cidr ----------------------------------------------------------------------

bool Cidr::contains(const ip::address& address) const {
  if (network.is_v4() && address.is_v4()) {
    const auto net = network.to_v4().to_bytes();
    const auto addr = address.to_v4().to_bytes();
    return prefix_equal(net, addr, prefix_length);
  }
  if (network.is_v6() && address.is_v6()) {
    const auto net = network.to_v6().to_bytes();
    const auto addr = address.to_v6().to_bytes();
    return prefix_equal(net, addr, prefix_length);
  }
  return false;
}

std::string Cidr::to_string() const { return network.to_string() + "/" + std::to_string(prefix_length); }

// ---- SsrfGuard -------------------------------------------------------------------

SsrfGuard::SsrfGuard(std::vector<std::string> allow_cidrs) {
  allow_.reserve(allow_cidrs.size());
  for (const std::string& text : allow_cidrs) {
    auto cidr = parse_cidr(text);
    if (!cidr) throw std::invalid_argument("not a CIDR: \"" + text + "\" (expected e.g. 127.0.0.0/8 or ::1/128)");
    allow_.push_back(*cidr);
  }
}

std::optional<Cidr> SsrfGuard::parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  const std::string addr_text(text.substr(0, slash));
  boost::system::error_code ec;
  ip::address addr = ip::make_address(addr_text, ec);
  if (ec) return std::nullopt;
  if (addr.is_v6() && addr.to_v6().scope_id() != 0) return std::nullopt;  // "fe80::1%eth0/64" is not a network
  const unsigned max_prefix = addr.is_v4() ? 32 : 128;
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (err != std::errc() || end != digits.data() + digits.size() || prefix > max_prefix) return std::nullopt;
  }
  if (addr.is_v4()) {
    auto bytes = addr.to_v4().to_bytes();
    clear_host_bits(bytes, prefix);
    addr = ip::address_v4(bytes);
  } else {
    auto bytes = addr.to_v6().to_bytes();
    clear_host_bits(bytes, prefix);
    addr = ip::address_v6(bytes);
  }
  return Cidr{addr, prefix};
}

bool SsrfGuard::in_allow_list(const ip::address& address) const {
  for (const Cidr& c : allow_) {
    if (c.contains(address)) return true;
  }
  return false;
}

std::string SsrfGuard::check_v4(const ip::address_v4& v4) const {
  const ip::address address(v4);
  if (in_allow_list(address)) return {};
  for (const ParsedRange& r : v4_ranges()) {
    if (r.cidr.contains(address)) return r.reason;
  }
  return {};
}

std::string SsrfGuard::check(const ip::address& address) const {
  if (address.is_v4()) return check_v4(address.to_v4());
  const ip::address_v6 v6 = address.to_v6();
  if (in_allow_list(address)) return {};  // an explicit IPv6 allow entry wins over what it embeds
  if (auto v4 = embedded_v4(v6)) return check_v4(*v4);
  // Compare without the scope id ("fe80::1%eth0" is still link-local).
  const ip::address unscoped(ip::address_v6(v6.to_bytes()));
  for (const ParsedRange& r : v6_ranges()) {
    if (r.cidr.contains(unscoped)) return r.reason;
  }
  return {};
}

std::string SsrfGuard::check_literal_host(std::string_view host, const SsrfGuard& guard) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const ip::address address = ip::make_address(std::string(host), ec);
  if (ec) return {};  // a name (or a form only the resolver understands): checked at connect time
  return guard.check(address);
}

std::string SsrfGuard::refusal_message(const ip::address& address, std::string_view reason) {
  std::string out = "address ";
  out += address.to_string();
  out += " is not allowed (";
  out += reason;
  out += ")";
  return out;
}

}  // namespace ms::http
