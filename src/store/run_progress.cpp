#include "run_progress.hpp"

namespace connector::store {

bool run_progress::offer(std::int64_t run_id, const counts& newest) {
  std::lock_guard lock(mutex_);
  auto& run = runs_[run_id];
  run.newest = newest;
  if (run.write_queued) return false;
  run.write_queued = true;
  return true;
}

std::optional<run_progress::counts> run_progress::take(std::int64_t run_id) {
  std::lock_guard lock(mutex_);
  const auto run = runs_.find(run_id);
  if (run == runs_.end()) return std::nullopt;
  run->second.write_queued = false;
  return run->second.newest;
}

void run_progress::wrote_nothing(std::int64_t run_id) {
  std::lock_guard lock(mutex_);
  const auto run = runs_.find(run_id);
  if (run != runs_.end() && !run->second.write_queued) runs_.erase(run);
}

void run_progress::forget(std::int64_t run_id) {
  std::lock_guard lock(mutex_);
  runs_.erase(run_id);
}

}  // namespace connector::store
