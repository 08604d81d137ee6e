// The schedule as a specification: when runs start, how a running one is supervised, what
// operators read, and which settings are refused. Times are injected as UTC date-times; the
// comments give the wall-clock time in the schedule's zone.
#include "connector/sync/schedule.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include <date/date.h>

namespace connector::sync {
namespace {

constexpr epoch_ms one_ms = 1;
constexpr epoch_ms minute = 60'000;

epoch_ms utc(int y, unsigned month, unsigned day, int h, int m, int s = 0) {
  using namespace std::chrono;
  const auto t = date::sys_days{date::year{y} / month / day} + hours{h} + minutes{m} + seconds{s};
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

config::schedule_settings settings(std::string run_type, std::optional<std::string> start = {},
                                   std::optional<std::string> stop = {}, std::string zone = "UTC") {
  config::schedule_settings s;
  s.run_type = std::move(run_type);
  s.start_work_time = std::move(start);
  s.stop_work_time = std::move(stop);
  s.time_zone = std::move(zone);
  s.run_interval_minutes = 60;
  s.check_sync_status_after_seconds = 45;
  s.check_sync_status_duration_minutes = 20;
  s.interval_after_expire_duration_minutes = 10;
  return s;
}

schedule make(const config::schedule_settings& s) {
  auto made = schedule::make(s);
  if (!made) throw std::runtime_error("schedule::make refused: " + made.error());
  return std::move(made).value();
}

previous_run ran(epoch_ms started, std::optional<epoch_ms> ended,
                 run_end end = run_end::succeeded) {
  return previous_run{started, ended, end};
}

// Europe/Berlin in June is CEST, UTC+2: the window 07:00–21:00 is 05:00Z–19:00Z.
schedule berlin_interval() {
  return make(settings("interval", "07:00", "21:00", "Europe/Berlin"));
}
schedule berlin_daily() {
  return make(settings("daily", "07:00", "21:00", "Europe/Berlin"));
}

// --- interval ----------------------------------------------------------------------------

TEST(ScheduleInterval, FirstRunIsRightAway) {
  const auto s = make(settings("interval"));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 10, 17), std::nullopt), utc(2026, 6, 10, 10, 17));
}

TEST(ScheduleInterval, NextRunIsThePreviousStartPlusTheInterval) {
  const auto s = make(settings("interval"));
  const auto last = ran(utc(2026, 6, 10, 10, 0), utc(2026, 6, 10, 10, 20));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 10, 20), last), utc(2026, 6, 10, 11, 0));
}

TEST(ScheduleInterval, ARunStillGoingIsCountedFromItsStart) {
  const auto s = make(settings("interval"));
  const auto last = ran(utc(2026, 6, 10, 10, 0), std::nullopt);
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 10, 40), last), utc(2026, 6, 10, 11, 0));
}

TEST(ScheduleInterval, SlotsMissedWhileDownRunNowAndOnlyOnce) {
  const auto s = make(settings("interval"));
  const auto before_outage = ran(utc(2026, 6, 10, 10, 0), utc(2026, 6, 10, 10, 20));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 15, 37), before_outage), utc(2026, 6, 10, 15, 37));

  const auto catch_up = ran(utc(2026, 6, 10, 15, 37), utc(2026, 6, 10, 15, 50));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 15, 50), catch_up), utc(2026, 6, 10, 16, 37));
}

TEST(ScheduleInterval, ARunLongerThanTheIntervalIsFollowedAtItsEndNotBefore) {
  const auto s = make(settings("interval"));
  const auto last = ran(utc(2026, 6, 10, 10, 0), utc(2026, 6, 10, 11, 30));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 11, 30), last), utc(2026, 6, 10, 11, 30));
  // Even when asked with a clock behind the recorded end.
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 11, 0), last), utc(2026, 6, 10, 11, 30));
}

