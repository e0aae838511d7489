#include "observe/metrics.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

namespace ms::observe {

namespace {

const auto kStartTime = std::chrono::system_clock::now();

prometheus::MetricFamily one_sample(std::string name, std::string help, double value, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (auto* e = ::readdir(dir)) {
      if (e->d_name[0] != '.') ++n;
    }
    ::closedir(dir);
    if (n > 0) --n;  // the directory stream's own fd
  }
  return n;
}

// The standard process_* metrics (the names client libraries use).
std::vector<prometheus::MetricFamily> process_metrics() {
  std::vector<prometheus::MetricFamily> out;
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  out.push_back(counter_family("process_cpu_seconds_total", "User and system CPU time spent, in seconds.", cpu));
  long rss_pages = 0, vm_pages = 0;
  if (std::ifstream statm("/proc/self/statm"); statm) statm >> vm_pages >> rss_pages;
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  out.push_back(gauge_family("process_resident_memory_bytes", "Resident memory size in bytes.",
                             static_cast<double>(rss_pages) * page));
  out.push_back(gauge_family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                             static_cast<double>(vm_pages) * page));
  out.push_back(gauge_family("process_open_fds", "Number of open file descriptors.", static_cast<double>(open_fds())));
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    out.push_back(gauge_family("process_max_fds", "Maximum number of open file descriptors.",
                               static_cast<double>(lim.rlim_cur)));
  }
  const double start = std::chrono::duration<double>(kStartTime.time_since_epoch()).count();
  out.push_back(gauge_family("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.",
                             start));
  return out;
}

}  // namespace

prometheus::MetricFamily counter_family(std::string name, std::string help, double value) {
  return one_sample(std::move(name), std::move(help), value, prometheus::MetricType::Counter);
}

prometheus::MetricFamily gauge_family(std::string name, std::string help, double value) {
  return one_sample(std::move(name), std::move(help), value, prometheus::MetricType::Gauge);
}

prometheus::Registry& metrics_registry() {
  static prometheus::Registry registry;
  return registry;
}

prometheus::Histogram::BucketBoundaries latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::string render_metrics(std::vector<prometheus::MetricFamily> extra) {
  auto families = metrics_registry().Collect();
  for (auto& f : extra) families.push_back(std::move(f));
  for (auto& f : process_metrics()) families.push_back(std::move(f));
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, families);
  return out.str();
}

void LabelCap::set_cap(std::size_t cap) {
  std::lock_guard lock(mu_);
  cap_ = cap;
}

std::string LabelCap::admit(std::string_view value) {
  std::lock_guard lock(mu_);
  std::string v(value);
  if (seen_.contains(v)) return v;
  if (seen_.size() >= cap_) return std::string(kOther);
  seen_.insert(v);
  return v;
}

std::size_t LabelCap::distinct() const {
  std::lock_guard lock(mu_);
  return seen_.size();
}

LabelCap& channel_labels() {
  static LabelCap cap(1000);
  return cap;
}

}  // namespace ms::observe
