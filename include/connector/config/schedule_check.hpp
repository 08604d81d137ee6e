#pragma once
// The rules a `schedule` section must meet, in one place: config loading checks the file
// with them, and sync::schedule::make checks settings built in code with the same ones, so
// a schedule the config accepts is always one the scheduler can run.
#include <optional>
#include <string_view>

#include "connector/config/config.hpp"

namespace connector::config {

inline constexpr int max_run_interval_minutes = 7 * 24 * 60;  // a week

// "HH:MM", two digits each, 00:00 to 23:59, as minutes after midnight.
std::optional<int> parse_clock_time(std::string_view text);

// The first rule `settings` breaks, naming its key ("schedule.time_zone"), or nullopt.
// The time zone must be in the zone database that date/tz reads (/usr/share/zoneinfo).
std::optional<config_error> check_schedule(const schedule_settings& settings);

}  // namespace connector::config