TEST(ScheduleInterval, FailedAndStoppedRunsWaitTheNormalInterval) {
  const auto s = make(settings("interval"));
  for (const auto end :
       {run_end::succeeded, run_end::failed, run_end::stopped, run_end::stopped_by_safety_limit}) {
    const auto last = ran(utc(2026, 6, 10, 10, 0), utc(2026, 6, 10, 10, 5), end);
    EXPECT_EQ(s.next_run(utc(2026, 6, 10, 10, 5), last), utc(2026, 6, 10, 11, 0))
        << "run_end " << static_cast<int>(end);
  }
}

TEST(ScheduleInterval, FirstRunWaitsForTheWindowToOpen) {
  const auto s = berlin_interval();
  // 06:00 CEST → 07:00 CEST; 12:00 → at once; 21:30 → 07:00 the next day.
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 4, 0), std::nullopt), utc(2026, 6, 10, 5, 0));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 12, 0), std::nullopt), utc(2026, 6, 10, 12, 0));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 19, 30), std::nullopt), utc(2026, 6, 11, 5, 0));
}

TEST(ScheduleInterval, ASlotExactlyAtTheStopTimeMovesToTheNextOpening) {
  const auto s = berlin_interval();
  const auto at_20 = ran(utc(2026, 6, 10, 18, 0), utc(2026, 6, 10, 18, 10));  // 20:00 CEST
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 18, 10), at_20), utc(2026, 6, 11, 5, 0));
}

TEST(ScheduleInterval, ASlotOneMillisecondBeforeTheStopTimeRuns) {
  const auto s = berlin_interval();
  const auto last = ran(utc(2026, 6, 10, 18, 0) - one_ms, utc(2026, 6, 10, 18, 10));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 18, 10), last), utc(2026, 6, 10, 19, 0) - one_ms);
}

TEST(ScheduleInterval, ASlotExactlyAtTheStartTimeRuns) {
  const auto s = berlin_interval();
  const auto manual_at_6 = ran(utc(2026, 6, 10, 4, 0), utc(2026, 6, 10, 4, 10));  // 06:00 CEST
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 4, 10), manual_at_6), utc(2026, 6, 10, 5, 0));
}

TEST(ScheduleInterval, ACrossMidnightWindowReopensInTheEvening) {
  const auto s = make(settings("interval", "22:00", "06:00"));
  const auto at_0530 = ran(utc(2026, 6, 11, 5, 30), utc(2026, 6, 11, 5, 40));
  EXPECT_EQ(s.next_run(utc(2026, 6, 11, 5, 40), at_0530), utc(2026, 6, 11, 22, 0));
  const auto at_2330 = ran(utc(2026, 6, 10, 23, 30), utc(2026, 6, 10, 23, 40));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 23, 40), at_2330), utc(2026, 6, 11, 0, 30));
}

// --- the work window ---------------------------------------------------------------------

TEST(ScheduleWindow, OpensAtTheStartTimeAndIsClosedAtTheStopTime) {
  const auto s = berlin_interval();
  EXPECT_FALSE(s.in_window(utc(2026, 6, 10, 5, 0) - one_ms));
  EXPECT_TRUE(s.in_window(utc(2026, 6, 10, 5, 0)));
  EXPECT_TRUE(s.in_window(utc(2026, 6, 10, 19, 0) - one_ms));
  EXPECT_FALSE(s.in_window(utc(2026, 6, 10, 19, 0)));
}

TEST(ScheduleWindow, ClosesAtTheStopTimeOfTheWindowContainingTheTime) {
  const auto s = berlin_interval();
  EXPECT_EQ(s.window_closes(utc(2026, 6, 10, 5, 0)), utc(2026, 6, 10, 19, 0));
  EXPECT_EQ(s.window_closes(utc(2026, 6, 10, 12, 0)), utc(2026, 6, 10, 19, 0));
  EXPECT_EQ(s.window_closes(utc(2026, 6, 10, 19, 0)), std::nullopt);
  EXPECT_EQ(s.window_closes(utc(2026, 6, 10, 2, 0)), std::nullopt);
}

