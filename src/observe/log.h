// Logging: one spdlog logger per component, all writing to stderr through one sink.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace ms::observe {

// Sets the level (trace|debug|info|warn|error) and format (text|json) for every logger.
void init_logging(const std::string& level, const std::string& format);

// The component's logger ("http", "redis", "publish", ...), created on first use.
std::shared_ptr<spdlog::logger> logger(const std::string& component);

}  // namespace ms::observe
