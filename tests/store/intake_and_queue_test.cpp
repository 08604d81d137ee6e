// The store against every engine (and the SQLite file itself): durability before the ack,
// dedupe, newest-wins, the worker's queue, and what happens when a commit fails.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "connector/store/open.hpp"
#include "support/inbox_input.hpp"
#include "support/raw_sqlite.hpp"
#include "support/service.hpp"
#include "support/store_engines.hpp"

namespace connector::store {
namespace {

namespace fs = std::filesystem;
using testing::raw_sqlite;
using testing::inbox_input::change;
using testing::inbox_input::request;

constexpr const char* org = "00D5g000004XyZaEAK";
constexpr const char* user_a = "0055g00000AbCdEAAZ";
constexpr const char* user_b = "0055g00000AbCdFAAZ";

class intake_and_queue : public testing::store_test {
 protected:
  store_settings options() const { return located(); }
  std::unique_ptr<store> open() { return open_store(options()); }

  testing::temp_dir dir_;
};

// The SQLite file itself: its schema, its pages and its other readers.
class sqlite_file_intake_and_queue : public intake_and_queue {
 protected:
  bool sqlite_only() const override { return true; }
};

INSTANTIATE_STORE_ENGINES(intake_and_queue);

// --- schema and migrations ---------------------------------------------------------------

TEST_F(sqlite_file_intake_and_queue, a_version_1_database_is_migrated_keeping_its_records) {
  {
    auto box = open();
    ASSERT_TRUE(
        box->submit_and_wait(request({change("n1", user_a, R"({"LastName":"A"})")})).committed);
  }
  {
    // Back to what version 1 wrote.
    raw_sqlite raw(db_path());
    raw.exec(
        "DROP TABLE organization_binding; DROP TABLE settings_revisions; "
        "DROP TABLE group_additions; DROP TABLE group_claims; "
        "DROP TABLE instances; DROP TABLE leases; DROP TABLE schedule_slots; "
        "ALTER TABLE records DROP COLUMN claimed_by; ALTER TABLE records DROP COLUMN lease_until; "
        "DROP INDEX notifications_by_time; DROP TABLE department_links; "
        "DROP TABLE worker_retirements; ALTER TABLE records DROP COLUMN released_version; "
        "DROP TABLE user_keys; DROP TABLE user_history; DROP TABLE user_history_new; "
        "DROP TABLE run_plans; DROP TABLE runs; DROP TABLE links; "
        "ALTER TABLE records DROP COLUMN last_outcome; "
        "ALTER TABLE records DROP COLUMN waiting_since; "
        "ALTER TABLE records DROP COLUMN needs_reread; PRAGMA user_version = 1");
  }
  auto box = open();
  const auto record = box->find_record(org, user_a);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->last_outcome, "");
  box->set_link(org, user_a, "u-1");
  EXPECT_EQ(box->find_link(org, user_a), "u-1");
  // The record left pending by version 1 waits since its due time.
  EXPECT_EQ(box->stats().oldest_waiting_since, 1000);
  box.reset();
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.text("PRAGMA user_version"), "13");
}

TEST_F(sqlite_file_intake_and_queue, creates_schema_in_wal_mode_with_a_version) {
  { auto box = open(); }
  raw_sqlite raw(db_path());
  EXPECT_EQ(raw.text("PRAGMA user_version"), "13");
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  for (const char* table :
       {"notifications", "records", "counters", "links", "runs", "run_plans", "user_history",
        "department_links", "group_additions", "group_claims"}) {
    EXPECT_EQ(
        raw.text(std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") + table + "'"),
        "1")
        << table;
  }
}

TEST_P(intake_and_queue, reopening_keeps_data_and_does_not_migrate_again) {
  {
    auto box = open();
    ASSERT_TRUE(
        box->submit_and_wait(request({change("n1", user_a, R"({"Email":"a@x.io"})")})).committed);
  }
  auto box = open();
  EXPECT_TRUE(box->has_notification(org, "n1"));
  auto record = box->find_record(org, user_a);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->fields_json, R"({"Email":"a@x.io"})");
  EXPECT_EQ(box->stats().notifications_received, 1);
}

TEST_F(sqlite_file_intake_and_queue, refuses_a_schema_newer_than_it_knows) {
  { auto box = open(); }
  {
    raw_sqlite raw(db_path());
    raw.exec("PRAGMA user_version = 99");
  }
  try {
    open();
    FAIL() << "opened a newer schema";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("schema version 99"), std::string::npos) << message;
    EXPECT_NE(message.find(db_path()), std::string::npos) << message;
  }
  EXPECT_THROW(testing::sqlite_reader_of(db_path())->stats(), std::runtime_error);
}