TEST(ScheduleWindow, WithoutStartAndStopEverythingIsInside) {
  const auto s = make(settings("interval"));
  EXPECT_TRUE(s.in_window(utc(2026, 6, 10, 3, 0)));
  EXPECT_TRUE(s.in_window(utc(2026, 6, 10, 23, 59)));
  EXPECT_EQ(s.window_closes(utc(2026, 6, 10, 3, 0)), std::nullopt);
}

TEST(ScheduleWindow, AWindowCrossingMidnightBelongsToTheDayItOpens) {
  const auto s = make(settings("interval", "22:00", "06:00"));
  EXPECT_FALSE(s.in_window(utc(2026, 6, 10, 22, 0) - one_ms));
  EXPECT_TRUE(s.in_window(utc(2026, 6, 10, 22, 0)));
  EXPECT_TRUE(s.in_window(utc(2026, 6, 11, 3, 0)));
  EXPECT_TRUE(s.in_window(utc(2026, 6, 11, 6, 0) - one_ms));
  EXPECT_FALSE(s.in_window(utc(2026, 6, 11, 6, 0)));
  EXPECT_FALSE(s.in_window(utc(2026, 6, 11, 12, 0)));
  EXPECT_EQ(s.window_closes(utc(2026, 6, 10, 23, 0)), utc(2026, 6, 11, 6, 0));
  EXPECT_EQ(s.window_closes(utc(2026, 6, 11, 3, 0)), utc(2026, 6, 11, 6, 0));
}

// --- supervision and expiry --------------------------------------------------------------

TEST(ScheduleSupervision, ChecksEveryCheckAfterSecondsFromTheStart) {
  const auto s = make(settings("interval"));  // check after 45 s, give up after 20 min
  const auto started = utc(2026, 6, 10, 10, 0);
  EXPECT_EQ(s.first_status_check(started), utc(2026, 6, 10, 10, 0, 45));
  EXPECT_EQ(s.next_status_check(utc(2026, 6, 10, 10, 0, 45)), utc(2026, 6, 10, 10, 1, 30));
}

TEST(ScheduleSupervision, ExpiresExactlyWhenTheDurationHasPassed) {
  const auto s = make(settings("interval"));
  const auto started = utc(2026, 6, 10, 10, 0);
  EXPECT_FALSE(s.expired(started, started + 20 * minute - one_ms));
  EXPECT_TRUE(s.expired(started, started + 20 * minute));
  EXPECT_TRUE(s.expired(started, started + 3 * 60 * minute));
}

TEST(ScheduleSupervision, AfterAnExpiredRunTheNextWaitsIntervalAfterExpire) {
  const auto s = make(settings("interval"));  // 10 min after expiry, not 60
  const auto expired = ran(utc(2026, 6, 10, 10, 0), utc(2026, 6, 10, 10, 20), run_end::expired);
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 10, 20), expired), utc(2026, 6, 10, 10, 30));
}

TEST(ScheduleSupervision, AnExpiredRunWithoutARecordedEndCountsFromItsExpiry) {
  const auto s = make(settings("interval"));
  const auto expired = ran(utc(2026, 6, 10, 10, 0), std::nullopt, run_end::expired);
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 10, 21), expired), utc(2026, 6, 10, 10, 30));
}

TEST(ScheduleSupervision, ARetryAfterExpiryOutsideTheWindowWaitsForItsOpening) {
  const auto s = berlin_interval();
  // 20:30 CEST, expired 20:50, retry 21:00 = the stop time → 07:00 the next day.
  const auto expired = ran(utc(2026, 6, 10, 18, 30), utc(2026, 6, 10, 18, 50), run_end::expired);
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 18, 50), expired), utc(2026, 6, 11, 5, 0));
}

TEST(ScheduleSupervision, ARetryMissedWhileDownRunsNow) {
  const auto s = make(settings("interval"));
  const auto expired = ran(utc(2026, 6, 10, 10, 0), utc(2026, 6, 10, 10, 20), run_end::expired);
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 14, 0), expired), utc(2026, 6, 10, 14, 0));
}

