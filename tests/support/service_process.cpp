#include "support/service_process.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <stdexcept>
#include <thread>

#ifndef MS_SERVICE_BINARY
#error "MS_SERVICE_BINARY must be defined (tests/CMakeLists.txt does it)"
#endif

namespace ms::test {
namespace {

constexpr int kPortAttempts = 3;
constexpr std::size_t kLogTail = 20000;

bool has_flag(const std::vector<std::string>& args, const std::string& flag) {
  for (const auto& a : args) {
    if (a == flag || a.rfind(flag + "=", 0) == 0) return true;
  }
  return false;
}

// The value of --listen host:port in args (separate or with '='); 0 if none.
std::uint16_t listen_port(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string value;
    if (args[i] == "--listen" && i + 1 < args.size()) {
      value = args[i + 1];
    } else if (args[i].rfind("--listen=", 0) == 0) {
      value = args[i].substr(9);
    } else {
      continue;
    }
    auto colon = value.rfind(':');
    try {
      return static_cast<std::uint16_t>(std::stoul(value.substr(colon == std::string::npos ? 0 : colon + 1)));
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

std::string tail(const std::string& text, std::size_t max = kLogTail) {
  return text.size() <= max ? text : "...\n" + text.substr(text.size() - max);
}

bool mentions_address_in_use(const std::string& log) {
  return log.find("ddress already in use") != std::string::npos ||
         log.find("ddress in use") != std::string::npos;
}

}  // namespace

std::string service_binary() { return MS_SERVICE_BINARY; }

std::string sanitizer_report(const std::string& log, std::size_t max) {
  std::size_t first = std::string::npos;
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: "}) {
    first = std::min(first, log.find(marker));
  }
  if (first == std::string::npos) return {};
  auto line = log.rfind('\n', first);
  return log.substr(line == std::string::npos ? 0 : line + 1, max);
}

ServiceProcess::ServiceProcess(std::string redis_url, ServiceOptions options)
    : redis_url_(std::move(redis_url)),
      options_(std::move(options)),
      binary_(options_.binary.empty() ? service_binary() : options_.binary),
      dir_("ms-service") {
  caller_listen_ = has_flag(options_.args, "--listen");
  if (caller_listen_) port_ = listen_port(options_.args);
}

ServiceProcess::~ServiceProcess() {
  if (child_.running()) child_.terminate(std::chrono::seconds(5));
  if (auto report = sanitizer_report(log_text()); !report.empty()) {
    ADD_FAILURE() << "messaging_service (" << log_path() << ") reported:\n" << report;
  }
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- messaging_service log (port " << port_ << ", " << log_path() << ") ----\n"
              << tail(log_text()) << "\n---- end of messaging_service log ----" << std::endl;
  }
}

std::string ServiceProcess::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

HttpClient ServiceProcess::client(HttpClientOptions options) const {
  return HttpClient("127.0.0.1", port_, std::move(options));
}

std::string ServiceProcess::log_text() const { return read_file(log_path()); }

bool ServiceProcess::running() { return child_.running(); }

std::vector<std::string> ServiceProcess::build_argv() const {
  std::vector<std::string> argv{binary_};
  argv.insert(argv.end(), options_.args.begin(), options_.args.end());
  if (!caller_listen_) {
    argv.push_back("--listen");
    argv.push_back("127.0.0.1:" + std::to_string(port_));
  }
  if (!has_flag(options_.args, "--redis-url")) {
    argv.push_back("--redis-url");
    argv.push_back(redis_url_);
  }
  if (!has_flag(options_.args, "--endpoint-allow")) {
    argv.push_back("--endpoint-allow");
    argv.push_back("127.0.0.0/8");
  }
  return argv;
}

std::string ServiceProcess::wait_healthy(std::size_t log_offset, bool& clash) {
  clash = false;
  auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  const char* stage = "/healthz";
  std::string last = "no answer";
  HttpClientOptions probe_options;
  probe_options.timeout = std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!child_.running()) {
      std::string log = log_text();
      clash = !caller_listen_ && mentions_address_in_use(log.substr(std::min(log_offset, log.size())));
      return "service exited with status " + std::to_string(child_.exit_status().value_or(-1)) +
             " before " + stage + " answered 200";
    }
    try {
      HttpClient probe("127.0.0.1", port_, probe_options);
      HttpResponse r = probe.get(stage);
      if (r.status == 200) {
        if (!options_.wait_ready || std::string_view(stage) == "/readyz") return {};
        stage = "/readyz";
        continue;
      }
      last = std::string(stage) + " answered " + std::to_string(r.status) + " " + r.body;
    } catch (const std::exception& e) {
      last = e.what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return std::string("no 200 from ") + stage + " within " + std::to_string(options_.start_timeout.count()) +
         " ms (last: " + last + ")";
}

void ServiceProcess::start() {
  if (child_.running()) return;
  if (::access(binary_.c_str(), X_OK) != 0) {
    throw std::runtime_error("service binary not found or not executable: " + binary_);
  }
  const bool choose_port = !caller_listen_ && port_ == 0;
  std::string why;
  for (int attempt = 0; attempt < (choose_port ? kPortAttempts : 1); ++attempt) {
    if (choose_port) port_ = free_port();
    argv_ = build_argv();
    std::size_t offset = log_text().size();
    SpawnOptions spawn;
    spawn.stdout_path = log_path();
    spawn.stderr_path = spawn.stdout_path;
    spawn.working_dir = dir_.path();
    spawn.env = options_.env;
    child_ = ChildProcess::spawn(argv_, spawn);
    bool clash = false;
    why = wait_healthy(offset, clash);
    if (why.empty()) return;
    child_.kill9();
    if (!clash) break;
  }
  std::string cmd;
  for (const auto& a : argv_) cmd += (cmd.empty() ? "" : " ") + a;
  throw std::runtime_error("ServiceProcess::start failed: " + why + "\ncommand: " + cmd +
                           "\n---- service log ----\n" + tail(log_text(), 8000));
}

int ServiceProcess::terminate(std::chrono::milliseconds grace) { return child_.terminate(grace); }

void ServiceProcess::kill9() { child_.kill9(); }

void ServiceProcess::restart() {
  if (child_.running()) terminate();
  start();
}

RunResult run_service_once(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{service_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  if (::access(argv[0].c_str(), X_OK) != 0) {
    throw std::runtime_error("service binary not found or not executable: " + argv[0]);
  }
  return run_command(argv, timeout);
}

}  // namespace ms::test
