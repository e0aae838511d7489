#include "redis/redis_url.h"

#include "redis/errors.h"

#include <boost/url/parse.hpp>

#include <charconv>

namespace ms::redis {

namespace {
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "redis"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::not_connected: return "not connected to Redis";
      case errc::connection_lost: return "connection to Redis lost";
      case errc::timeout: return "Redis did not answer in time";
      case errc::protocol_error: return "Redis protocol error";
      case errc::shutting_down: return "Redis client stopped";
      case errc::bad_url: return "bad Redis URL";
    }
    return "redis error";
  }
};
}  // namespace

const boost::system::error_category& category() {
  static const Category c;
  return c;
}

Result<Endpoint> parse_redis_url(std::string_view url) {
  auto u = boost::urls::parse_uri(url);
  if (!u) return make_error_code(errc::bad_url);
  Endpoint ep;
  if (u->scheme() == "rediss") {
    ep.tls = true;
  } else if (u->scheme() != "redis") {
    return make_error_code(errc::bad_url);
  }
  if (!u->has_authority() || u->host().empty()) return make_error_code(errc::bad_url);
  ep.host = u->host_address();
  if (ep.host.size() > 2 && ep.host.front() == '[') ep.host = ep.host.substr(1, ep.host.size() - 2);
  if (u->has_port()) {
    auto p = u->port_number();
    if (p == 0) return make_error_code(errc::bad_url);
    ep.port = p;
  }
  if (u->has_userinfo()) {
    ep.username = u->user();
    if (u->has_password()) ep.password = u->password();
    if (!u->has_password()) {  // redis://secret@host means a password alone
      ep.password = ep.username;
      ep.username.clear();
    }
  }
  std::string path = u->path();
  if (!path.empty() && path != "/") {
    auto digits = std::string_view(path).substr(1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ep.db);
    if (ec != std::errc() || end != digits.data() + digits.size() || ep.db < 0) return make_error_code(errc::bad_url);
  }
  return ep;
}

}  // namespace ms::redis