// --- daily -------------------------------------------------------------------------------

TEST(ScheduleDaily, RunsAtTheStartTime) {
  const auto s = berlin_daily();
  const auto yesterday = ran(utc(2026, 6, 9, 5, 0), utc(2026, 6, 9, 5, 20));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 1, 0), yesterday), utc(2026, 6, 10, 5, 0));
}

TEST(ScheduleDaily, AMissedStartStillInsideTheWindowRunsNow) {
  const auto s = berlin_daily();
  const auto yesterday = ran(utc(2026, 6, 9, 5, 0), utc(2026, 6, 9, 5, 20));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 8, 0), yesterday), utc(2026, 6, 10, 8, 0));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 19, 0) - one_ms, yesterday),
            utc(2026, 6, 10, 19, 0) - one_ms);
}

TEST(ScheduleDaily, AMissedStartAfterTheWindowWaitsForTheNextDay) {
  const auto s = berlin_daily();
  const auto yesterday = ran(utc(2026, 6, 9, 5, 0), utc(2026, 6, 9, 5, 20));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 19, 0), yesterday), utc(2026, 6, 11, 5, 0));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 21, 30), yesterday), utc(2026, 6, 11, 5, 0));
}

TEST(ScheduleDaily, OnceTheDaysRunStartedTheNextIsTomorrow) {
  const auto s = berlin_daily();
  const auto today = ran(utc(2026, 6, 10, 5, 0), utc(2026, 6, 10, 5, 20));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 5, 20), today), utc(2026, 6, 11, 5, 0));
}

TEST(ScheduleDaily, AManualRunAfterTheStartTimeCountsAsTheDaysRun) {
  const auto s = berlin_daily();
  const auto manual = ran(utc(2026, 6, 10, 9, 0), utc(2026, 6, 10, 9, 10));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 9, 10), manual), utc(2026, 6, 11, 5, 0));
}

TEST(ScheduleDaily, ARunThatStartedBeforeTheStartTimeDoesNotCount) {
  const auto s = berlin_daily();
  const auto early = ran(utc(2026, 6, 10, 4, 30), utc(2026, 6, 10, 5, 10));  // 06:30–07:10
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 5, 10), early), utc(2026, 6, 10, 5, 10));
}

TEST(ScheduleDaily, WithNoRunYetItRunsTodayIfTheWindowIsStillOpen) {
  const auto s = berlin_daily();
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 3, 0), std::nullopt), utc(2026, 6, 10, 5, 0));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 12, 0), std::nullopt), utc(2026, 6, 10, 12, 0));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 20, 0), std::nullopt), utc(2026, 6, 11, 5, 0));
}

TEST(ScheduleDaily, AfterAnExpiredRunItRetriesWhileTheWindowIsOpen) {
  const auto s = berlin_daily();
  const auto expired = ran(utc(2026, 6, 10, 5, 0), utc(2026, 6, 10, 5, 20), run_end::expired);
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 5, 20), expired), utc(2026, 6, 10, 5, 30));
}

TEST(ScheduleDaily, AfterAnExpiredRunTooLateForTheWindowItWaitsForTheNextDay) {
  const auto s = berlin_daily();
  // A retry that started 20:35 CEST and expired 20:55: 21:05 is past the stop time.
  const auto expired = ran(utc(2026, 6, 10, 18, 35), utc(2026, 6, 10, 18, 55), run_end::expired);
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 18, 55), expired), utc(2026, 6, 11, 5, 0));
}

TEST(ScheduleDaily, AnExpiredRunFromYesterdayDoesNotStopTodaysCatchUp) {
  const auto s = berlin_daily();
  const auto expired = ran(utc(2026, 6, 9, 18, 35), utc(2026, 6, 9, 18, 55), run_end::expired);
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 9, 0), expired), utc(2026, 6, 10, 9, 0));
}