TEST_F(sqlite_file_intake_and_queue, a_file_that_is_not_a_database_fails_with_the_path) {
  {
    std::FILE* f = std::fopen(db_path().c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("this is not a database, just some text long enough to be noticed by SQLite", f);
    std::fclose(f);
  }
  try {
    open();
    FAIL() << "opened garbage";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not a database"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(db_path()), std::string::npos) << e.what();
  }
  EXPECT_THROW(testing::sqlite_reader_of(db_path())->stats(), std::runtime_error);
}

// --- intake: commit before done, dedupe -----------------------------------------------------

TEST_P(intake_and_queue, done_reports_committed_only_after_the_data_is_readable) {
  auto box = open();
  std::promise<intake_outcome> promise;
  auto future = promise.get_future();
  box->submit(request({change("n1", user_a, R"({"Email":"a@x.io"})", 5)}),
              [&](intake_outcome outcome) { promise.set_value(std::move(outcome)); });
  const intake_outcome outcome = future.get();
  EXPECT_TRUE(outcome.committed);
  EXPECT_EQ(outcome.stored, 1u);
  EXPECT_EQ(outcome.duplicates, 0u);
  EXPECT_TRUE(outcome.error.empty());
  // Another connection sees it at once: committed means committed.
  EXPECT_EQ(open_reader()->stats().notifications_received, 1);
  auto record = box->find_record(org, user_a);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->object_type, "User");
  EXPECT_EQ(record->modstamp, 5);
  EXPECT_EQ(record->version, 1);
  EXPECT_EQ(record->state, record_state::pending);
  EXPECT_EQ(record->due_at, 1000);
}

TEST_F(sqlite_file_intake_and_queue, acked_data_survives_a_crash_without_close) {
  const pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    auto box = open();
    for (int i = 0; i < 10; ++i) {
      const auto id = std::to_string(i);
      if (!box->submit_and_wait(request({change("n" + id, "rec" + id, "{}")})).committed) {
        _exit(1);
      }
    }
    _exit(0);  // like kill -9 after the acks: no destructor, no checkpoint, WAL left behind
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(testing::sqlite_reader_of(db_path())->stats().notifications_received, 10);
  auto box = open();
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(box->has_notification(org, "n" + std::to_string(i)));
}

TEST_P(intake_and_queue, duplicate_within_one_request_is_stored_once) {
  auto box = open();
  auto outcome = box->submit_and_wait(request(
      {change("n1", user_a, R"({"Title":"A"})"), change("n1", user_a, R"({"Title":"B"})")}));
  ASSERT_TRUE(outcome.committed);
  EXPECT_EQ(outcome.stored, 1u);
  EXPECT_EQ(outcome.duplicates, 1u);
  EXPECT_EQ(box->find_record(org, user_a)->fields_json, R"({"Title":"A"})");
  EXPECT_EQ(box->find_record(org, user_a)->version, 1);
  auto stats = box->stats();
  EXPECT_EQ(stats.notifications_received, 1);
  EXPECT_EQ(stats.duplicates_ignored, 1);
}

TEST_P(intake_and_queue, duplicate_across_requests_and_reopen_is_acked_not_applied) {
  {
    auto box = open();
    ASSERT_EQ(box->submit_and_wait(request({change("n1", user_a, R"({"Title":"A"})")})).stored, 1u);
    auto again = box->submit_and_wait(request({change("n1", user_a, R"({"Title":"B"})")}));
    EXPECT_TRUE(again.committed);
    EXPECT_EQ(again.stored, 0u);
    EXPECT_EQ(again.duplicates, 1u);
  }
  auto box = open();
  auto after_reopen = box->submit_and_wait(request({change("n1", user_a, R"({"Title":"C"})")}));
  EXPECT_TRUE(after_reopen.committed) << after_reopen.error;
  EXPECT_EQ(after_reopen.duplicates, 1u);
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->fields_json, R"({"Title":"A"})");
  EXPECT_EQ(record->version, 1);
  EXPECT_EQ(box->stats().duplicates_ignored, 2);
}

TEST_P(intake_and_queue, same_notification_id_in_another_organization_is_not_a_duplicate) {
  auto box = open();
  ASSERT_TRUE(box->submit_and_wait(request({change("n1", user_a, "{}")})).committed);
  auto other = request({change("n1", user_a, "{}")});
  other.organization_id = "00D000000000001AAA";
  EXPECT_EQ(box->submit_and_wait(other).stored, 1u);
  EXPECT_TRUE(box->find_record("00D000000000001AAA", user_a));
}

TEST_P(intake_and_queue, concurrent_requests_with_the_same_id_store_it_once) {
  auto box = open();
  std::atomic<int> stored{0};
  std::atomic<int> duplicates{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto outcome = box->submit_and_wait(request({change("same", user_a, "{}")}));
      EXPECT_TRUE(outcome.committed);
      stored += static_cast<int>(outcome.stored);
      duplicates += static_cast<int>(outcome.duplicates);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(stored, 1);
  EXPECT_EQ(duplicates, 7);
}

// --- newest state wins ----------------------------------------------------------------------

TEST_P(intake_and_queue, an_older_modstamp_arriving_late_does_not_overwrite) {
  auto box = open();
  box->submit_and_wait(request({change("n2", user_a, R"({"Title":"new"})", 2000)}));
  auto late = box->submit_and_wait(request({change("n1", user_a, R"({"Title":"old"})", 1000)}));
  EXPECT_TRUE(late.committed);
  EXPECT_EQ(late.stored, 1u);  // remembered for dedupe even though it lost
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->fields_json, R"({"Title":"new"})");
  EXPECT_EQ(record->modstamp, 2000);
  EXPECT_EQ(record->version, 1);
  EXPECT_TRUE(box->has_notification(org, "n1"));
}

TEST_P(intake_and_queue, a_newer_modstamp_wins_and_bumps_the_version) {
  auto box = open();
  box->submit_and_wait(request({change("n1", user_a, R"({"Title":"old"})", 1000)}));
  box->submit_and_wait(request({change("n2", user_a, R"({"Title":"new"})", 2000)}, 1500));
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->fields_json, R"({"Title":"new"})");
  EXPECT_EQ(record->modstamp, 2000);
  EXPECT_EQ(record->version, 2);
  EXPECT_EQ(record->due_at, 1500);
}

