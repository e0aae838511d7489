#include "observe/log.h"

#include <boost/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace ms::observe {
namespace {

// JSON lines built with Boost.JSON (spdlog's %v is not escaped).
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    boost::json::object o;
    o["ts"] = duration_cast<milliseconds>(msg.time.time_since_epoch()).count();
    o["level"] = std::string(spdlog::level::to_string_view(msg.level).data(),
                             spdlog::level::to_string_view(msg.level).size());
    o["component"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    o["msg"] = std::string(msg.payload.data(), msg.payload.size());
    auto s = boost::json::serialize(o);
    s.push_back('\n');
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

struct State {
  std::mutex mu;
  spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  spdlog::level::level_enum level = spdlog::level::info;
  bool json = false;
};

State& state() {
  static State s;
  return s;
}

void apply(spdlog::logger& l, const State& s) {
  l.set_level(s.level);
  if (s.json) {
    l.set_formatter(std::make_unique<JsonFormatter>());
  } else {
    l.set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [%n] %v", spdlog::pattern_time_type::utc);
  }
}

}  // namespace

void init_logging(const std::string& level, const std::string& format) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  s.level = spdlog::level::from_str(level == "warn" ? "warning" : level);
  s.json = format == "json";
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { apply(*l, s); });
}

std::shared_ptr<spdlog::logger> logger(const std::string& component) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  if (auto existing = spdlog::get(component)) return existing;
  auto l = std::make_shared<spdlog::logger>(component, s.sink);
  apply(*l, s);
  spdlog::register_logger(l);
  return l;
}

}  // namespace ms::observe
