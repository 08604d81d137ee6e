#include "run_owner.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string_view>

namespace connector::store {
namespace {

std::optional<std::string> first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) return std::nullopt;
  return line;
}

// Field 22 of /proc/PID/stat: the start time after boot. The command name (field 2) may
// hold spaces and parentheses, so the fields are counted from its closing parenthesis.
std::optional<std::string> start_time(std::int64_t pid) {
  const auto stat = first_line("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return std::nullopt;
  const auto name_end = stat->rfind(')');
  if (name_end == std::string::npos) return std::nullopt;
  std::istringstream fields(stat->substr(name_end + 1));
  std::string field;
  for (int number = 3; number <= 22; ++number) {
    if (!(fields >> field)) return std::nullopt;
  }
  return field;
}

// The same marker for any process on this host, or nothing without /proc.
std::optional<std::string> instance_of(std::int64_t pid) {
  static const auto boot_id = first_line("/proc/sys/kernel/random/boot_id");
  if (!boot_id) return std::nullopt;
  const auto started = start_time(pid);
  if (!started) return std::nullopt;
  return *boot_id + "/" + *started;
}

process_identity identify_this_process() {
  process_identity self;
  self.pid = getpid();
  if (auto instance = instance_of(self.pid)) {
    self.instance = std::move(*instance);
  } else {
    std::random_device random;
    std::ostringstream id;
    id << "random/" << std::hex << random() << random();
    self.instance = id.str();
  }
  return self;
}

}  // namespace

process_identity current_process() {
  // Cached, but per pid: a forked child is another process with its own runs.
  static std::mutex mutex;
  static process_identity self;
  std::lock_guard lock(mutex);
  if (self.pid != getpid()) self = identify_this_process();
  return self;
}

bool process_is_alive(const process_identity& owner) {
  const auto self = current_process();
  // An earlier process of ours with the same pid (a container restarted) is gone.
  if (owner.pid == self.pid) return owner.instance == self.instance;
  // kill(0 or -1, …) would address process groups: never a valid owner.
  if (owner.pid <= 0 || owner.pid > INT_MAX) return false;
  // EPERM: it exists but belongs to another user; only ESRCH says it is gone.
  if (kill(static_cast<pid_t>(owner.pid), 0) != 0 && errno == ESRCH) return false;
  const auto instance = instance_of(owner.pid);
  if (!instance) return true;  // no /proc, or it just exited: the next check will tell
  return *instance == owner.instance;
}

}  // namespace connector::store
