// The schedule's rules (header comment). Wall-clock times become instants one day at a time
// through the zone, so daylight saving and cross-midnight windows need no special cases
// beyond resolving a local time that is missing or repeated.
#include "connector/sync/schedule.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>

#include <date/tz.h>

#include "connector/config/schedule_check.hpp"

namespace connector::sync {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;

// [open, close): a day's work window, or for daily the time that day's run may start in.
struct span {
  epoch_ms open = 0;
  epoch_ms close = 0;
  bool empty() const { return close <= open; }  // both ends in one daylight-saving gap
  bool contains(epoch_ms t) const { return open <= t && t < close; }
};

epoch_ms to_epoch_ms(date::sys_seconds t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

date::sys_time<milliseconds> to_sys(epoch_ms t) {
  return date::sys_time<milliseconds>{milliseconds{t}};
}

}  // namespace

struct schedule::rules {
  enum class kind { interval, daily, manual };

  kind type = kind::manual;
  std::string zone_name;  // as configured: what operators wrote and recognise
  const date::time_zone* zone = nullptr;
  std::string start_text, stop_text;
  std::optional<minutes> start, stop;
  milliseconds run_interval{}, check_after{}, check_duration{}, after_expire{};

  date::local_days day_of(epoch_ms t) const {
    return date::floor<date::days>(zone->to_local(to_sys(t)));
  }

  // The instant a wall-clock time on `day` means: in a spring-forward gap the first instant
  // after it; in a fall-back overlap the first occurrence.
  epoch_ms at(date::local_days day, minutes time) const {
    const date::local_seconds local = day + time;
    const auto info = zone->get_info(local);
    if (info.result == date::local_info::nonexistent) return to_epoch_ms(info.first.end);
    return to_epoch_ms(date::sys_seconds{(local - info.first.offset).time_since_epoch()});
  }

  bool has_window() const { return start && stop; }

  std::optional<span> window_on(date::local_days day) const {
    if (!has_window()) return std::nullopt;
    const auto closing_day = *stop < *start ? day + date::days{1} : day;
    return span{at(day, *start), at(closing_day, *stop)};
  }

  // daily: the day's run starts at its start time, or later while the window is open;
  // without a stop time, until the next day's start.
  std::optional<span> run_period_on(date::local_days day) const {
    if (auto window = window_on(day)) return window;
    return span{at(day, *start), at(day + date::days{1}, *start)};
  }

  // The latest non-empty period (window_on or run_period_on) that opened at or before t.
  // A day's period opens on that day, so looking back two days skips even a day that a
  // zone left out of its calendar (Pacific/Apia, 30 December 2011).
  template <class Period>
  std::optional<span> latest_opened(epoch_ms t, Period period) const {
    const auto day = day_of(t);
    for (int back = 0; back <= 2; ++back) {
      const auto p = (this->*period)(day - date::days{back});
      if (p && !p->empty() && p->open <= t) return p;
    }
    return std::nullopt;
  }

  // The first non-empty period that opens at or after t.
  template <class Period>
  epoch_ms first_opening_from(epoch_ms t, Period period) const {
    const auto day = day_of(t);
    for (int ahead = 0; ahead <= 3; ++ahead) {
      const auto p = (this->*period)(day + date::days{ahead});
      if (p && !p->empty() && p->open >= t) return p->open;
    }
    assert(false && "every zone has a window opening within three days");
    return t;
  }

  std::optional<span> window_containing(epoch_ms t) const {
    auto window = latest_opened(t, &rules::window_on);
    if (window && window->contains(t)) return window;
    return std::nullopt;
  }
};

expected<schedule, std::string> schedule::make(const config::schedule_settings& settings) {
  if (auto error = config::check_schedule(settings)) return unexpected{error->to_string()};
  auto r = std::make_shared<rules>();
  r->type = settings.run_type == "interval" ? rules::kind::interval
            : settings.run_type == "daily"  ? rules::kind::daily
                                            : rules::kind::manual;
  r->zone_name = settings.time_zone;
  r->zone = date::locate_zone(settings.time_zone);  // check_schedule found it
  if (settings.start_work_time) {
    r->start_text = *settings.start_work_time;
    r->start = minutes{*config::parse_clock_time(r->start_text)};
  }
  if (settings.stop_work_time) {
    r->stop_text = *settings.stop_work_time;
    r->stop = minutes{*config::parse_clock_time(r->stop_text)};
  }
  r->run_interval = minutes{settings.run_interval_minutes};
  r->check_after = std::chrono::seconds{settings.check_sync_status_after_seconds};
  r->check_duration = minutes{settings.check_sync_status_duration_minutes};
  r->after_expire = minutes{settings.interval_after_expire_duration_minutes};
  return schedule{std::move(r)};
}

bool schedule::manual_only() const {
  return rules_->type == rules::kind::manual;
}

std::optional<epoch_ms> schedule::next_run(epoch_ms now,
                                           const std::optional<previous_run>& last) const {
  const auto& r = *rules_;
  if (r.type == rules::kind::manual) return std::nullopt;

  const epoch_ms earliest = last && last->ended_at ? std::max(now, *last->ended_at) : now;
  const bool after_expiry = last && last->end == run_end::expired;
  const epoch_ms retry =
      after_expiry ? std::max(earliest,
                              last->ended_at.value_or(last->started_at + r.check_duration.count()) +
                                  r.after_expire.count())
                   : earliest;

  if (r.type == rules::kind::interval) {
    const epoch_ms due = !last || after_expiry
                             ? retry
                             : std::max(earliest, last->started_at + r.run_interval.count());
    return in_window(due) ? due : r.first_opening_from(due, &rules::window_on);
  }

  // daily
  if (after_expiry) {
    const auto belongs_to = r.latest_opened(last->started_at, &rules::run_period_on);
    if (belongs_to && retry < belongs_to->close) return retry;
  }
  const auto today = r.latest_opened(earliest, &rules::run_period_on);
  const bool done = today && last && last->started_at >= today->open;
  if (today && !done && earliest < today->close) return earliest;
  return r.first_opening_from(earliest + 1, &rules::run_period_on);
}

bool schedule::in_window(epoch_ms t) const {
  return !rules_->has_window() || rules_->window_containing(t).has_value();
}

std::optional<epoch_ms> schedule::window_closes(epoch_ms t) const {
  if (auto window = rules_->window_containing(t)) return window->close;
  return std::nullopt;
}

epoch_ms schedule::first_status_check(epoch_ms started_at) const {
  return started_at + rules_->check_after.count();
}

epoch_ms schedule::next_status_check(epoch_ms last_check) const {
  return last_check + rules_->check_after.count();
}

bool schedule::expired(epoch_ms started_at, epoch_ms now) const {
  return now - started_at >= rules_->check_duration.count();
}

std::string schedule::describe() const {
  const auto& r = *rules_;
  switch (r.type) {
    case rules::kind::manual:
      return "manual only";
    case rules::kind::interval: {
      auto text = "every " + std::to_string(r.run_interval.count() / 60'000) + " min";
      if (r.has_window()) {
        text += " between " + r.start_text + " and " + r.stop_text + " " + r.zone_name;
      }
      return text;
    }
    case rules::kind::daily: {
      auto text = "daily at " + r.start_text + " " + r.zone_name;
      if (r.stop) text += ", if missed until " + r.stop_text;
      return text;
    }
  }
  return {};
}

std::string schedule::describe_time(epoch_ms t) const {
  const auto local = date::make_zoned(rules_->zone, date::floor<minutes>(to_sys(t)));
  return date::format("%F %R %Z", local);
}

}  // namespace connector::sync
