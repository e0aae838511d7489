#include "http/router.h"

namespace ms::http {
namespace {

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  if (!path.empty() && path[0] == '/') i = 1;
  while (i <= path.size()) {
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    auto eq = part.find('=');
    auto k = percent_decode(part.substr(0, eq), true);
    if (k && *k == name) {
      if (eq == std::string_view::npos) return std::string{};
      return percent_decode(part.substr(eq + 1), true);
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string_view RouteRequest::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

void Router::add(std::string method, std::string pattern, Handler handler) {
  std::vector<std::string> segs;
  for (auto s : split(pattern)) segs.emplace_back(s);
  segments_.push_back(std::move(segs));
  routes_.push_back(Route{std::move(method), std::move(pattern), std::move(handler)});
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match result;
  result.status = 404;
  auto parts = split(path);
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    const auto& segs = segments_[r];
    if (segs.size() != parts.size()) continue;
    PathParams params;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      const auto& s = segs[i];
      if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
        auto decoded = percent_decode(parts[i], false);
        if (!decoded || decoded->empty()) {
          ok = false;
        } else {
          params.emplace_back(s.substr(1, s.size() - 2), std::move(*decoded));
        }
      } else if (s != parts[i]) {
        ok = false;
      }
    }
    if (!ok) continue;
    if (routes_[r].method == method || (method == "HEAD" && routes_[r].method == "GET")) {
      result.handler = &routes_[r].handler;
      result.params = std::move(params);
      result.status = 0;
      result.allow.clear();
      return result;
    }
    result.status = 405;
    if (result.allow.find(routes_[r].method) == std::string::npos) {
      if (!result.allow.empty()) result.allow += ", ";
      result.allow += routes_[r].method;
    }
  }
  return result;
}

}  // namespace ms::http
