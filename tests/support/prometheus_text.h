// A strict parser of the Prometheus text exposition format (0.0.4), for tests:
// every line must be a comment, a # HELP / # TYPE line, or a sample
// `name{label="value",...} value [timestamp]`; names and label values are checked
// (escapes \\, \", \n), a family's TYPE comes before its samples, and histograms
// are consistent (cumulative buckets, +Inf bucket == _count). Throws
// std::runtime_error naming the line on anything else.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ms::test {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromExposition {
  std::map<std::string, std::string> types;  // family name → counter|gauge|histogram|summary|untyped
  std::vector<PromSample> samples;

  // The value of the sample with this name and exactly these labels.
  std::optional<double> value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const;
  // The sum of every sample with this name whose labels include `labels`.
  double sum(const std::string& name, const std::map<std::string, std::string>& labels = {}) const;
};

PromExposition parse_prometheus_text(const std::string& text);

}  // namespace ms::test
