#pragma once
// Run history: one record per full reconciliation (scheduled, manual, dry), kept so that
// `GET /admin/runs/{id}` and `connector status` (last sync start and status) can answer
// after the run, and after a restart.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "connector/clock.hpp"

namespace connector::store {

struct run_record {
  std::int64_t id = 0;
  std::string trigger;  // "scheduled", "manual", "admin" (admin endpoint), "cli"
  bool dry_run = false;
  std::string status;  // queued, running, then one of finished_run_statuses
  epoch_ms queued_at = 0;
  std::optional<epoch_ms> started_at, ended_at;
  std::map<std::string, std::int64_t> counts;  // "read", "in_scope", "create", … (free keys)
  std::string message;                         // why it failed/stopped, or a summary
  std::string plan_json;                       // dry runs: the plan; only from find_run(id, true)
};

// The statuses a run ends with (design.md, `GET /admin/runs/{id}`).
inline constexpr std::array<std::string_view, 5> finished_run_statuses = {
    "succeeded", "failed", "expired", "stopped", "stopped_by_safety_limit"};

inline bool is_finished_run_status(std::string_view status) {
  for (auto finished : finished_run_statuses) {
    if (status == finished) return true;
  }
  return false;
}

// What fail_interrupted_runs writes into a run whose process died.
inline constexpr std::string_view interrupted_run_message =
    "interrupted: the service stopped during the run";

}  // namespace connector::store
