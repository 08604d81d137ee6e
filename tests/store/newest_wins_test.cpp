// Newest wins and coalescing, decided once above the engines: pure, no store.
#include "connector/store/newest_wins.hpp"

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

namespace connector::store {
namespace {

using json = nlohmann::json;

incoming_change change_with(std::string fields, std::optional<epoch_ms> modstamp) {
  incoming_change change;
  change.record_id = "005000000000001AAA";
  change.object_type = "User";
  change.fields_json = std::move(fields);
  change.modstamp = modstamp;
  return change;
}

incoming_change dataless(bool reread) {
  incoming_change change;
  change.record_id = "005000000000001AAA";
  change.object_type = "User";
  change.has_data = false;
  change.reread = reread;
  change.fields_json.clear();
  return change;
}

// A record the worker applied once (done), version 3, stamped 1000.
record_row settled() {
  record_row row;
  row.object_type = "User";
  row.fields_json = R"({"Email":"a@x.test","Title":"Lead"})";
  row.modstamp = 1000;
  row.version = 3;
  row.state = record_state::done;
  row.due_at = 50;
  row.waiting_since = std::nullopt;
  return row;
}

record_row waiting(record_state state) {
  auto row = settled();
  row.state = state;
  row.attempts = 2;
  row.last_error = "HTTP 503";
  row.waiting_since = 40;
  return row;
}

TEST(newest_wins, a_new_record_is_pending_at_version_one_since_it_arrived) {
  const auto decision =
      decide_intake(std::nullopt, change_with(R"({"Email":"a@x.test"})", 7), 99, false);
  ASSERT_EQ(decision.verdict, intake_verdict::applied);
  ASSERT_TRUE(decision.row);
  EXPECT_EQ(decision.row->version, 1);
  EXPECT_EQ(decision.row->state, record_state::pending);
  EXPECT_EQ(decision.row->fields_json, R"({"Email":"a@x.test"})");
  EXPECT_EQ(decision.row->modstamp, 7);
  EXPECT_EQ(decision.row->due_at, 99);
  EXPECT_EQ(decision.row->waiting_since, 99);
  EXPECT_EQ(decision.row->object_type, "User");
  EXPECT_FALSE(decision.row->needs_reread);
}

TEST(newest_wins, a_newer_stamp_merges_over_the_stored_fields_and_keeps_cleared_ones) {
  const auto decision =
      decide_intake(settled(), change_with(R"({"Title":null,"Phone":"1"})", 2000), 99, false);
  ASSERT_EQ(decision.verdict, intake_verdict::applied);
  EXPECT_EQ(json::parse(decision.row->fields_json),
            json::parse(R"({"Email":"a@x.test","Title":null,"Phone":"1"})"));
  EXPECT_EQ(decision.row->modstamp, 2000);
  EXPECT_EQ(decision.row->version, 4);
  EXPECT_EQ(decision.row->state, record_state::pending);
  EXPECT_EQ(decision.row->due_at, 99);
  EXPECT_EQ(decision.row->waiting_since, 99) << "a settled record starts waiting anew";
}

TEST(newest_wins, an_equal_or_unknown_stamp_lets_the_later_arrival_win) {
  for (const auto stamp : {std::optional<epoch_ms>(1000), std::optional<epoch_ms>()}) {
    const auto decision =
        decide_intake(settled(), change_with(R"({"Title":"CTO"})", stamp), 99, false);
    ASSERT_EQ(decision.verdict, intake_verdict::applied);
    EXPECT_EQ(json::parse(decision.row->fields_json)["Title"], "CTO");
    EXPECT_EQ(decision.row->modstamp, 1000) << "an unknown stamp keeps the stored one";
  }
  auto unstamped = settled();
  unstamped.modstamp.reset();
  const auto decision = decide_intake(unstamped, change_with(R"({"Title":"CTO"})", 5), 99, false);
  ASSERT_EQ(decision.verdict, intake_verdict::applied);
  EXPECT_EQ(decision.row->modstamp, 5);
}

TEST(newest_wins, an_older_stamp_is_stale_and_changes_nothing) {
  for (const auto state : {record_state::done, record_state::pending, record_state::retrying,
                           record_state::dead, record_state::held}) {
    auto stored = state == record_state::done ? settled() : waiting(state);
    const auto decision = decide_intake(stored, change_with(R"({"Title":"Old"})", 999), 99, false);
    EXPECT_EQ(decision.verdict, intake_verdict::stale) << to_string(state);
    EXPECT_FALSE(decision.row) << to_string(state);
  }
}

TEST(newest_wins, a_stale_change_requeues_a_waiting_record_only_when_asked) {
  for (const auto state : {record_state::pending, record_state::retrying}) {
    const auto decision =
        decide_intake(waiting(state), change_with(R"({"Title":"Old"})", 999), 99, true);
    ASSERT_EQ(decision.verdict, intake_verdict::stale_requeued) << to_string(state);
    ASSERT_TRUE(decision.row);
    EXPECT_EQ(decision.row->fields_json, settled().fields_json) << "fields as they were";
    EXPECT_EQ(decision.row->modstamp, 1000);
    EXPECT_EQ(decision.row->version, 4);
    EXPECT_EQ(decision.row->state, record_state::pending);
    EXPECT_EQ(decision.row->attempts, 0);
    EXPECT_EQ(decision.row->last_error, "");
    EXPECT_EQ(decision.row->due_at, 99);
    EXPECT_EQ(decision.row->waiting_since, 40) << "still the first unapplied change's time";
  }
  // Settled, dead or held records are not waiting: a stale change leaves them alone.
  for (const auto state : {record_state::done, record_state::dead, record_state::held}) {
    auto stored = state == record_state::done ? settled() : waiting(state);
    const auto decision = decide_intake(stored, change_with("{}", 999), 99, true);
    EXPECT_EQ(decision.verdict, intake_verdict::stale) << to_string(state);
    EXPECT_FALSE(decision.row);
  }
}

TEST(newest_wins, a_waiting_record_keeps_when_its_oldest_change_arrived) {
  for (const auto state : {record_state::pending, record_state::retrying}) {
    const auto decision = decide_intake(waiting(state), change_with("{}", 2000), 99, false);
    ASSERT_TRUE(decision.row);
    EXPECT_EQ(decision.row->waiting_since, 40) << to_string(state);
    EXPECT_EQ(decision.row->attempts, 0) << "a new state starts its attempts afresh";
    EXPECT_EQ(decision.row->last_error, "");
  }
  auto unknown_since = waiting(record_state::pending);
  unknown_since.waiting_since.reset();
  EXPECT_EQ(decide_intake(unknown_since, change_with("{}", 2000), 99, false).row->waiting_since,
            99);
  // Dead and held records wait for the operator, not the worker: a new state starts anew.
  for (const auto state : {record_state::dead, record_state::held}) {
    const auto decision = decide_intake(waiting(state), change_with("{}", 2000), 99, false);
    EXPECT_EQ(decision.row->waiting_since, 99) << to_string(state);
    EXPECT_EQ(decision.row->state, record_state::pending);
  }
}

TEST(newest_wins, an_empty_object_type_keeps_the_stored_one) {
  auto change = change_with("{}", 2000);
  change.object_type.clear();
  EXPECT_EQ(decide_intake(settled(), change, 99, false).row->object_type, "User");
  change.object_type = "Contact";
  EXPECT_EQ(decide_intake(settled(), change, 99, false).row->object_type, "Contact");
}

TEST(newest_wins, a_change_without_data_is_never_stale_and_keeps_fields_and_stamp) {
  for (const bool reread : {false, true}) {
    const auto decision = decide_intake(settled(), dataless(reread), 99, false);
    ASSERT_EQ(decision.verdict, intake_verdict::applied);
    EXPECT_EQ(decision.row->fields_json, settled().fields_json);
    EXPECT_EQ(decision.row->modstamp, 1000);
    EXPECT_EQ(decision.row->version, 4);
    EXPECT_EQ(decision.row->state, record_state::pending);
    EXPECT_EQ(decision.row->needs_reread, reread);
  }
  const auto fresh = decide_intake(std::nullopt, dataless(true), 99, false);
  EXPECT_EQ(fresh.row->fields_json, "{}");
  EXPECT_FALSE(fresh.row->modstamp);
  EXPECT_TRUE(fresh.row->needs_reread);
  EXPECT_EQ(fresh.row->version, 1);
}

TEST(newest_wins, a_mark_to_reread_stays_until_a_read_is_saved) {
  auto marked = waiting(record_state::pending);
  marked.needs_reread = true;
  EXPECT_TRUE(decide_intake(marked, dataless(false), 99, false).row->needs_reread);
  EXPECT_TRUE(decide_intake(marked, change_with("{}", 2000), 99, false).row->needs_reread);
  const auto saved = decide_reread(marked, marked.version, R"({"Title":"Read"})", 1500, false);
  ASSERT_TRUE(saved);
  EXPECT_FALSE(saved->needs_reread);
}

TEST(newest_wins, a_read_of_an_older_version_is_not_saved) {
  auto marked = waiting(record_state::pending);
  marked.needs_reread = true;
  EXPECT_FALSE(decide_reread(marked, marked.version - 1, "{}", 5000, false));
  EXPECT_FALSE(decide_reread(marked, marked.version + 1, "{}", 5000, true));
}

TEST(newest_wins, a_read_merges_newest_over_stored_and_keeps_the_higher_stamp) {
  const auto stored = waiting(record_state::retrying);
  auto saved = decide_reread(stored, 3, R"({"Title":"Read","Phone":"2"})", 900, false);
  ASSERT_TRUE(saved);
  EXPECT_EQ(json::parse(saved->fields_json),
            json::parse(R"({"Email":"a@x.test","Title":"Read","Phone":"2"})"));
  EXPECT_EQ(saved->modstamp, 1000) << "a lower stamp read does not lower it";
  EXPECT_EQ(decide_reread(stored, 3, "{}", 1200, false)->modstamp, 1200);
  EXPECT_EQ(decide_reread(stored, 3, "{}", std::nullopt, false)->modstamp, 1000);
  // Its place in the queue is the state's: the read changes what is applied, not when.
  EXPECT_EQ(saved->version, 3);
  EXPECT_EQ(saved->state, record_state::retrying);
  EXPECT_EQ(saved->attempts, 2);
  EXPECT_EQ(saved->due_at, stored.due_at);
  EXPECT_EQ(saved->waiting_since, 40);
}

TEST(newest_wins, a_verified_read_replaces_fields_and_stamp_even_with_a_lower_one) {
  const auto stored = waiting(record_state::pending);
  auto saved = decide_reread(stored, 3, R"({"Title":"Read"})", 900, true);
  ASSERT_TRUE(saved);
  EXPECT_EQ(saved->fields_json, R"({"Title":"Read"})") << "nothing the notification said survives";
  EXPECT_EQ(saved->modstamp, 900);
  EXPECT_FALSE(decide_reread(stored, 3, "{}", std::nullopt, true)->modstamp) << "none read: none";
  // A later genuine notification at 950 is not stale against a forged stamp any more.
  EXPECT_EQ(decide_intake(*saved, change_with("{}", 950), 99, false).verdict,
            intake_verdict::applied);
}

}  // namespace
}  // namespace connector::store
