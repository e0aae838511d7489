#include "messaging/envelope.h"

#include "base/clock.h"
#include "messaging/json_text.h"

#include <boost/json/parse.hpp>

namespace ms::messaging {
namespace {

constexpr std::string_view kIdPrefix = R"({"id":")";
constexpr std::string_view kChannelSep = R"(","channel":")";
constexpr std::string_view kChannelEnd = R"(",)";

// Readers parse what we stored, whose depth the publish path already bounded; this is a
// generous backstop against arbitrary input.
constexpr std::size_t kEnvelopeMaxDepth = 256;

// True if the string needs no escaping inside JSON quotes.
bool plain(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') return false;
  }
  return true;
}

// Reads exactly `n` decimal digits at `pos`.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

const boost::json::string* string_field(const boost::json::object& o, std::string_view name) {
  auto it = o.find(name);
  if (it == o.end()) return nullptr;
  return it->value().if_string();
}

std::string_view sv(const boost::json::string& s) { return {s.data(), s.size()}; }

}  // namespace

std::string serialize_stored(const Envelope& e) {
  std::string out;
  out.reserve(96 + e.id.size() + e.channel.size() + (e.key ? e.key->size() : 0));
  out += '{';
  out += R"("id":)";
  append_json_string(out, e.id);
  out += R"(,"channel":)";
  append_json_string(out, e.channel);
  out += R"(,"published_at":")";
  out += ms::format_rfc3339_ms(e.published_at_ms);
  out += '"';
  if (e.key) {
    out += R"(,"key":)";
    append_json_string(out, *e.key);
  }
  if (!e.attributes.empty()) {
    out += R"(,"attributes":{)";
    bool first = true;
    for (const auto& [k, v] : e.attributes) {
      if (!first) out += ',';
      first = false;
      append_json_string(out, k);
      out += ':';
      append_json_string(out, v);
    }
    out += '}';
  }
  out += R"(,"data":)";
  append_json(out, e.data);
  out += '}';
  return out;
}

std::size_t position_splice_offset(std::string_view id, std::string_view channel) {
  return kIdPrefix.size() + id.size() + kChannelSep.size() + channel.size() + kChannelEnd.size();
}

std::string with_position(std::string_view stored_json, std::string_view position) {
  auto unchanged = [&] { return std::string(stored_json); };
  if (stored_json.substr(0, kIdPrefix.size()) != kIdPrefix) return unchanged();

  std::size_t id_end = stored_json.find('"', kIdPrefix.size());
  if (id_end == std::string_view::npos) return unchanged();
  std::string_view id = stored_json.substr(kIdPrefix.size(), id_end - kIdPrefix.size());
  if (id.find('\\') != std::string_view::npos) return unchanged();  // escaped: not ours

  if (stored_json.substr(id_end, kChannelSep.size()) != kChannelSep) return unchanged();
  std::size_t ch_begin = id_end + kChannelSep.size();
  std::size_t ch_end = stored_json.find('"', ch_begin);
  if (ch_end == std::string_view::npos) return unchanged();
  std::string_view channel = stored_json.substr(ch_begin, ch_end - ch_begin);
  if (channel.find('\\') != std::string_view::npos) return unchanged();
  if (stored_json.substr(ch_end, kChannelEnd.size()) != kChannelEnd) return unchanged();

  const std::size_t at = position_splice_offset(id, channel);
  std::string out;
  out.reserve(stored_json.size() + position.size() + 16);
  out.append(stored_json.substr(0, at));
  out += R"("position":)";
  if (plain(position)) {  // stream ids ("1733076000123-0") always are
    out += '"';
    out += position;
    out += '"';
  } else {
    append_json_string(out, position);
  }
  out += ',';
  out.append(stored_json.substr(at));
  return out;
}

ms::Result<Envelope> parse_envelope(std::string_view full_json) {
  const auto bad = make_error_code(errc::invalid_envelope);
  boost::system::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = kEnvelopeMaxDepth;
  boost::json::value root = boost::json::parse(full_json, ec, {}, opts);
  if (ec) return bad;
  auto* obj = root.if_object();
  if (!obj) return bad;

  Envelope e;
  const auto* id = string_field(*obj, "id");
  const auto* channel = string_field(*obj, "channel");
  const auto* published_at = string_field(*obj, "published_at");
  if (!id || !channel || !published_at) return bad;
  e.id = sv(*id);
  e.channel = sv(*channel);
  auto ms = parse_rfc3339_ms(sv(*published_at));
  if (!ms) return bad;
  e.published_at_ms = *ms;

  if (auto it = obj->find("position"); it != obj->end()) {
    const auto* pos = it->value().if_string();
    if (!pos) return bad;
    e.position = sv(*pos);
  }
  if (auto it = obj->find("key"); it != obj->end() && !it->value().is_null()) {
    const auto* key = it->value().if_string();
    if (!key) return bad;
    e.key = std::string(sv(*key));
  }
  if (auto it = obj->find("attributes"); it != obj->end() && !it->value().is_null()) {
    const auto* attrs = it->value().if_object();
    if (!attrs) return bad;
    e.attributes.reserve(attrs->size());
    for (const auto& kv : *attrs) {
      const auto* v = kv.value().if_string();
      if (!v) return bad;
      e.attributes.emplace_back(std::string(kv.key()), std::string(sv(*v)));
    }
  }
  auto data = obj->find("data");
  if (data == obj->end()) return bad;
  e.data = std::move(data->value());
  return e;
}

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
      !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, hour) || s[13] != ':' ||
      !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 ||
      second > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  int millis = 0;
  if (s[pos] == '.') {
    ++pos;
    std::size_t first = pos;
    int scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == first) return std::nullopt;
  }
  std::int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om) ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;

  std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
  return secs * 1000 + millis;
}

}  // namespace ms::messaging