TEST_P(intake_and_queue, an_equal_modstamp_lets_the_later_arrival_win) {
  auto box = open();
  box->submit_and_wait(request({change("n1", user_a, R"({"Title":"first"})", 1000),
                                change("n2", user_a, R"({"Title":"second"})", 1000)}));
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->fields_json, R"({"Title":"second"})");
  EXPECT_EQ(record->version, 2);
}

TEST_P(intake_and_queue, a_missing_modstamp_falls_back_to_arrival_order) {
  auto box = open();
  // Stored without a stamp, incoming with one: the stamped state wins.
  box->submit_and_wait(request({change("n1", user_a, R"({"Title":"unstamped"})")}));
  box->submit_and_wait(request({change("n2", user_a, R"({"Title":"stamped"})", 500)}));
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->fields_json, R"({"Title":"stamped"})");
  EXPECT_EQ(record->modstamp, 500);
  // Incoming without a stamp over a stamped state: nothing to compare, arrival order wins,
  // and the stored stamp stays as the reference for later comparisons.
  box->submit_and_wait(request({change("n3", user_a, R"({"Title":"later"})")}));
  record = box->find_record(org, user_a);
  EXPECT_EQ(record->fields_json, R"({"Title":"later"})");
  EXPECT_EQ(record->modstamp, 500);
  EXPECT_EQ(record->version, 3);
}

TEST_P(intake_and_queue, incoming_fields_merge_over_stored_ones) {
  auto box = open();
  box->submit_and_wait(
      request({change("n1", user_a, R"({"Email":"a@x.io","Title":"Dev","Department":"R&D"})", 1)}));
  // Change events carry only what changed.
  box->submit_and_wait(request({change("n2", user_a, R"({"Title":"Lead"})", 2)}));
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(nlohmann::json::parse(record->fields_json),
            nlohmann::json::parse(R"({"Department":"R&D","Email":"a@x.io","Title":"Lead"})"));
}

TEST_P(intake_and_queue, a_null_value_is_kept_as_null) {
  auto box = open();
  box->submit_and_wait(request({change("n1", user_a, R"({"Email":"a@x.io","Title":"Dev"})", 1)}));
  box->submit_and_wait(request({change("n2", user_a, R"({"Title":null})", 2)}));
  const auto fields = nlohmann::json::parse(box->find_record(org, user_a)->fields_json);
  EXPECT_EQ(fields, nlohmann::json::parse(R"({"Email":"a@x.io","Title":null})"));
  ASSERT_TRUE(fields.contains("Title"));
  EXPECT_TRUE(fields["Title"].is_null());
}

TEST_P(intake_and_queue, malformed_or_non_object_fields_are_stored_as_an_empty_object) {
  auto box = open();
  auto outcome = box->submit_and_wait(
      request({change("n1", user_a, R"({"Email":)"), change("n2", user_b, R"(["not","object"])")}));
  EXPECT_TRUE(outcome.committed);
  EXPECT_EQ(box->find_record(org, user_a)->fields_json, "{}");
  EXPECT_EQ(box->find_record(org, user_b)->fields_json, "{}");
  // And a malformed update leaves good stored fields alone.
  box->submit_and_wait(request({change("n3", user_a, R"({"Title":"Dev"})")}));
  box->submit_and_wait(request({change("n4", user_a, "\xff\xfe garbage")}));
  EXPECT_EQ(box->find_record(org, user_a)->fields_json, R"({"Title":"Dev"})");
}

TEST_F(sqlite_file_intake_and_queue,
       a_record_stored_with_corrupt_json_is_treated_as_empty_on_merge) {
  {
    auto box = open();
    box->submit_and_wait(request({change("n1", user_a, R"({"Title":"Dev"})")}));
  }
  {
    raw_sqlite raw(db_path());
    raw.exec("UPDATE records SET fields_json = 'garbage{'");
  }
  auto box = open();
  auto outcome = box->submit_and_wait(request({change("n2", user_a, R"({"Email":"a@x.io"})")}));
  EXPECT_TRUE(outcome.committed);
  EXPECT_EQ(box->find_record(org, user_a)->fields_json, R"({"Email":"a@x.io"})");
}

// --- deleted before delivery, empty record ids -----------------------------------------------

TEST_P(intake_and_queue, no_data_for_a_known_record_keeps_fields_and_requeues_it) {
  auto box = open();
  box->submit_and_wait(request({change("n1", user_a, R"({"Title":"Dev"})", 7)}));
  box->mark_done(org, user_a, 1);
  auto gone = change("n2", user_a, "");
  gone.has_data = false;
  auto outcome = box->submit_and_wait(request({gone}, 3000));
  EXPECT_EQ(outcome.stored, 1u);
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->fields_json, R"({"Title":"Dev"})");
  EXPECT_EQ(record->modstamp, 7);
  EXPECT_EQ(record->version, 2);
  EXPECT_EQ(record->state, record_state::pending);
  EXPECT_EQ(record->due_at, 3000);
}

TEST_P(intake_and_queue, no_data_for_an_unknown_record_creates_it_empty) {
  auto box = open();
  auto gone = change("n1", user_a, "whatever");
  gone.has_data = false;
  box->submit_and_wait(request({gone}));
  auto record = box->find_record(org, user_a);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->fields_json, "{}");
  EXPECT_EQ(record->modstamp, std::nullopt);
  EXPECT_EQ(record->state, record_state::pending);
}