TEST(ScheduleDaily, WithoutAStopTimeAMissedRunCatchesUpUntilTheNextStart) {
  const auto s = make(settings("daily", "02:30"));
  const auto yesterday = ran(utc(2026, 6, 9, 2, 30), utc(2026, 6, 9, 2, 50));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 2, 30) - one_ms, yesterday), utc(2026, 6, 10, 2, 30));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 23, 0), yesterday), utc(2026, 6, 10, 23, 0));
  const auto today = ran(utc(2026, 6, 10, 23, 0), utc(2026, 6, 10, 23, 20));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 23, 20), today), utc(2026, 6, 11, 2, 30));
  EXPECT_TRUE(s.in_window(utc(2026, 6, 10, 12, 0)));
  EXPECT_EQ(s.window_closes(utc(2026, 6, 10, 12, 0)), std::nullopt);
}

TEST(ScheduleDaily, ACrossMidnightWindowCatchesUpAfterMidnight) {
  const auto s = make(settings("daily", "22:00", "02:00"));
  const auto two_days_ago = ran(utc(2026, 6, 9, 22, 0), utc(2026, 6, 9, 22, 30));
  EXPECT_EQ(s.next_run(utc(2026, 6, 11, 1, 0), two_days_ago), utc(2026, 6, 11, 1, 0));
  EXPECT_EQ(s.next_run(utc(2026, 6, 11, 2, 0), two_days_ago), utc(2026, 6, 11, 22, 0));
}

// --- daylight saving and far-off zones ---------------------------------------------------

TEST(ScheduleDst, BerlinSpringForwardRunsAtTheFirstInstantAfterTheGap) {
  const auto s = make(settings("daily", "02:30", std::nullopt, "Europe/Berlin"));
  // 29 March 2026: 02:00 CET jumps to 03:00 CEST (01:00Z); 02:30 does not exist.
  const auto saturday = ran(utc(2026, 3, 28, 1, 30), utc(2026, 3, 28, 1, 40));  // 02:30 CET
  const auto next = s.next_run(utc(2026, 3, 28, 12, 0), saturday);
  EXPECT_EQ(next, utc(2026, 3, 29, 1, 0));
  EXPECT_EQ(s.describe_time(*next), "2026-03-29 03:00 CEST");

  const auto sunday = ran(utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 10));
  EXPECT_EQ(s.next_run(utc(2026, 3, 29, 1, 10), sunday), utc(2026, 3, 30, 0, 30));  // CEST
}

TEST(ScheduleDst, BerlinFallBackRunsOnceAtTheFirstOccurrence) {
  const auto s = make(settings("daily", "02:30", std::nullopt, "Europe/Berlin"));
  // 25 October 2026: 03:00 CEST falls back to 02:00 CET (01:00Z); 02:30 happens twice.
  const auto saturday = ran(utc(2026, 10, 24, 0, 30), utc(2026, 10, 24, 0, 40));
  const auto next = s.next_run(utc(2026, 10, 24, 12, 0), saturday);
  EXPECT_EQ(next, utc(2026, 10, 25, 0, 30));
  EXPECT_EQ(s.describe_time(*next), "2026-10-25 02:30 CEST");

  const auto sunday = ran(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 0, 40));
  // Asked at the second 02:30 (CET): not again today.
  EXPECT_EQ(s.next_run(utc(2026, 10, 25, 1, 30), sunday), utc(2026, 10, 26, 1, 30));
}

TEST(ScheduleDst, BerlinWindowEdgesInTheGapAndTheOverlap) {
  // 02:30–04:00 on the spring-forward day opens when the gap ends, 03:00 CEST (01:00Z).
  const auto spring = make(settings("interval", "02:30", "04:00", "Europe/Berlin"));
  EXPECT_FALSE(spring.in_window(utc(2026, 3, 29, 1, 0) - one_ms));
  EXPECT_TRUE(spring.in_window(utc(2026, 3, 29, 1, 0)));
  EXPECT_EQ(spring.window_closes(utc(2026, 3, 29, 1, 0)), utc(2026, 3, 29, 2, 0));

  // 01:00–02:30 on the fall-back day closes at the first 02:30 (00:30Z).
  const auto fall = make(settings("interval", "01:00", "02:30", "Europe/Berlin"));
  EXPECT_EQ(fall.window_closes(utc(2026, 10, 24, 23, 30)), utc(2026, 10, 25, 0, 30));
  EXPECT_FALSE(fall.in_window(utc(2026, 10, 25, 1, 15)));  // 02:15 CET, the second time
}

