#pragma once
// What `connector status` and `GET /admin/status` report, in one place so the two agree.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "connector/store/inbox.hpp"

namespace connector::app {

struct status_snapshot {
  store::inbox_stats stats;
  std::vector<store::pending_record> dead_letters;  // newest first, a bounded number
  std::vector<store::pending_record> retrying;
};

// Keys are a contract (design.md): pending, retrying, dead_letters (counts),
// last_sync_start, last_sync_status, plus the intake counts and the records behind them.
nlohmann::json status_to_json(const status_snapshot& status);
std::string status_to_text(const status_snapshot& status);

// "2026-11-29T02:40:17.123Z"
std::string format_utc(epoch_ms t);

}  // namespace connector::app