TEST_P(intake_and_queue, an_empty_record_id_only_remembers_the_notification) {
  auto box = open();
  auto outcome = box->submit_and_wait(request({change("n1", "", R"({"Title":"x"})")}));
  EXPECT_EQ(outcome.stored, 1u);
  EXPECT_TRUE(box->has_notification(org, "n1"));
  EXPECT_TRUE(box->take_due(1'000'000, 10).empty());
  EXPECT_EQ(box->stats().pending, 0);
  EXPECT_EQ(box->submit_and_wait(request({change("n1", "", "{}")})).duplicates, 1u);
}

TEST_P(intake_and_queue, an_empty_notification_id_is_applied_every_time) {
  auto box = open();
  box->submit_and_wait(request({change("", user_a, R"({"Title":"A"})")}));
  auto outcome = box->submit_and_wait(request({change("", user_a, R"({"Title":"B"})")}));
  EXPECT_EQ(outcome.stored, 1u);
  EXPECT_EQ(box->find_record(org, user_a)->fields_json, R"({"Title":"B"})");
  EXPECT_FALSE(box->has_notification(org, ""));
}

TEST_P(intake_and_queue, an_empty_request_commits) {
  auto box = open();
  auto outcome = box->submit_and_wait(request({}));
  EXPECT_TRUE(outcome.committed);
  EXPECT_EQ(outcome.stored, 0u);
}

// --- the worker's side ------------------------------------------------------------------------

TEST_P(intake_and_queue, take_due_returns_due_records_oldest_first_and_claims_them) {
  auto box = open();
  box->submit_and_wait(request({change("n1", user_a, R"({"Title":"a"})")}, 300));
  box->submit_and_wait(request({change("n2", user_b, R"({"Title":"b"})")}, 100));
  box->submit_and_wait(request({change("n3", "0055g00000AbCdGAAZ", "{}")}, 900));

  auto due = box->take_due(500, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].record_id, user_b);
  EXPECT_EQ(due[1].record_id, user_a);
  EXPECT_EQ(due[1].fields_json, R"({"Title":"a"})");
  EXPECT_EQ(due[1].organization_id, org);

  // Taken is claimed (cluster.hpp): not handed out again, to this store either, until marked.
  EXPECT_EQ(box->take_due(500, 10).size(), 0u);
  EXPECT_EQ(box->take_due(900, 0).size(), 0u);
  const auto third = box->take_due(900, 10);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].record_id, "0055g00000AbCdGAAZ");
  box->mark_failed(org, user_a, due[1].version, "503", 900, false);
  const auto retried = box->take_due(900, 10);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].record_id, user_a);
  EXPECT_EQ(retried[0].attempts, 1);
}

TEST_P(intake_and_queue, mark_done_takes_the_record_out_of_the_queue) {
  auto box = open();
  box->submit_and_wait(request({change("n1", user_a, "{}")}));
  auto due = box->take_due(1000, 10);
  ASSERT_EQ(due.size(), 1u);
  box->mark_done(org, user_a, due[0].version);
  EXPECT_TRUE(box->take_due(1'000'000, 10).empty());
  EXPECT_EQ(box->find_record(org, user_a)->state, record_state::done);
  EXPECT_EQ(box->stats().pending, 0);
}

TEST_P(intake_and_queue, a_newer_state_arriving_while_applying_stays_pending) {
  auto box = open();
  box->submit_and_wait(request({change("n1", user_a, R"({"Title":"A"})", 1)}));
  auto taken = box->take_due(1000, 10);
  ASSERT_EQ(taken.size(), 1u);
  // The worker is talking to iSpring; meanwhile Salesforce sends a newer state.
  box->submit_and_wait(request({change("n2", user_a, R"({"Title":"B"})", 2)}, 1100));
  box->mark_done(org, user_a, taken[0].version);
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->state, record_state::pending);
  EXPECT_EQ(record->version, 2);
  auto again = box->take_due(2000, 10);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].fields_json, R"({"Title":"B"})");
}

TEST_P(intake_and_queue, mark_failed_backs_off_and_counts_attempts) {
  auto box = open();
  box->submit_and_wait(request({change("n1", user_a, "{}")}));
  box->mark_failed(org, user_a, 1, "iSpring 503", 5000, false);
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->state, record_state::retrying);
  EXPECT_EQ(record->attempts, 1);
  EXPECT_EQ(record->last_error, "iSpring 503");
  EXPECT_EQ(record->due_at, 5000);
  EXPECT_TRUE(box->take_due(4999, 10).empty());
  ASSERT_EQ(box->take_due(5000, 10).size(), 1u);
  EXPECT_EQ(box->stats().retrying, 1);
  EXPECT_EQ(box->stats().pending, 0);

  box->mark_failed(org, user_a, 1, "iSpring 503 again", 9000, false);
  EXPECT_EQ(box->find_record(org, user_a)->attempts, 2);
  // Success clears the failure history.
  box->mark_done(org, user_a, 1);
  record = box->find_record(org, user_a);
  EXPECT_EQ(record->state, record_state::done);
  EXPECT_EQ(record->attempts, 0);
  EXPECT_EQ(record->last_error, "");
}