TEST(ScheduleDst, NewYorkSpringForward) {
  const auto s = make(settings("daily", "02:15", std::nullopt, "America/New_York"));
  // 8 March 2026: 02:00 EST jumps to 03:00 EDT (07:00Z).
  const auto saturday = ran(utc(2026, 3, 7, 7, 15), utc(2026, 3, 7, 7, 30));  // 02:15 EST
  const auto next = s.next_run(utc(2026, 3, 7, 20, 0), saturday);
  EXPECT_EQ(next, utc(2026, 3, 8, 7, 0));
  EXPECT_EQ(s.describe_time(*next), "2026-03-08 03:00 EDT");
}

TEST(ScheduleDst, NewYorkFallBack) {
  const auto s = make(settings("daily", "01:30", std::nullopt, "America/New_York"));
  // 1 November 2026: 02:00 EDT falls back to 01:00 EST (06:00Z); 01:30 happens twice.
  const auto saturday = ran(utc(2026, 10, 31, 5, 30), utc(2026, 10, 31, 5, 45));
  EXPECT_EQ(s.next_run(utc(2026, 10, 31, 12, 0), saturday), utc(2026, 11, 1, 5, 30));
  const auto sunday = ran(utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 5, 45));
  EXPECT_EQ(s.next_run(utc(2026, 11, 1, 6, 30), sunday), utc(2026, 11, 2, 6, 30));
}

TEST(ScheduleDst, TheIntervalCountsRealMinutesAcrossATransition) {
  const auto s = make(settings("interval", std::nullopt, std::nullopt, "America/New_York"));
  const auto at_0130_edt = ran(utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 5, 35));
  const auto next = s.next_run(utc(2026, 11, 1, 5, 35), at_0130_edt);
  EXPECT_EQ(next, utc(2026, 11, 1, 6, 30));
  EXPECT_EQ(s.describe_time(*next), "2026-11-01 01:30 EST");
}

TEST(ScheduleZones, KolkataHalfHourOffset) {
  const auto s = make(settings("daily", "07:00", "10:00", "Asia/Kolkata"));  // UTC+05:30
  const auto yesterday = ran(utc(2026, 6, 9, 1, 30), utc(2026, 6, 9, 1, 45));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 0, 0), yesterday), utc(2026, 6, 10, 1, 30));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 3, 0), yesterday), utc(2026, 6, 10, 3, 0));
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 4, 30), yesterday), utc(2026, 6, 11, 1, 30));
  EXPECT_FALSE(s.in_window(utc(2026, 6, 10, 1, 30) - one_ms));
  EXPECT_TRUE(s.in_window(utc(2026, 6, 10, 1, 30)));
  EXPECT_EQ(s.window_closes(utc(2026, 6, 10, 2, 0)), utc(2026, 6, 10, 4, 30));
  EXPECT_EQ(s.describe_time(utc(2026, 6, 10, 1, 30)), "2026-06-10 07:00 IST");
}

