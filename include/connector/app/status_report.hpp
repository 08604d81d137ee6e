#pragma once
// What `connector status` and `GET /admin/status` report, in one place so the two agree.
#include <nlohmann/json.hpp>
#include <string>

#include "connector/store/inbox.hpp"

namespace connector::app {

// Keys are a contract (design.md): pending, retrying, dead_letters, last_sync_start,
// last_sync_status, plus the intake counts.
nlohmann::json status_to_json(const store::inbox_stats& stats);
std::string status_to_text(const store::inbox_stats& stats);

// "2026-11-29T02:40:17.123Z"
std::string format_utc(epoch_ms t);

}  // namespace connector::app
