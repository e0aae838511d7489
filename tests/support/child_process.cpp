#include "support/child_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

extern char** environ;

namespace ms::test {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

bool is_executable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0 && !std::filesystem::is_directory(path);
}

// The environment for the child: ours, with `extra` added or replacing.
std::vector<std::string> child_environment(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    bool overridden = false;
    for (const auto& [k, v] : extra) {
      if (entry.size() > k.size() && entry.substr(0, k.size()) == k && entry[k.size()] == '=') {
        overridden = true;
        break;
      }
    }
    if (!overridden) env.emplace_back(entry);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void child_fail(int err_fd, int err) {
  [[maybe_unused]] auto n = ::write(err_fd, &err, sizeof err);
  ::_exit(127);
}

// Child side, between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(pid_t parent, int err_fd, const char* path, char* const* argv, char* const* envp,
                             const char* out_path, const char* err_path, const char* cwd, int max_fd) {
  auto fail = [&err_fd](int err) { child_fail(err_fd, err); };
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // parent already gone
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);

  int in = ::open("/dev/null", O_RDONLY);
  if (in < 0 || ::dup2(in, 0) < 0) fail(errno);
  int out = ::open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out < 0 || ::dup2(out, 1) < 0) fail(errno);
  if (std::strcmp(out_path, err_path) == 0) {
    if (::dup2(1, 2) < 0) fail(errno);
  } else {
    int err = ::open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (err < 0 || ::dup2(err, 2) < 0) fail(errno);
  }
  if (cwd[0] != '\0' && ::chdir(cwd) != 0) fail(errno);
  // Keep the error pipe at fd 3 and close everything above it, so the child does
  // not hold our listening sockets or redis connections.
  if (err_fd != 3) {
    if (::dup3(err_fd, 3, O_CLOEXEC) < 0) fail(errno);
    err_fd = 3;
  }
  if (::close_range(4, ~0U, 0) != 0) {
    for (int fd = 4; fd < max_fd; ++fd) ::close(fd);  // kernels before 5.9
  }
  ::execve(path, argv, envp);
  child_fail(err_fd, errno);
}

}  // namespace

// ---- TempDir ----------------------------------------------------------------

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw_errno("mkdtemp " + tmpl);
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (!path_.empty() && !keep_) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

TempDir::TempDir(TempDir&& other) noexcept
    : path_(std::exchange(other.path_, std::string())), keep_(other.keep_) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    TempDir old(std::move(*this));
    path_ = std::exchange(other.path_, std::string());
    keep_ = other.keep_;
  }
  return *this;
}

// ---- helpers ----------------------------------------------------------------

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    throw_errno("bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string find_executable(const std::string& name, const std::string& fallback) {
  if (name.find('/') != std::string::npos) return is_executable(name) ? name : std::string();
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
      if (is_executable(candidate)) return candidate;
    }
  }
  return is_executable(fallback) ? fallback : std::string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int decode_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// ---- ChildProcess -------------------------------------------------------------

ChildProcess ChildProcess::spawn(const std::vector<std::string>& argv_in, const SpawnOptions& options) {
  if (argv_in.empty() || argv_in[0].empty() || argv_in[0][0] != '/') {
    throw std::invalid_argument("ChildProcess::spawn: argv[0] must be an absolute path");
  }
  // Everything the child needs is prepared here: after fork() only
  // async-signal-safe calls are allowed (the parent has other threads).
  std::vector<std::string> argv = argv_in;
  std::vector<std::string> env = child_environment(options.env);
  std::vector<char*> argv_c = c_strings(argv);
  std::vector<char*> env_c = c_strings(env);
  std::string out_path = options.stdout_path.empty() ? "/dev/null" : options.stdout_path;
  std::string err_path = options.stderr_path.empty() ? "/dev/null" : options.stderr_path;
  rlimit lim{};
  int max_fd = (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
                   ? static_cast<int>(std::min<rlim_t>(lim.rlim_cur, 1 << 20))
                   : 4096;

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    errno = err;
    throw_errno("fork");
  }
  if (pid == 0) {
    ::close(pipe_fds[0]);
    exec_child(parent, pipe_fds[1], argv_c[0], argv_c.data(), env_c.data(), out_path.c_str(), err_path.c_str(),
               options.working_dir.c_str(), max_fd);
  }
  ::close(pipe_fds[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(pipe_fds[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(pipe_fds[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    throw std::system_error(child_errno, std::generic_category(), "exec " + argv_in[0]);
  }
  ChildProcess child;
  child.pid_ = pid;
  return child;
}

ChildProcess::~ChildProcess() {
  if (started() && !exit_status_) kill9();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), exit_status_(std::exchange(other.exit_status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (started() && !exit_status_) kill9();
    pid_ = std::exchange(other.pid_, -1);
    exit_status_ = std::exchange(other.exit_status_, std::nullopt);
  }
  return *this;
}

bool ChildProcess::try_reap() {
  if (!started()) return true;
  if (exit_status_) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = decode_wait_status(status);
    return true;
  }
  if (r < 0 && errno == ECHILD) {
    exit_status_ = -1;  // reaped elsewhere; status unknown
    return true;
  }
  return false;
}

bool ChildProcess::running() { return started() && !try_reap(); }

void ChildProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!try_reap()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return exit_status_;
}

int ChildProcess::wait() {
  if (!started()) return -1;
  if (!exit_status_) {
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    exit_status_ = r == pid_ ? decode_wait_status(status) : -1;
  }
  return *exit_status_;
}

int ChildProcess::terminate(std::chrono::milliseconds grace) {
  if (!started()) return -1;
  signal(SIGTERM);
  if (auto status = wait_for(grace)) return *status;
  return kill9();
}

int ChildProcess::kill9() {
  if (!started()) return -1;
  if (!try_reap()) ::kill(pid_, SIGKILL);
  return wait();
}

// ---- run_command ----------------------------------------------------------------

RunResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                      const SpawnOptions& options) {
  TempDir dir("ms-run");
  SpawnOptions opts = options;
  opts.stdout_path = dir.file("stdout");
  opts.stderr_path = dir.file("stderr");
  ChildProcess child = ChildProcess::spawn(argv, opts);
  RunResult result;
  if (auto status = child.wait_for(timeout)) {
    result.exit_code = *status;
  } else {
    child.kill9();
    result.timed_out = true;
  }
  result.stdout_text = read_file(opts.stdout_path);
  result.stderr_text = read_file(opts.stderr_path);
  return result;
}

}  // namespace ms::test
