#include "run_owner.hpp"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <mutex>
#include <random>
#include <sstream>

namespace connector::store {
namespace {

// From project(VERSION) in CMakeLists.txt, for this file only (a definition on the whole
// library would rebuild it all on every release).
#ifndef CONNECTOR_VERSION
#define CONNECTOR_VERSION "unknown"
#endif

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "unknown-host";
  return name;
}

// Random first: a pid is reused, and containers on several hosts often share a host name
// and a pid (1). 64 random bits make two instances' ids collide practically never.
std::string new_instance_id() {
  std::random_device random;
  std::ostringstream id;
  id << std::hex << random() << random() << '@' << host_name() << '/' << std::dec << getpid();
  return id.str();
}

}  // namespace

const std::string& this_instance_id() {
  // Cached, but per pid: a forked child is another instance with its own runs.
  static std::mutex mutex;
  static pid_t owner = 0;
  static std::string id;
  std::lock_guard lock(mutex);
  if (owner != getpid()) {
    owner = getpid();
    id = new_instance_id();
  }
  return id;
}

instance_record this_instance(const std::string& role, epoch_ms started_at, epoch_ms now) {
  instance_record self;
  self.id = this_instance_id();
  self.host = host_name();
  self.pid = getpid();
  self.role = role;
  self.version = CONNECTOR_VERSION;
  self.started_at = started_at;
  self.last_seen = now;
  return self;
}

process_identity run_owner(const std::string& instance_id) {
  return {getpid(), instance_id.empty() ? this_instance_id() : instance_id};
}

bool owner_is_live(const std::string& owner_instance, const std::string& self,
                   const std::vector<instance_record>& live) {
  if (owner_instance == self) return true;
  return std::any_of(live.begin(), live.end(),
                     [&](const instance_record& i) { return i.id == owner_instance; });
}

}  // namespace connector::store
