#include "support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace connector::testing {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const std::filesystem::path& out, const std::filesystem::path& err) {
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // The test process may block signals (the service does); the child starts clean.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    // Nothing else of the test process follows the child: a sandbox's listening socket held
    // open by a service would keep taking connections after the sandbox stopped, so "the
    // remote is down" would not be what the service meets.
    close_range(3, ~0U, 0);
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

command_result run_command(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env) {
  char dir_template[] = "/tmp/connector-cmd-XXXXXX";
  const std::filesystem::path dir = mkdtemp(dir_template);
  child_process child(argv, dir, env);
  command_result result;
  result.exit_code = child.wait(std::chrono::seconds(120)).value_or(-1);
  result.out = child.stdout_text();
  result.err = child.stderr_text();
  std::filesystem::remove_all(dir);
  return result;
}

child_process::child_process(const std::vector<std::string>& argv,
                             const std::filesystem::path& log_dir,
                             const std::map<std::string, std::string>& env)
    : out_path_(log_dir / ("stdout-" + std::to_string(::getpid()) + "-" +
                           std::to_string(reinterpret_cast<std::uintptr_t>(this)))),
      err_path_(log_dir / ("stderr-" + std::to_string(::getpid()) + "-" +
                           std::to_string(reinterpret_cast<std::uintptr_t>(this)))) {
  pid_ = spawn(argv, env, out_path_, err_path_);
}

child_process::~child_process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(10));
  }
}

void child_process::signal(int signal_number) {
  if (!status_) ::kill(pid_, signal_number);
}

bool child_process::running() {
  if (status_) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = decode(status);
    return false;
  }
  return true;
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

std::string child_process::stderr_text() const {
  return read_file(err_path_);
}
std::string child_process::stdout_text() const {
  return read_file(out_path_);
}

bool wait_for_file(const std::filesystem::path& path, child_process& process,
                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::error_code ec;
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::file_size(path, ec) > 0 && !ec) return true;
    if (!process.running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

}  // namespace connector::testing
