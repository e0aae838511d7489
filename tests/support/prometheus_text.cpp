#include "support/prometheus_text.h"

#include <cctype>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace ms::test {

namespace {

[[noreturn]] void bad(std::size_t line_no, const std::string& line, const std::string& why) {
  throw std::runtime_error("exposition line " + std::to_string(line_no) + ": " + why + ": " + line);
}

bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool name_char(char c) { return name_start(c) || std::isdigit(static_cast<unsigned char>(c)); }

bool valid_metric_name(const std::string& n) {
  if (n.empty() || !name_start(n[0])) return false;
  for (char c : n) {
    if (!name_char(c)) return false;
  }
  return true;
}

bool valid_label_name(const std::string& n) {
  if (n.empty() || !(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

double parse_value(const std::string& t, std::size_t line_no, const std::string& line) {
  if (t == "+Inf") return INFINITY;
  if (t == "-Inf") return -INFINITY;
  if (t == "NaN") return NAN;
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(t, &used);
  } catch (...) {
    bad(line_no, line, "value is not a number");
  }
  if (used != t.size()) bad(line_no, line, "value is not a number");
  return v;
}

// The family a sample belongs to: histogram samples carry _bucket/_sum/_count.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  if (types.count(name)) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      auto base = name.substr(0, name.size() - s.size());
      if (types.count(base)) return base;
    }
  }
  return name;
}

}  // namespace

std::optional<double> PromExposition::value(const std::string& name,
                                            const std::map<std::string, std::string>& labels) const {
  for (const auto& s : samples) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return std::nullopt;
}

double PromExposition::sum(const std::string& name, const std::map<std::string, std::string>& labels) const {
  double total = 0;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      all = all && it != s.labels.end() && it->second == v;
    }
    if (all) total += s.value;
  }
  return total;
}

PromExposition parse_prometheus_text(const std::string& text) {
  PromExposition out;
  std::istringstream in(text);
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream ls(line.substr(1));
      std::string kind, name;
      ls >> kind >> name;
      if (kind == "HELP" || kind == "TYPE") {
        if (!valid_metric_name(name)) bad(line_no, line, "bad metric name");
        if (kind == "TYPE") {
          std::string type;
          ls >> type;
          if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" && type != "untyped") {
            bad(line_no, line, "unknown type");
          }
          if (out.types.count(name)) bad(line_no, line, "second TYPE for a family");
          out.types[name] = type;
        }
      }
      continue;
    }
    PromSample s;
    std::size_t i = 0;
    while (i < line.size() && name_char(line[i])) ++i;
    s.name = line.substr(0, i);
    if (!valid_metric_name(s.name)) bad(line_no, line, "bad metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t start = i;
        while (i < line.size() && line[i] != '=') ++i;
        std::string label = line.substr(start, i - start);
        if (!valid_label_name(label)) bad(line_no, line, "bad label name");
        if (i + 1 >= line.size() || line[i + 1] != '"') bad(line_no, line, "label value not quoted");
        i += 2;
        std::string value;
        for (;;) {
          if (i >= line.size()) bad(line_no, line, "unterminated label value");
          char c = line[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= line.size()) bad(line_no, line, "dangling escape");
            char e = line[i++];
            if (e == 'n') {
              value += '\n';
            } else if (e == '\\' || e == '"') {
              value += e;
            } else {
              bad(line_no, line, "bad escape");
            }
          } else {
            value += c;
          }
        }
        if (s.labels.count(label)) bad(line_no, line, "repeated label");
        s.labels[label] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) bad(line_no, line, "unterminated label set");
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') bad(line_no, line, "no value");
    std::istringstream rest(line.substr(i + 1));
    std::string value, timestamp, extra;
    rest >> value >> timestamp >> extra;
    if (!extra.empty()) bad(line_no, line, "trailing text");
    s.value = parse_value(value, line_no, line);
    if (!timestamp.empty()) parse_value(timestamp, line_no, line);
    const auto family = family_of(s.name, out.types);
    if (!out.types.count(family)) bad(line_no, line, "sample before its TYPE");
    out.samples.push_back(std::move(s));
  }
  // Histograms: cumulative buckets ending at +Inf == _count, per label set.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
    for (const auto& s : out.samples) {
      if (s.name != family + "_bucket") continue;
      auto labels = s.labels;
      auto le = labels.find("le");
      if (le == labels.end()) throw std::runtime_error(family + ": a bucket without le");
      double bound = le->second == "+Inf" ? INFINITY : std::stod(le->second);
      labels.erase(le);
      buckets[labels].emplace_back(bound, s.value);
    }
    for (const auto& [labels, bs] : buckets) {
      for (std::size_t k = 1; k < bs.size(); ++k) {
        if (bs[k].first <= bs[k - 1].first || bs[k].second < bs[k - 1].second) {
          throw std::runtime_error(family + ": buckets not cumulative and ascending");
        }
      }
      if (bs.empty() || !std::isinf(bs.back().first)) throw std::runtime_error(family + ": no +Inf bucket");
      auto count = out.value(family + "_count", labels);
      if (!count || *count != bs.back().second) throw std::runtime_error(family + ": +Inf bucket != _count");
    }
  }
  return out;
}

}  // namespace ms::test
