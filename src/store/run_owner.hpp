#pragma once
// Who owns a run: a process, named so that another process on the same host can tell
// whether the owner still lives. A pid alone is not enough (pids are reused, and start
// again after a reboot), so the owner also carries a marker of its start.
#include <cstdint>
#include <string>

namespace connector::store {

struct process_identity {
  std::int64_t pid = 0;
  std::string instance;  // "<boot id>/<start time in clock ticks>", or a random id without /proc
};

// This process (computed once per pid, so a forked child is told apart).
process_identity current_process();

// False when the owner is certainly gone: no process has its pid, or the process with its
// pid started at another time or boot. True when it lives, and when that cannot be told
// (a live run must never be failed).
bool process_is_alive(const process_identity& owner);

}  // namespace connector::store
