#pragma once
// What `connector status` and `GET /admin/status` report, in one place so the two agree.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "connector/store/group_queue.hpp"
#include "connector/store/interfaces.hpp"
#include "connector/store/runs.hpp"
#include "connector/store/types.hpp"

namespace connector::app {

struct status_snapshot {
  store::inbox_stats stats;
  std::vector<store::pending_record> dead_letters;  // newest first, a bounded number
  std::vector<store::pending_record> retrying;
  std::optional<store::run_record> last_sync;  // store_reader::last_sync(); none before a first run
  std::vector<store::pending_record> held;     // by the safety limit, newest first, bounded
  store::group_queue_stats groups;             // users waiting to join their groups
  std::vector<store::instance_record> instances;  // live at the time of reading, oldest first
};

// Everything above from `reader`, instances live at `now`.
status_snapshot read_status(store::store_reader& reader, epoch_ms now);

// Keys are a contract (design.md): pending, retrying, dead_letters (counts),
// last_sync_start, last_sync_status, plus the intake counts and the records behind them.
// last_run_id and last_sync_message belong to the same run as last_sync_start (null
// before a first run), so `GET /admin/runs/{id}` can tell more. `instances` lists the live
// instances (id, host, pid, role, version, started_at, last_seen).
nlohmann::json status_to_json(const status_snapshot& status);
std::string status_to_text(const status_snapshot& status);

// "2026-11-29T02:40:17.123Z"
std::string format_utc(epoch_ms t);

}  // namespace connector::app