TEST_P(intake_and_queue, a_failure_of_an_older_version_leaves_the_newer_state_fresh) {
  auto box = open();
  box->submit_and_wait(request({change("n1", user_a, "{}", 1)}));
  box->submit_and_wait(request({change("n2", user_a, R"({"Title":"B"})", 2)}, 1200));
  box->mark_failed(org, user_a, 1, "stale failure", 99'000, true);
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->state, record_state::pending);
  EXPECT_EQ(record->attempts, 0);
  EXPECT_EQ(record->last_error, "");
  EXPECT_EQ(record->due_at, 1200);
}

TEST_P(intake_and_queue, dead_letters_leave_the_queue_until_a_newer_state_arrives) {
  auto box = open();
  box->submit_and_wait(request({change("n1", user_a, "{}", 1)}));
  box->mark_failed(org, user_a, 1, "rejected: bad e-mail", 0, true);
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->state, record_state::dead);
  EXPECT_EQ(record->last_error, "rejected: bad e-mail");
  EXPECT_TRUE(box->take_due(1'000'000, 10).empty());
  EXPECT_EQ(box->stats().dead_letters, 1);

  box->submit_and_wait(request({change("n2", user_a, R"({"Email":"ok@x.io"})", 2)}, 2000));
  record = box->find_record(org, user_a);
  EXPECT_EQ(record->state, record_state::pending);
  EXPECT_EQ(record->attempts, 0);
  EXPECT_EQ(box->stats().dead_letters, 0);
}

TEST_P(intake_and_queue, find_record_of_an_unknown_record_is_empty) {
  auto box = open();
  EXPECT_FALSE(box->find_record(org, user_a));
  EXPECT_FALSE(box->has_notification(org, "n1"));
  box->mark_done(org, user_a, 1);  // nothing to do, and no error
}

// --- stats ----------------------------------------------------------------------------------

TEST_P(intake_and_queue, stats_count_every_kind) {
  auto box = open();
  auto empty = box->stats();
  EXPECT_EQ(empty.notifications_received, 0);
  EXPECT_EQ(empty.last_received_at, std::nullopt);

  box->submit_and_wait(
      request({change("n1", user_a, "{}"), change("n2", user_b, "{}"),
               change("n3", "0055g00000AbCdGAAZ", "{}"), change("n4", "0055g00000AbCdHAAZ", "{}")},
              4000));
  box->submit_and_wait(request({change("n1", user_a, "{}")}, 3000));  // an older duplicate
  box->mark_failed(org, user_b, 1, "x", 9000, false);
  box->mark_failed(org, "0055g00000AbCdGAAZ", 1, "y", 0, true);
  box->mark_done(org, "0055g00000AbCdHAAZ", 1);

  auto stats = box->stats();
  EXPECT_EQ(stats.notifications_received, 4);
  EXPECT_EQ(stats.duplicates_ignored, 1);
  EXPECT_EQ(stats.pending, 1);
  EXPECT_EQ(stats.retrying, 1);
  EXPECT_EQ(stats.dead_letters, 1);
  EXPECT_EQ(stats.last_received_at, 4000);
}