TEST(ScheduleZones, AucklandDaysStartOnTheUtcDayBefore) {
  // NZDT is UTC+13: 07:00 on 30 November is 18:00Z on the 29th.
  const auto s = make(settings("daily", "07:00", "21:00", "Pacific/Auckland"));
  const auto nov_29 = ran(utc(2026, 11, 28, 18, 0), utc(2026, 11, 28, 18, 30));
  // 18:00 local on the 29th: today's run is done.
  EXPECT_EQ(s.next_run(utc(2026, 11, 29, 5, 0), nov_29), utc(2026, 11, 29, 18, 0));
  // 09:00 local on the 30th, service was down at 07:00: now.
  EXPECT_EQ(s.next_run(utc(2026, 11, 29, 20, 0), nov_29), utc(2026, 11, 29, 20, 0));
  EXPECT_TRUE(s.in_window(utc(2026, 11, 29, 23, 30)));
  EXPECT_EQ(s.window_closes(utc(2026, 11, 29, 18, 0)), utc(2026, 11, 30, 8, 0));
  EXPECT_FALSE(s.in_window(utc(2026, 11, 30, 8, 0)));
  EXPECT_EQ(s.describe_time(utc(2026, 11, 29, 18, 0)), "2026-11-30 07:00 NZDT");
}

TEST(ScheduleZones, AucklandSpringForward) {
  const auto s = make(settings("daily", "02:30", std::nullopt, "Pacific/Auckland"));
  // 27 September 2026: 02:00 NZST jumps to 03:00 NZDT (14:00Z on the 26th).
  const auto saturday = ran(utc(2026, 9, 25, 14, 30), utc(2026, 9, 25, 14, 45));
  const auto next = s.next_run(utc(2026, 9, 26, 0, 0), saturday);
  EXPECT_EQ(next, utc(2026, 9, 26, 14, 0));
  EXPECT_EQ(s.describe_time(*next), "2026-09-27 03:00 NZDT");
}

// --- for operators -----------------------------------------------------------------------

TEST(ScheduleDescribe, OneLinePerRunType) {
  EXPECT_EQ(berlin_interval().describe(), "every 60 min between 07:00 and 21:00 Europe/Berlin");
  auto every_15 = settings("interval");
  every_15.run_interval_minutes = 15;
  EXPECT_EQ(make(every_15).describe(), "every 15 min");
  EXPECT_EQ(berlin_daily().describe(), "daily at 07:00 Europe/Berlin, if missed until 21:00");
  EXPECT_EQ(make(settings("daily", "02:30")).describe(), "daily at 02:30 UTC");
  EXPECT_EQ(make(settings("manual")).describe(), "manual only");
}

TEST(ScheduleDescribe, TimesInTheSchedulesZoneToTheMinute) {
  const auto s = berlin_daily();
  EXPECT_EQ(s.describe_time(utc(2026, 11, 29, 6, 0)), "2026-11-29 07:00 CET");
  EXPECT_EQ(s.describe_time(utc(2026, 11, 29, 6, 0, 59) + 999), "2026-11-29 07:00 CET");
  EXPECT_EQ(s.describe_time(utc(2026, 6, 10, 5, 0)), "2026-06-10 07:00 CEST");
}

TEST(ScheduleManual, NeverSchedulesARun) {
  const auto s = make(settings("manual"));
  EXPECT_TRUE(s.manual_only());
  EXPECT_EQ(s.next_run(utc(2026, 6, 10, 10, 0), std::nullopt), std::nullopt);
  EXPECT_EQ(
      s.next_run(utc(2026, 6, 10, 10, 0), ran(utc(2026, 6, 9, 10, 0), utc(2026, 6, 9, 11, 0))),
      std::nullopt);
  EXPECT_FALSE(berlin_interval().manual_only());
  EXPECT_FALSE(berlin_daily().manual_only());
}

// --- validation --------------------------------------------------------------------------

struct refused {
  const char* name;
  config::schedule_settings settings;
  std::string error;
};

config::schedule_settings with(config::schedule_settings s,
                               void (*change)(config::schedule_settings&)) {
  change(s);
  return s;
}

class ScheduleValidation : public ::testing::TestWithParam<refused> {};

