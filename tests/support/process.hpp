#pragma once
// Child processes for end-to-end tests: the real `connector` binary, started, signalled and
// waited for.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace connector::testing {

struct command_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command to completion and captures its output.
command_result run_command(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env = {});

class child_process {
 public:
  // stdout and stderr go to files in `log_dir` (read them with output()).
  child_process(const std::vector<std::string>& argv, const std::filesystem::path& log_dir,
                const std::map<std::string, std::string>& env = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signal_number);
  // Waits for exit; returns the exit code, or 128+signal. nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  bool running();
  std::string stderr_text() const;
  std::string stdout_text() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path out_path_, err_path_;
};

// Waits until `path` exists and is not empty (the service writes its ready file
// atomically once it listens), or the process dies, or the timeout passes.
bool wait_for_file(const std::filesystem::path& path, child_process& process,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace connector::testing
