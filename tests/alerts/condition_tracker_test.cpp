// From what the service shows (store counts, run history, credentials state) to what the
// alert policy is told: events once, and whether each problem holds now.
#include <gtest/gtest.h>

#include <chrono>

#include "connector/alerts/monitor.hpp"

namespace connector::alerts {
namespace {

using namespace std::chrono_literals;

constexpr epoch_ms t0 = 1'772'532'000'000;  // 2026-03-03 10:00:00 UTC

store::run_record run(std::int64_t id, std::string status, std::string message = {}) {
  store::run_record r;
  r.id = id;
  r.trigger = "scheduled";
  r.status = std::move(status);
  r.message = std::move(message);
  r.ended_at = t0 + id * 1000;
  return r;
}

// Newest first, as list_runs gives them.
std::vector<store::run_record> runs(std::vector<store::run_record> oldest_first) {
  return {oldest_first.rbegin(), oldest_first.rend()};
}

TEST(condition_tracker, RunsThereBeforeTheFirstLookAreNotReportedAgain) {
  condition_tracker tracker(30min);
  service_readings r;
  r.runs = runs({run(1, "failed", "old failure")});
  auto found = tracker.look(t0, r);
  EXPECT_TRUE(found[alert_kind::reconciliation].events.empty());
  EXPECT_TRUE(found[alert_kind::reconciliation].problem_now);
}

TEST(condition_tracker, EachRunThatDidNotSucceedIsOneEventInTheOrderTheyEnded) {
  condition_tracker tracker(30min);
  service_readings r;
  tracker.look(t0, r);
  r.runs =
      runs({run(1, "failed", "signing in to Salesforce failed: invalid_grant"), run(2, "expired"),
            run(3, "stopped_by_safety_limit", "40 deactivations > 25"), run(4, "running")});
  auto found = tracker.look(t0 + 10'000, r);
  const auto& events = found[alert_kind::reconciliation].events;
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].text,
            "run 1 (scheduled) failed: signing in to Salesforce failed: invalid_grant");
  EXPECT_EQ(events[0].at, t0 + 1000);
  EXPECT_EQ(events[1].text, "run 2 (scheduled) expired");
  EXPECT_EQ(events[2].text,
            "run 3 (scheduled) was stopped by the safety limit: 40 deactivations > 25");
  EXPECT_TRUE(found[alert_kind::reconciliation].problem_now);

  // Seen once only; run 4 ends well, an operator's stop changes nothing.
  r.runs = runs({run(1, "failed"), run(2, "expired"), run(3, "stopped_by_safety_limit"),
                 run(4, "succeeded"), run(5, "stopped")});
  found = tracker.look(t0 + 20'000, r);
  EXPECT_TRUE(found[alert_kind::reconciliation].events.empty());
  EXPECT_FALSE(found[alert_kind::reconciliation].problem_now);
  EXPECT_EQ(found[alert_kind::reconciliation].recovery_text, "run 4 (scheduled) succeeded.");
}

TEST(condition_tracker, NewlyHeldUsersAreAnEventWithTheReasonAndClearWhenNoneIsHeld) {
  condition_tracker tracker(30min);
  service_readings r;
  auto found = tracker.look(t0, r);
  EXPECT_TRUE(found[alert_kind::held_by_safety_limit].events.empty());
  EXPECT_FALSE(found[alert_kind::held_by_safety_limit].problem_now);

  r.stats.held = 3;
  store::pending_record held;
  held.record_id = "005000000000003AAA";
  held.last_outcome =
      "held by the safety limit: 2 users were deactivated or deleted by notifications in the "
      "last hour, and sync.max_deactivations_per_hour allows 2; `connector release` lets it "
      "through";
  store::pending_record other = held;
  other.record_id = "005000000000004AAA";
  r.newest_held = {held, other, held};
  found = tracker.look(t0 + 1000, r);
  const auto& events = found[alert_kind::held_by_safety_limit].events;
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].text,
            "3 users held by the safety limit (3 held now), e.g. 005000000000003AAA, "
            "005000000000004AAA, 005000000000003AAA; " +
                held.last_outcome);
  EXPECT_TRUE(found[alert_kind::held_by_safety_limit].problem_now);