TEST_P(intake_and_queue, oldest_waiting_since_survives_retries_and_newer_states) {
  auto box = open();
  EXPECT_EQ(box->stats().oldest_waiting_since, std::nullopt);

  box->submit_and_wait(request({change("n1", user_a, R"({"LastName":"A"})")}, 1000));
  box->submit_and_wait(request({change("n2", user_b, R"({"LastName":"B"})")}, 2000));
  EXPECT_EQ(box->stats().oldest_waiting_since, 1000);

  // A retry moves due_at forward, not the time the change began to wait.
  box->mark_failed(org, user_a, 1, "iSpring answered 503", 60'000, false);
  EXPECT_EQ(box->stats().oldest_waiting_since, 1000);
  // Nor does a newer state of the same waiting record.
  box->submit_and_wait(request({change("n3", user_a, R"({"LastName":"A2"})")}, 3000));
  EXPECT_EQ(box->stats().oldest_waiting_since, 1000);

  box->mark_done(org, user_a, 2);
  EXPECT_EQ(box->stats().oldest_waiting_since, 2000);
  // A dead letter waits for the operator, not for the worker.
  box->mark_failed(org, user_b, 1, "gave up", 0, true);
  EXPECT_EQ(box->stats().oldest_waiting_since, std::nullopt);

  // Done, then changed again: it waits from the new change on; re-queued dead letters
  // wait from the re-queue.
  box->submit_and_wait(request({change("n4", user_a, R"({"LastName":"A3"})")}, 7000));
  EXPECT_EQ(box->stats().oldest_waiting_since, 7000);
  box->requeue_dead(user_b, 5000);
  EXPECT_EQ(box->stats().oldest_waiting_since, 5000);
}

TEST_P(intake_and_queue, a_gap_change_queues_the_record_for_a_reread_until_saved) {
  auto box = open();
  box->submit_and_wait(
      request({change("n1", user_a, R"({"LastName":"A","Title":"Old"})", 1000)}, 1000));
  box->mark_done(org, user_a, 1);

  incoming_change gap = change("gap-1", user_a, "{}");
  gap.has_data = false;
  gap.reread = true;
  ASSERT_TRUE(box->submit_and_wait(request({gap}, 2000)).committed);
  auto record = box->find_record(org, user_a);
  ASSERT_TRUE(record);
  EXPECT_TRUE(record->needs_reread);
  EXPECT_EQ(record->state, record_state::pending);
  EXPECT_EQ(record->version, 2);
  EXPECT_EQ(nlohmann::json::parse(record->fields_json)["Title"], "Old") << "kept until read";
  // The same event again is a duplicate, not a second re-read.
  EXPECT_EQ(box->submit_and_wait(request({gap}, 2100)).duplicates, 1u);

  // The worker read it while a newer state arrived: saved for nothing, the flag stays.
  box->submit_and_wait(request({change("n2", user_a, R"({"Department":"Sales"})", 3000)}, 3000));
  box->save_reread(org, user_a, 2, R"({"Title":"Stale read"})", 2500);
  record = box->find_record(org, user_a);
  EXPECT_TRUE(record->needs_reread);
  EXPECT_EQ(nlohmann::json::parse(record->fields_json)["Title"], "Old");

  // Read for the current version: merged, the flag cleared, the newer modstamp kept.
  box->save_reread(org, user_a, 3, R"({"Title":"New","SystemModstamp":"x"})", 4000);
  record = box->find_record(org, user_a);
  EXPECT_FALSE(record->needs_reread);
  const auto fields = nlohmann::json::parse(record->fields_json);
  EXPECT_EQ(fields["Title"], "New");
  EXPECT_EQ(fields["Department"], "Sales");
  EXPECT_EQ(fields["LastName"], "A");
  EXPECT_EQ(record->modstamp, 4000);
  box->mark_done(org, user_a, 3);
  EXPECT_EQ(box->find_record(org, user_a)->state, record_state::done);
}

TEST_P(intake_and_queue, a_verified_read_replaces_the_state_and_its_modstamp_even_a_lower_one) {
  auto box = open();
  // A forged notification: a near-future stamp and fields Salesforce does not have.
  box->submit_and_wait(request(
      {change("n1", user_a, R"({"Email":"evil@example.com","Title":"CEO"})", 9'000'000)}, 1000));
  // Read for an older version: saved for nothing.
  box->save_reread(org, user_a, 0, R"({"Email":"a@acme.com"})", 5000, true);
  EXPECT_EQ(box->find_record(org, user_a)->modstamp, 9'000'000);

  box->save_reread(org, user_a, 1, R"({"Email":"a@acme.com","Title":null})", 5000, true);
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->fields_json, R"({"Email":"a@acme.com","Title":null})");
  EXPECT_EQ(record->modstamp, 5000) << "Salesforce's stamp, below the forged one";
  box->mark_done(org, user_a, 1);
  // So a genuine notification stamped after Salesforce's is not stale.
  box->submit_and_wait(request({change("n2", user_a, R"({"Title":"Lead"})", 6000)}, 2000));
  record = box->find_record(org, user_a);
  EXPECT_EQ(record->version, 2);
  EXPECT_EQ(record->state, record_state::pending);
  EXPECT_EQ(record->modstamp, 6000);

  // Not returned by Salesforce: nothing kept, no stamp to hold later notifications back.
  box->save_reread(org, user_a, 2, "{}", std::nullopt, true);
  record = box->find_record(org, user_a);
  EXPECT_EQ(record->fields_json, "{}");
  EXPECT_EQ(record->modstamp, std::nullopt);
}

TEST_P(intake_and_queue, with_verification_a_stale_notification_makes_a_waiting_record_due_again) {
  auto o = options();
  o.requeue_stale_while_waiting = true;
  auto box = open_store(o);
  box->submit_and_wait(request({change("n2", user_a, R"({"Title":"new"})", 2000)}, 1000));
  box->mark_failed(org, user_a, 1, "HTTP 503", 50'000, false);
  // Older than the state held (perhaps a forged newer one): its fields lose, but a read made
  // before it arrived must not be the last one, so the waiting record gets a new version.
  box->submit_and_wait(request({change("n1", user_a, R"({"Title":"old"})", 1000)}, 3000));
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->fields_json, R"({"Title":"new"})");
  EXPECT_EQ(record->modstamp, 2000);
  EXPECT_EQ(record->version, 2);
  EXPECT_EQ(record->state, record_state::pending);
  EXPECT_EQ(record->due_at, 3000);
  EXPECT_EQ(record->attempts, 0);
  // Once applied, a stale notification changes nothing.
  box->mark_done(org, user_a, 2);
  box->submit_and_wait(request({change("n0", user_a, R"({"Title":"older"})", 500)}, 4000));
  record = box->find_record(org, user_a);
  EXPECT_EQ(record->version, 2);
  EXPECT_EQ(record->state, record_state::done);
  // Without the option (the test above, an_older_modstamp_arriving_late_does_not_overwrite),
  // a stale notification leaves even a waiting record as it is.
}

TEST_P(intake_and_queue, due_rereads_lists_every_due_record_when_verifying) {
  auto box = open();
  incoming_change gap = change("gap-1", user_b, "{}");
  gap.has_data = false;
  gap.reread = true;
  box->submit_and_wait(request({change("n1", user_a, R"({"Title":"a"})")}, 1000));
  box->submit_and_wait(request({gap}, 2000));
  box->submit_and_wait(request({change("n3", "0055g00000AbCdGAAZ", "{}")}, 9000));  // not due
  EXPECT_EQ(box->due_rereads(org, 5000, 300), std::vector<std::string>{user_b});
  EXPECT_EQ(box->due_rereads(org, 5000, 300, true), (std::vector<std::string>{user_a, user_b}));
  EXPECT_EQ(box->due_rereads(org, 5000, 1, true), std::vector<std::string>{user_a});
  EXPECT_TRUE(box->due_rereads("00D000000000001AAA", 5000, 300, true).empty());
}

