// The schedule section's rules (config/README.md "schedule"). Messages match the ones
// object_reader gives for the same kind of mistake, so an operator sees one wording whether
// the file or the code got it wrong.
#include "connector/config/schedule_check.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <string>
#include <vector>

#include <date/tz.h>

#include "object_reader.hpp"

namespace connector::config {
namespace {

using detail::closest_match;
using detail::in_quotes;

std::string key(std::string_view name) {
  return "schedule." + std::string(name);
}

config_error error(std::string_view name, std::string message) {
  return config_error{key(name), std::move(message)};
}

// Empty when the zone database has `name`; otherwise why not, with the likely intended name.
// The name is looked up among those the database lists, never opened as a path, so "../x"
// or an embedded NUL cannot reach a file outside it.
std::optional<std::string> zone_problem(const std::string& name) {
  try {
    date::locate_zone(name);
    return std::nullopt;
  } catch (const std::exception&) {
    // Not there, or no database at all: the second throws again below.
  }
  std::string problem = "unknown time zone " + in_quotes(name);
  try {
    const auto& database = date::get_tzdb();
    std::vector<std::string_view> names;
    for (const auto& zone : database.zones) names.push_back(zone.name());  // links too
    if (auto guess = closest_match(name, names)) {
      return problem + "; did you mean " + in_quotes(*guess) + "?";
    }
    return problem + " (not an IANA name in the zone database)";
  } catch (const std::exception& e) {
    return problem + " (cannot read the zone database: " + e.what() + ")";
  }
}

}  // namespace

std::optional<int> parse_clock_time(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (const std::size_t i : {0, 1, 3, 4}) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
  }
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (hours > 23 || minutes > 59) return std::nullopt;
  return hours * 60 + minutes;
}

std::optional<config_error> check_schedule(const schedule_settings& s) {
  if (s.run_type != "interval" && s.run_type != "daily" && s.run_type != "manual") {
    return error("run_type", "expected one of \"interval\", \"daily\", \"manual\", got " +
                                 in_quotes(s.run_type));
  }
  if (s.run_interval_minutes < 1 || s.run_interval_minutes > max_run_interval_minutes) {
    return error("run_interval_minutes", "must be from 1 to " +
                                             std::to_string(max_run_interval_minutes) + ", got " +
                                             std::to_string(s.run_interval_minutes));
  }
  for (const auto& [name, value] : {std::pair{"start_work_time", &s.start_work_time},
                                    std::pair{"stop_work_time", &s.stop_work_time}}) {
    if (*value && !parse_clock_time(**value)) {
      return error(name, "expected \"HH:MM\" (00:00 to 23:59), got " + in_quotes(**value));
    }
  }
  if (auto problem = zone_problem(s.time_zone)) return error("time_zone", *problem);
  // Zero would check a running run in a busy loop, or retry an expired one at once.
  for (const auto& [name, value] :
       {std::pair{"check_sync_status_after_seconds", s.check_sync_status_after_seconds},
        std::pair{"check_sync_status_duration_minutes", s.check_sync_status_duration_minutes},
        std::pair{"interval_after_expire_duration_minutes",
                  s.interval_after_expire_duration_minutes}}) {
    if (value < 1) return error(name, "must be at least 1, got " + std::to_string(value));
  }

  if (s.stop_work_time && !s.start_work_time) {
    return error("start_work_time", "required with schedule.stop_work_time");
  }
  if (s.run_type == "daily" && !s.start_work_time) {
    return error("start_work_time", "required when run_type is \"daily\" (the time of the run)");
  }
  if (s.run_type == "interval" && s.start_work_time && !s.stop_work_time) {
    return error("stop_work_time", "required with schedule.start_work_time (the work window)");
  }
  if (s.start_work_time && s.stop_work_time && *s.start_work_time == *s.stop_work_time) {
    return error("stop_work_time", "must differ from start_work_time (an empty work window)");
  }
  return std::nullopt;
}

}  // namespace connector::config