  // Still held, nothing new: no event, the problem lasts.
  found = tracker.look(t0 + 2000, r);
  EXPECT_TRUE(found[alert_kind::held_by_safety_limit].events.empty());
  EXPECT_TRUE(found[alert_kind::held_by_safety_limit].problem_now);

  // Released: the problem clears, with what shows it.
  r.stats.held = 0;
  r.newest_held.clear();
  found = tracker.look(t0 + 3000, r);
  EXPECT_TRUE(found[alert_kind::held_by_safety_limit].events.empty());
  EXPECT_FALSE(found[alert_kind::held_by_safety_limit].problem_now);
  EXPECT_NE(found[alert_kind::held_by_safety_limit].recovery_text.find("Nothing is held"),
            std::string::npos);
}

TEST(condition_tracker, MoreDeadLettersAreAnEventWithExamples) {
  condition_tracker tracker(30min);
  service_readings r;
  r.stats.dead_letters = 2;  // there before: no event, but the problem holds
  auto found = tracker.look(t0, r);
  EXPECT_TRUE(found[alert_kind::dead_letters].events.empty());
  EXPECT_TRUE(found[alert_kind::dead_letters].problem_now);

  r.stats.dead_letters = 3;
  store::pending_record dead;
  dead.record_id = "005000000000001AAA";
  dead.last_error = "iSpring rejected the user (HTTP 400): login is invalid";
  r.newest_dead = {dead, dead};
  found = tracker.look(t0 + 1000, r);
  ASSERT_EQ(found[alert_kind::dead_letters].events.size(), 1u);
  EXPECT_EQ(found[alert_kind::dead_letters].events[0].text,
            "1 user dead-lettered (3 dead letters now): 005000000000001AAA: iSpring rejected the "
            "user (HTTP 400): login is invalid");

  r.stats.dead_letters = 5;
  found = tracker.look(t0 + 2000, r);
  ASSERT_EQ(found[alert_kind::dead_letters].events.size(), 1u);
  EXPECT_EQ(found[alert_kind::dead_letters].events[0].text.rfind(
                "2 users dead-lettered (5 dead letters now), e.g. 005000000000001AAA: ", 0),
            0u)
      << found[alert_kind::dead_letters].events[0].text;

  r.stats.dead_letters = 0;  // retried
  r.newest_dead.clear();
  found = tracker.look(t0 + 3000, r);
  EXPECT_TRUE(found[alert_kind::dead_letters].events.empty());
  EXPECT_FALSE(found[alert_kind::dead_letters].problem_now);
}

TEST(condition_tracker, RefusedCredentialsAreOneEventUntilAcceptedAgain) {
  condition_tracker tracker(30min);
  service_readings r;
  r.ispring = credentials_state::snapshot{};  // unknown: no call yet
  r.salesforce = credentials_state::snapshot{};
  auto found = tracker.look(t0, r);
  EXPECT_FALSE(found[alert_kind::ispring_credentials].problem_now);

  r.ispring = {credentials_state::verdict::refused, "authentication failed (HTTP 401)", t0 + 500,
               1};
  found = tracker.look(t0 + 1000, r);
  ASSERT_EQ(found[alert_kind::ispring_credentials].events.size(), 1u);
  EXPECT_EQ(found[alert_kind::ispring_credentials].events[0].text,
            "iSpring Learn refused the credentials: authentication failed (HTTP 401)");
  EXPECT_EQ(found[alert_kind::ispring_credentials].events[0].at, t0 + 500);
  EXPECT_TRUE(found[alert_kind::ispring_credentials].problem_now);
  EXPECT_FALSE(found[alert_kind::salesforce_credentials].problem_now);

  found = tracker.look(t0 + 2000, r);
  EXPECT_TRUE(found[alert_kind::ispring_credentials].events.empty());
  EXPECT_TRUE(found[alert_kind::ispring_credentials].problem_now);

  r.ispring = {credentials_state::verdict::accepted, "authentication failed (HTTP 401)", t0 + 2500,
               1};
  found = tracker.look(t0 + 3000, r);
  EXPECT_FALSE(found[alert_kind::ispring_credentials].problem_now);
  EXPECT_EQ(found[alert_kind::ispring_credentials].recovery_text,
            "iSpring Learn accepted the credentials again at 2026-03-03 10:00:02 UTC.");
}