TEST_F(sqlite_file_intake_and_queue, a_reader_works_while_the_service_has_the_file_open) {
  auto box = open();
  box->submit_and_wait(request({change("n1", user_a, "{}")}, 1234));
  auto stats = testing::sqlite_reader_of(db_path())->stats();
  EXPECT_EQ(stats.notifications_received, 1);
  EXPECT_EQ(stats.pending, 1);
  EXPECT_EQ(stats.last_received_at, 1234);
  // And while a write transaction is in progress elsewhere (WAL readers do not wait).
  raw_sqlite writer(db_path());
  writer.exec(
      "BEGIN IMMEDIATE; UPDATE counters SET value = 77 WHERE name = 'notifications_received'");
  EXPECT_EQ(testing::sqlite_reader_of(db_path())->stats().notifications_received, 1);
  writer.exec("ROLLBACK");
}

TEST_F(sqlite_file_intake_and_queue, a_reader_works_after_the_service_stopped) {
  { open()->submit_and_wait(request({change("n1", user_a, "{}")})); }
  EXPECT_EQ(testing::sqlite_reader_of(db_path())->stats().notifications_received, 1);
}

TEST_F(sqlite_file_intake_and_queue, a_reader_of_a_missing_file_says_so) {
  const std::string missing = (dir_.path() / "nope.db").string();
  try {
    testing::sqlite_reader_of(missing)->stats();
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(missing));  // and it did not create one
}

// --- commit failures ------------------------------------------------------------------------

TEST_F(sqlite_file_intake_and_queue, a_full_disk_fails_the_whole_batch_and_stores_nothing) {
  { auto box = open(); }  // the schema itself fits
  auto o = options();
  o.max_page_count = 1;  // SQLite raises it to the current size: no room to grow
  std::atomic<int> reported_commits{0};
  o.on_commit = [&](std::size_t) { ++reported_commits; };
  auto box = open_store(o);
  std::vector<incoming_change> many;
  many.reserve(200);
  const std::string padding(400, 'x');
  for (int i = 0; i < 200; ++i) {
    many.push_back(change("n" + std::to_string(i), "0055g0000" + std::to_string(100000000 + i),
                          R"({"Note":")" + padding + R"("})"));
  }
  auto outcome = box->submit_and_wait(request(many));
  EXPECT_FALSE(outcome.committed);
  EXPECT_EQ(outcome.stored, 0u);
  EXPECT_NE(outcome.error.find("full"), std::string::npos) << outcome.error;
  EXPECT_FALSE(box->has_notification(org, "n0"));
  EXPECT_FALSE(box->has_notification(org, "n199"));
  auto stats = box->stats();
  EXPECT_EQ(stats.notifications_received, 0);
  EXPECT_EQ(stats.pending, 0);
  EXPECT_EQ(stats.last_received_at, std::nullopt);
  EXPECT_EQ(box->commits_so_far(), 0u);
  // Nothing half-written survives a reopen either.
  box.reset();
  EXPECT_EQ(reported_commits, 0);  // a failed commit is no group commit
  EXPECT_EQ(testing::sqlite_reader_of(db_path())->stats().notifications_received, 0);
  EXPECT_FALSE(open()->has_notification(org, "n0"));
}

TEST_F(sqlite_file_intake_and_queue, a_locked_database_fails_every_request_of_the_batch) {
  auto o = options();
  o.busy_timeout_ms = 50;
  auto box = open_store(o);
  raw_sqlite intruder(db_path());
  intruder.exec("BEGIN IMMEDIATE");

  constexpr int requests = 20;
  std::mutex mutex;
  std::condition_variable all_done;
  std::vector<intake_outcome> outcomes;
  for (int i = 0; i < requests; ++i) {
    box->submit(request({change("n" + std::to_string(i), user_a, "{}")}),
                [&](intake_outcome outcome) {
                  std::lock_guard lock(mutex);
                  outcomes.push_back(std::move(outcome));
                  all_done.notify_one();
                });
  }
  {
    std::unique_lock lock(mutex);
    all_done.wait(lock, [&] { return outcomes.size() == requests; });
  }
  for (const auto& outcome : outcomes) {
    EXPECT_FALSE(outcome.committed);
    EXPECT_NE(outcome.error.find("locked"), std::string::npos) << outcome.error;
    EXPECT_NE(outcome.error.find("begin transaction"), std::string::npos) << outcome.error;
  }
  EXPECT_THROW(box->mark_done(org, user_a, 1), std::runtime_error);

  // Once the lock goes, the inbox works again: failures are not sticky.
  intruder.exec("ROLLBACK");
  auto outcome = box->submit_and_wait(request({change("n0", user_a, "{}")}));
  EXPECT_TRUE(outcome.committed);
  EXPECT_EQ(outcome.stored, 1u);
  EXPECT_EQ(box->stats().notifications_received, 1);
}

// --- group commit and shutdown -----------------------------------------------------------------

