// The real messaging_service binary (MS_SERVICE_BINARY) as a child process.
//
//   RedisServer redis; redis.start();
//   ServiceProcess svc(redis.url(), {.args = {"--log-level", "debug"}, .wait_ready = true});
//   svc.start();                       // waits for GET /healthz (and /readyz) = 200
//   HttpClient api = svc.client();
//   ...
//   EXPECT_EQ(svc.terminate(), 0);     // SIGTERM: graceful shutdown must exit 0
//
// Unless args already contain them, it adds `--listen 127.0.0.1:<free port>`,
// `--redis-url <url>` and `--endpoint-allow 127.0.0.0/8`. stdout and stderr go
// to a log file in a temp dir; the destructor prints its tail when the current
// test has failed, and fails the test if the log holds a sanitizer report (ASan,
// LSan, UBSan builds: the service's exit status is not checked by every test).
// Owned by the test thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/child_process.h"
#include "support/http_client.h"

namespace ms::test {

struct ServiceOptions {
  std::vector<std::string> args;  // extra command-line flags
  std::vector<std::pair<std::string, std::string>> env;  // extra environment variables
  bool wait_ready = false;  // start() also waits for GET /readyz = 200
  std::chrono::milliseconds start_timeout = std::chrono::seconds(10);
  std::string binary;  // empty: MS_SERVICE_BINARY
};

// The first AddressSanitizer / LeakSanitizer / UBSan report in `log` and what
// follows it (at most `max` characters); empty if there is none.
std::string sanitizer_report(const std::string& log, std::size_t max = 8000);

class ServiceProcess {
 public:
  explicit ServiceProcess(std::string redis_url, ServiceOptions options = {});
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  // Starts the binary and waits for /healthz (and /readyz with wait_ready).
  // Throws std::runtime_error with the log tail if it exits or times out.
  // The port is chosen on the first start (retrying on a clash) and kept.
  void start();
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status
  // (exit code, or 128 + signal: 137 means it had to be killed).
  int terminate(std::chrono::milliseconds grace = std::chrono::seconds(15));
  void kill9();
  void restart();  // terminate() if running, then start() on the same port
  bool running();

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return child_.pid(); }
  std::optional<int> exit_code() const { return child_.exit_status(); }
  std::string url(const std::string& path = "/") const;  // http://127.0.0.1:<port><path>
  HttpClient client(HttpClientOptions options = {}) const;
  const std::vector<std::string>& argv() const { return argv_; }  // of the last start

  std::string log_text() const;  // everything the service wrote, all runs
  std::string log_path() const { return dir_.file("service.log"); }

 private:
  std::vector<std::string> build_argv() const;
  // Empty on success, else why it failed; sets `clash` if the port was taken.
  std::string wait_healthy(std::size_t log_offset, bool& clash);

  std::string redis_url_;
  ServiceOptions options_;
  std::string binary_;
  TempDir dir_;
  bool caller_listen_ = false;  // args carry their own --listen
  std::uint16_t port_ = 0;
  std::vector<std::string> argv_;
  ChildProcess child_;
};

// Runs the service binary with exactly `args` to completion (SIGKILL after
// `timeout`) and captures stdout, stderr and the exit code: for --help,
// --version and bad-flag tests.
RunResult run_service_once(const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Path of the service binary the tests run (MS_SERVICE_BINARY).
std::string service_binary();

}  // namespace ms::test