TEST(condition_tracker, CredentialsRefusedAtTheFirstLookAreReported) {
  condition_tracker tracker(30min);
  service_readings r;
  r.salesforce = {credentials_state::verdict::refused, "invalid_grant", t0, 1};
  auto found = tracker.look(t0, r);
  EXPECT_EQ(found[alert_kind::salesforce_credentials].events.size(), 1u);
  EXPECT_TRUE(found[alert_kind::salesforce_credentials].problem_now);
  // Not configured: never a problem.
  EXPECT_FALSE(found[alert_kind::ispring_credentials].problem_now);
}

TEST(condition_tracker, ARefusalAcceptedAgainBeforeTheLookIsStillReported) {
  condition_tracker tracker(30min);
  service_readings r;
  r.ispring = {credentials_state::verdict::accepted, "", t0, 0};
  tracker.look(t0, r);
  r.ispring = {credentials_state::verdict::accepted, "HTTP 401", t0 + 900, 1};
  auto found = tracker.look(t0 + 1000, r);
  ASSERT_EQ(found[alert_kind::ispring_credentials].events.size(), 1u);
  EXPECT_EQ(found[alert_kind::ispring_credentials].events[0].text,
            "iSpring Learn refused the credentials: HTTP 401");
  EXPECT_FALSE(found[alert_kind::ispring_credentials].problem_now);
  found = tracker.look(t0 + 2000, r);
  EXPECT_TRUE(found[alert_kind::ispring_credentials].events.empty());
}

TEST(condition_tracker, ChangesWaitingLongerThanTheThresholdAreOneEventUntilDrained) {
  condition_tracker tracker(30min);
  service_readings r;
  r.stats.pending = 4;
  r.stats.retrying = 2;
  r.stats.oldest_waiting_since = t0;
  auto found = tracker.look(t0 + 30 * 60'000, r);  // exactly the threshold: not yet
  EXPECT_TRUE(found[alert_kind::pending_age].events.empty());
  EXPECT_FALSE(found[alert_kind::pending_age].problem_now);

  found = tracker.look(t0 + 31 * 60'000, r);
  ASSERT_EQ(found[alert_kind::pending_age].events.size(), 1u);
  EXPECT_EQ(found[alert_kind::pending_age].events[0].text,
            "the oldest waiting change arrived 31 minutes ago (at 2026-03-03 10:00:00 UTC; "
            "threshold 30 minutes); 4 pending, 2 retrying");
  EXPECT_TRUE(found[alert_kind::pending_age].problem_now);
  found = tracker.look(t0 + 40 * 60'000, r);
  EXPECT_TRUE(found[alert_kind::pending_age].events.empty());

  r.stats = {};
  found = tracker.look(t0 + 41 * 60'000, r);
  EXPECT_FALSE(found[alert_kind::pending_age].problem_now);
  EXPECT_EQ(found[alert_kind::pending_age].recovery_text,
            "Nothing waits for iSpring Learn any more.");
}

TEST(condition_tracker, TheSettingsGiveTheIntervalAndTheThreshold) {
  config::alerts_settings s;
  EXPECT_EQ(policy_options(s).min_interval, 60min);
  EXPECT_EQ(pending_age_threshold(s), 30min);
  s.min_interval_seconds = 3;
  s.pending_age_threshold_minutes = 5;
  EXPECT_EQ(policy_options(s).min_interval, 3s);
  EXPECT_EQ(pending_age_threshold(s), 5min);
}

TEST(credentials_state, RemembersSinceWhenTheVerdictHolds) {
  credentials_state state;
  EXPECT_EQ(state.current().state, credentials_state::verdict::unknown);
  state.accepted(t0);
  state.accepted(t0 + 1000);
  EXPECT_EQ(state.current().since, t0);
  state.refused("HTTP 401", t0 + 2000);
  state.refused("HTTP 401 again", t0 + 3000);
  EXPECT_EQ(state.current().state, credentials_state::verdict::refused);
  EXPECT_EQ(state.current().since, t0 + 2000);
  EXPECT_EQ(state.current().reason, "HTTP 401 again");
  state.accepted(t0 + 4000);
  EXPECT_EQ(state.current().state, credentials_state::verdict::accepted);
  EXPECT_EQ(state.current().since, t0 + 4000);
  EXPECT_EQ(state.current().refusals, 2u);
  EXPECT_EQ(state.current().reason, "HTTP 401 again");  // the last refusal's
}

}  // namespace
}  // namespace connector::alerts