TEST_F(sqlite_file_intake_and_queue, concurrent_submitters_share_commits_and_all_hear_back) {
  auto box = open();
  // Hold the write lock so requests pile up, then let the writer take them together.
  auto intruder = std::make_unique<raw_sqlite>(db_path());
  intruder->exec("BEGIN IMMEDIATE");

  constexpr int threads = 16;
  constexpr int per_thread = 25;
  std::atomic<int> committed{0};
  std::atomic<int> stored{0};
  std::vector<std::thread> submitters;
  submitters.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        box->submit(request({change("n" + id, "rec" + id, "{}")}),
                    [&](const intake_outcome& outcome) {
                      if (outcome.committed) ++committed;
                      stored += static_cast<int>(outcome.stored);
                    });
      }
    });
  }
  for (auto& s : submitters) s.join();
  intruder->exec("ROLLBACK");
  intruder.reset();

  // submit_and_wait queues behind everything above, so when it returns all have answered.
  ASSERT_TRUE(box->submit_and_wait(request({})).committed);
  EXPECT_EQ(committed, threads * per_thread);
  EXPECT_EQ(stored, threads * per_thread);
  EXPECT_EQ(box->stats().notifications_received, threads * per_thread);
  EXPECT_LT(box->commits_so_far(), static_cast<std::size_t>(threads * per_thread) / 4);
}

TEST_F(sqlite_file_intake_and_queue, max_batch_requests_bounds_a_group_commit) {
  auto o = options();
  o.max_batch_requests = 2;
  auto box = open_store(o);
  auto intruder = std::make_unique<raw_sqlite>(db_path());
  intruder->exec("BEGIN IMMEDIATE");
  std::atomic<int> answered{0};
  for (int i = 0; i < 10; ++i) {
    box->submit(request({change("n" + std::to_string(i), user_a, "{}")}),
                [&](const intake_outcome& outcome) { answered += outcome.committed ? 1 : 0; });
  }
  intruder->exec("ROLLBACK");
  intruder.reset();
  ASSERT_TRUE(box->submit_and_wait(request({})).committed);
  EXPECT_EQ(answered, 10);
  EXPECT_GE(box->commits_so_far(), 6u);  // 11 requests, at most 2 per commit
}

TEST_F(sqlite_file_intake_and_queue, on_commit_reports_each_group_commit_with_its_size) {
  std::mutex mutex;
  std::vector<std::size_t> sizes;
  auto o = options();
  o.on_commit = [&](std::size_t writes) {
    std::lock_guard lock(mutex);
    sizes.push_back(writes);
  };
  auto box = open_store(o);
  auto intruder = std::make_unique<raw_sqlite>(db_path());
  intruder->exec("BEGIN IMMEDIATE");
  for (int i = 0; i < 10; ++i)
    box->submit(request({change("n" + std::to_string(i), user_a, "{}")}), [](auto) {});
  intruder->exec("ROLLBACK");
  intruder.reset();
  box->mark_done(org, user_a, 1);  // a worker outcome is a write of the group too
  box.reset();                     // the writer has finished, and reported, everything
  std::size_t total = 0;
  for (const auto n : sizes) total += n;
  EXPECT_EQ(total, 11u);
  // The requests piled up behind the lock were committed together.
  EXPECT_GT(*std::max_element(sizes.begin(), sizes.end()), 1u);
}

TEST_F(sqlite_file_intake_and_queue, closing_commits_everything_already_accepted) {
  constexpr int requests = 300;
  std::atomic<int> committed{0};
  {
    auto box = open();
    for (int i = 0; i < requests; ++i) {
      box->submit(request({change("n" + std::to_string(i), "rec" + std::to_string(i), "{}")}),
                  [&](const intake_outcome& outcome) { committed += outcome.committed ? 1 : 0; });
    }
  }  // destroyed with requests still queued
  EXPECT_EQ(committed, requests);
  EXPECT_EQ(testing::sqlite_reader_of(db_path())->stats().notifications_received, requests);
  EXPECT_FALSE(fs::exists(db_path() + "-wal") && fs::file_size(db_path() + "-wal") > 0)
      << "a clean close checkpoints the WAL";
}

TEST_P(intake_and_queue, worker_and_intake_run_side_by_side) {
  auto box = open();
  std::atomic<bool> intake_finished{false};
  std::thread intake([&] {
    for (int i = 0; i < 200; ++i) {
      const std::string rec = "rec" + std::to_string(i % 20);
      auto outcome = box->submit_and_wait(request(
          {change("n" + std::to_string(i), rec, R"({"i":)" + std::to_string(i) + "}", i)}, i));
      EXPECT_TRUE(outcome.committed);
    }
    intake_finished = true;
  });
  std::thread status([&] {
    while (!intake_finished) {
      auto stats = box->stats();
      EXPECT_LE(stats.pending, 20);
      std::this_thread::yield();  // a reader beside the writer, not a CPU hog
    }
  });
  // The worker: take, "apply", finish, until intake is over and the queue is empty.
  for (;;) {
    const bool last_round = intake_finished;
    auto due = box->take_due(1'000'000, 8);
    for (const auto& record : due)
      box->mark_done(record.organization_id, record.record_id, record.version);
    if (last_round && due.empty()) break;
    if (due.empty()) std::this_thread::yield();
  }
  intake.join();
  status.join();
  EXPECT_TRUE(box->take_due(1'000'000, 100).empty());
  EXPECT_EQ(box->stats().notifications_received, 200);
  // Every record ends at its newest state.
  EXPECT_EQ(box->find_record(org, "rec19")->fields_json, R"({"i":199})");
}

}  // namespace
}  // namespace connector::store
