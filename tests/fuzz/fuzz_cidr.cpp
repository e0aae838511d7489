// Fuzzes the webhook address rules an operator and a subscriber control:
// --endpoint-allow lists through config::parse (flag and MESSAGING_ENDPOINT_ALLOW),
// http::SsrfGuard construction and parse_cidr, then address checks of raw and
// literal addresses (check, check_literal_host). Input: the allow list text, '\n',
// then address material (text for check_literal_host; bytes for raw addresses).
// Properties:
// - what config::parse accepts, SsrfGuard accepts (main.cpp builds it from the config);
// - a parsed CIDR prints and parses back to itself, contains its network address,
//   and that address is allowed by a guard holding it;
// - check() gives one of the documented reasons; an IPv4 address and its IPv4-mapped
//   IPv6 form get the same verdict unless an IPv6 allow entry covers the mapped form.
#include "config/config.h"
#include "http/ssrf_guard.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace ms;
namespace ip = boost::asio::ip;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

bool known_reason(const std::string& r) {
  for (const char* k : {"", "loopback", "private", "link-local", "unspecified", "multicast", "broadcast", "metadata",
                        "reserved"}) {
    if (r == k) return true;
  }
  return false;
}

void check_cidr(const http::Cidr& c) {
  check(c.prefix_length <= (c.network.is_v4() ? 32u : 128u), "prefix within the family");
  check(c.contains(c.network), "a CIDR contains its network address");
  auto again = http::SsrfGuard::parse_cidr(c.to_string());
  check(again && again->network == c.network && again->prefix_length == c.prefix_length, "CIDR text round trip");
  http::SsrfGuard guard({c.to_string()});
  check(guard.allowed(c.network), "an allowed CIDR's network is allowed");
}

void check_address(const http::SsrfGuard& guard, const ip::address& a) {
  const std::string reason = guard.check(a);
  check(known_reason(reason), "check() gives a documented reason");
  if (!reason.empty()) check(!http::SsrfGuard::refusal_message(a, reason).empty(), "refusal message");
  if (a.is_v4()) {
    const ip::address mapped(ip::make_address_v6(ip::v4_mapped, a.to_v4()));
    bool v6_entry_covers = false;
    for (const auto& c : guard.allow_list()) v6_entry_covers = v6_entry_covers || c.contains(mapped);
    if (!v6_entry_covers) check(guard.check(mapped) == reason, "IPv4-mapped IPv6 judged as its IPv4 address");
  }
}

std::optional<config::Config> parse_config(const std::vector<std::string>& args, const char* env_value) {
  std::vector<const char*> argv{"messaging_service", "--instance-id", "fuzz"};  // skips host name + random id
  for (const auto& a : args) argv.push_back(a.c_str());
  auto out = config::parse(static_cast<int>(argv.size()), argv.data(), [env_value](const char* name) -> const char* {
    return std::strcmp(name, "MESSAGING_ENDPOINT_ALLOW") == 0 ? env_value : nullptr;
  });
  check(out.config.has_value() || out.exit_code == 2, "a refused config exits 2");
  return out.config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  const std::string list(input.substr(0, nl));
  const std::string_view material = nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);

  // The list as the variable and as one flag value: both are comma-separated lists.
  auto from_env = parse_config({}, list.c_str());
  auto from_flag = parse_config({"--endpoint-allow=" + list}, nullptr);  // "=": a list may start with "-"
  check(from_env.has_value() == from_flag.has_value(), "flag and variable accept the same lists");
  if (from_env) check(from_env->endpoint_allow == from_flag->endpoint_allow, "flag and variable give the same list");

  http::SsrfGuard configured;
  if (from_env) {
    try {
      configured = http::SsrfGuard(from_env->endpoint_allow);
    } catch (const std::invalid_argument&) {
      check(false, "SsrfGuard accepts every list config::parse accepts");
    }
    check(configured.allow_list().size() == from_env->endpoint_allow.size(), "one CIDR per entry");
    for (const auto& c : configured.allow_list()) check_cidr(c);
  }

  // Each comma-separated piece straight into parse_cidr and the constructor.
  std::string_view rest = list;
  for (int n = 0; n < 8; ++n) {
    const auto comma = rest.find(',');
    const std::string piece(rest.substr(0, comma));
    auto cidr = http::SsrfGuard::parse_cidr(piece);
    bool constructed = true;
    try {
      http::SsrfGuard one({piece});
    } catch (const std::invalid_argument&) {
      constructed = false;
    }
    check(constructed == cidr.has_value(), "the constructor accepts what parse_cidr accepts");
    if (cidr) check_cidr(*cidr);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }

  // Addresses: the material as a literal host, then its bytes as raw IPv4 and IPv6 addresses.
  const http::SsrfGuard plain;
  const std::string host(material.substr(0, std::min<std::size_t>(material.size(), 64)));
  check(known_reason(http::SsrfGuard::check_literal_host(host, configured)), "check_literal_host reason");
  check(known_reason(http::SsrfGuard::check_literal_host(host, plain)), "check_literal_host reason (no allow list)");
  for (std::size_t pos = 0; pos + 4 <= material.size() && pos < 64; pos += 4) {
    ip::address_v4::bytes_type b4;
    std::memcpy(b4.data(), material.data() + pos, 4);
    check_address(configured, ip::address(ip::address_v4(b4)));
    check_address(plain, ip::address(ip::address_v4(b4)));
    if (pos + 16 <= material.size()) {
      ip::address_v6::bytes_type b6;
      std::memcpy(b6.data(), material.data() + pos, 16);
      check_address(configured, ip::address(ip::address_v6(b6)));
      check_address(plain, ip::address(ip::address_v6(b6)));
    }
  }
  return 0;
}