TEST_P(ScheduleValidation, NamesTheKey) {
  const auto made = schedule::make(GetParam().settings);
  ASSERT_FALSE(made) << "accepted";
  EXPECT_EQ(made.error(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Schedule, ScheduleValidation,
    ::testing::Values(
        refused{"unknown_run_type", settings("hourly"),
                "schedule.run_type: expected one of \"interval\", \"daily\", \"manual\", got "
                "\"hourly\""},
        refused{"zero_interval",
                with(settings("interval"), [](auto& s) { s.run_interval_minutes = 0; }),
                "schedule.run_interval_minutes: must be from 1 to 10080, got 0"},
        refused{"interval_over_a_week",
                with(settings("interval"), [](auto& s) { s.run_interval_minutes = 10081; }),
                "schedule.run_interval_minutes: must be from 1 to 10080, got 10081"},
        refused{"start_without_leading_zero", settings("daily", "7:00"),
                "schedule.start_work_time: expected \"HH:MM\" (00:00 to 23:59), got \"7:00\""},
        refused{"stop_at_24", settings("interval", "07:00", "24:00"),
                "schedule.stop_work_time: expected \"HH:MM\" (00:00 to 23:59), got \"24:00\""},
        refused{"minute_60", settings("daily", "07:60"),
                "schedule.start_work_time: expected \"HH:MM\" (00:00 to 23:59), got \"07:60\""},
        refused{"misspelt_zone", settings("daily", "07:00", std::nullopt, "Europe/Berlim"),
                "schedule.time_zone: unknown time zone \"Europe/Berlim\"; did you mean "
                "\"Europe/Berlin\"?"},
        refused{"zone_in_lower_case", settings("manual", std::nullopt, std::nullopt, "utc"),
                "schedule.time_zone: unknown time zone \"utc\"; did you mean \"UTC\"?"},
        refused{"made_up_zone", settings("manual", std::nullopt, std::nullopt, "Mars/Olympus"),
                "schedule.time_zone: unknown time zone \"Mars/Olympus\" (not an IANA name in "
                "the zone database)"},
        refused{"path_as_zone", settings("manual", std::nullopt, std::nullopt, "../../etc/passwd"),
                "schedule.time_zone: unknown time zone \"../../etc/passwd\" (not an IANA name in "
                "the zone database)"},
        refused{"zero_check_after",
                with(settings("interval"), [](auto& s) { s.check_sync_status_after_seconds = 0; }),
                "schedule.check_sync_status_after_seconds: must be at least 1, got 0"},
        refused{
            "zero_check_duration",
            with(settings("interval"), [](auto& s) { s.check_sync_status_duration_minutes = 0; }),
            "schedule.check_sync_status_duration_minutes: must be at least 1, got 0"},
        refused{"negative_interval_after_expire",
                with(settings("interval"),
                     [](auto& s) { s.interval_after_expire_duration_minutes = -5; }),
                "schedule.interval_after_expire_duration_minutes: must be at least 1, got -5"},
        refused{"stop_without_start", settings("interval", std::nullopt, "21:00"),
                "schedule.start_work_time: required with schedule.stop_work_time"},
        refused{"daily_without_start", settings("daily"),
                "schedule.start_work_time: required when run_type is \"daily\" (the time of "
                "the run)"},
        refused{"interval_start_without_stop", settings("interval", "07:00"),
                "schedule.stop_work_time: required with schedule.start_work_time (the work "
                "window)"},
        refused{"start_equals_stop", settings("daily", "07:00", "07:00"),
                "schedule.stop_work_time: must differ from start_work_time (an empty work "
                "window)"}),
    [](const ::testing::TestParamInfo<refused>& info) { return info.param.name; });

TEST(ScheduleValidationAccepts, TheDefaultsADailyStartAloneAndAnyIanaZone) {
  EXPECT_TRUE(schedule::make(config::schedule_settings{}));
  EXPECT_TRUE(schedule::make(settings("daily", "07:00")));
  EXPECT_TRUE(schedule::make(settings("manual", std::nullopt, std::nullopt, "Asia/Kathmandu")));
  EXPECT_TRUE(schedule::make(settings("interval", "00:00", "23:59", "US/Eastern")));  // a link
}

}  // namespace
}  // namespace connector::sync
