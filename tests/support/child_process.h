// Process and file-system plumbing shared by the fixtures: a child process
// started with fork/exec, a self-removing temp directory, a free loopback port.
//
// Everything here is synchronous and owned by the test thread that created it.
// Children get PR_SET_PDEATHSIG(SIGKILL), so a crashed test binary leaves no
// stray redis-server or service behind (the signal follows the *thread* that
// forked: create fixtures on the test's main thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ms::test {

// A temp directory made with mkdtemp under $TMPDIR (or /tmp); removed with its
// contents by the destructor unless keep() was called.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "ms-test");
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void keep() { keep_ = true; }  // leave it on disk (debugging)

 private:
  std::string path_;
  bool keep_ = false;
};

// A TCP port on 127.0.0.1 that was free a moment ago: bind port 0, read the
// port, close. Callers must still handle a clash (someone may take it first).
std::uint16_t free_port();

// Absolute path of an executable: `name` itself if it has a '/', else the first
// match on $PATH, else `fallback` if it is executable. Empty if none.
std::string find_executable(const std::string& name, const std::string& fallback = "");

// Reads a whole file; empty string if it does not exist.
std::string read_file(const std::string& path);

struct SpawnOptions {
  std::string stdout_path;  // appended to; empty: /dev/null
  std::string stderr_path;  // appended to; empty: /dev/null; may equal stdout_path
  std::string working_dir;  // empty: inherit
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing in) the environment
};

// Exit status convention used by every fixture: the exit code when the process
// exited, 128 + signal number when a signal ended it (as a shell reports it).
int decode_wait_status(int status);

// A child process started with fork + execve. argv[0] must be an absolute path
// (see find_executable). stdin is /dev/null; file descriptors above 2 are closed
// in the child. Move-only; the destructor SIGKILLs and reaps a running child.
class ChildProcess {
 public:
  ChildProcess() = default;
  // Throws std::runtime_error if the fork or the exec fails.
  static ChildProcess spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  // True while the child has not exited (reaps it if it has).
  bool running();
  // Exit status (see decode_wait_status) once reaped.
  std::optional<int> exit_status() const { return exit_status_; }

  void signal(int sig);
  // Waits for the child to exit; nullopt on timeout (the child keeps running).
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  int wait();
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status.
  int terminate(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // SIGKILL and reap. Returns the exit status (137 unless it had already exited).
  int kill9();

 private:
  bool try_reap();
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

struct RunResult {
  int exit_code = -1;  // see decode_wait_status; -1 if it timed out
  bool timed_out = false;
  std::string stdout_text;
  std::string stderr_text;
};

// Runs argv to completion (SIGKILL after `timeout`) and captures its output.
RunResult run_command(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30),
                      const SpawnOptions& options = {});

}  // namespace ms::test
