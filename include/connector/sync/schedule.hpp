#pragma once
// When the full reconciliation runs, and how a running one is supervised: the seed's
// Schedule Settings (run type, run interval, work window, "check sync status after N
// seconds", "check sync status duration", "interval after expire duration") as pure rules.
// The scheduler thread asks; nothing here sleeps or reads the clock — every time is a
// parameter, in milliseconds since the epoch (UTC). Keeping runs from overlapping is the
// scheduler's job.
//
// Rules (config/README.md "schedule" tells operators the same):
// - Work window: [start_work_time, stop_work_time) in time_zone's wall-clock time, so
//   exactly at the stop time is outside. A stop before the start spans midnight (22:00 to
//   06:00 belongs to the day it opens on). No start and stop: no window.
// - interval: the first run at once (no previous run); then the previous start +
//   run_interval_minutes. A slot missed while the service was down runs now, once — no
//   burst of catch-up runs. A time outside the window moves to the next opening.
// - daily: one run a day at start_work_time. A day's run is due until some run, scheduled
//   or manual, starts at or after that day's start time. When its time has passed (service
//   down, or just installed) it runs now while now is still in that day's window — before
//   stop_work_time, or, without a stop time, before the next day's start — and otherwise
//   waits for the next day's start.
// - After an expired run: its end (or, when none is recorded, its start + the status-check
//   duration) + interval_after_expire_duration_minutes. daily retries only while that is
//   still within the window of the day the expired run belongs to, then the rule above.
//   failed, stopped and stopped_by_safety_limit wait the normal interval or day: retrying
//   at once would most likely fail or stop the same way, and a safety stop needs a person.
// - Never before now, and never before the previous run's end when it has one.
// - Daylight saving: a wall-clock time that does not exist (spring forward) means the first
//   instant after the gap (Europe/Berlin 02:30 on 29 March 2026 → 03:00 CEST); one that
//   occurs twice (fall back) means its first occurrence, so a daily run happens once and a
//   window closes at the first of the two times. The interval counts real minutes.
// - Stopping a scheduled run when the window closes is the scheduler's job (in_window()).
#include <memory>
#include <optional>
#include <string>

#include "connector/clock.hpp"
#include "connector/config/config.hpp"
#include "connector/expected.hpp"

namespace connector::sync {

// How a reconciliation run ended (the admin API's run `status` values once it is over).
enum class run_end { succeeded, failed, expired, stopped, stopped_by_safety_limit };

struct previous_run {
  epoch_ms started_at = 0;
  std::optional<epoch_ms> ended_at;  // nullopt: still running, or expired with no end recorded
  run_end end = run_end::succeeded;  // read only once ended, or when expired
};

class schedule {
 public:
  // Checks the settings with config::check_schedule (time zone exists, "HH:MM", start !=
  // stop, positive minutes and seconds, run_type known); the error names the dotted key:
  // `schedule.time_zone: unknown time zone "Europe/Berlim"; did you mean "Europe/Berlin"?`.
  static expected<schedule, std::string> make(const config::schedule_settings& settings);

  bool manual_only() const;

  // When the next scheduled run should start, given now and the last run, scheduled or
  // manual, that started (nullopt: none yet). nullopt for manual.
  std::optional<epoch_ms> next_run(epoch_ms now, const std::optional<previous_run>& last) const;

  // Whether t is inside the work window; true when there is none.
  bool in_window(epoch_ms t) const;
  // The end of the window that contains t; nullopt without a window or when t is outside.
  std::optional<epoch_ms> window_closes(epoch_ms t) const;

  // Supervision of a running run: the first status check check_sync_status_after_seconds
  // after its start, then one every check_sync_status_after_seconds; it has expired once
  // check_sync_status_duration_minutes have passed since its start.
  epoch_ms first_status_check(epoch_ms started_at) const;
  epoch_ms next_status_check(epoch_ms last_check) const;
  bool expired(epoch_ms started_at, epoch_ms now) const;

  // One line for operators: "every 60 min between 07:00 and 21:00 Europe/Berlin",
  // "every 60 min", "daily at 07:00 Europe/Berlin", "daily at 07:00 Europe/Berlin, if
  // missed until 21:00", "manual only".
  std::string describe() const;
  // t in the schedule's zone, to the minute: "2026-11-29 07:00 CET".
  std::string describe_time(epoch_ms t) const;

 private:
  struct rules;  // the parsed settings and the zone; keeps date/tz.h out of this header
  explicit schedule(std::shared_ptr<const rules> rules) : rules_(std::move(rules)) {}

  std::shared_ptr<const rules> rules_;
};

}  // namespace connector::sync
