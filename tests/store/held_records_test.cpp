// Records held by the worker's safety limit (sync.max_deactivations_per_hour), against a real
// SQLite file: held ones leave the queue and are counted apart, a newer state or the
// operator's release brings them back, only the released version passes over the limit,
// and the worker's deactivations are kept for the hour across a reopen.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "connector/store/open.hpp"
#include "support/inbox_input.hpp"
#include "support/raw_sqlite.hpp"
#include "support/service.hpp"
#include "support/store_engines.hpp"

namespace connector::store {
namespace {

using testing::inbox_input::change;
using testing::inbox_input::request;

constexpr const char* org = "00D5g000004XyZaEAK";
constexpr const char* user_a = "0055g00000AbCdEAAZ";
constexpr const char* user_b = "0055g00000AbCdFAAZ";
const std::string reason = "held by the safety limit: 2 users were deactivated";

class held_records_test : public testing::store_test {
 protected:
  std::unique_ptr<store> open() {
    store_settings o;
    o.time = &clock_;
    return open_located(o);
  }
  // One deactivation notification per user, taken and held by the worker.
  void hold(store& box, const std::vector<std::string>& users) {
    for (std::size_t i = 0; i < users.size(); ++i) {
      ASSERT_TRUE(box.submit_and_wait(
                         request({change("n-" + users[i], users[i], R"({"IsActive":false})", 10)}))
                      .committed);
    }
    for (const auto& record : box.take_due(1'000'000, 100))
      box.mark_held(org, record.record_id, record.version, reason);
  }

  manual_clock clock_{5'000};
};

// The SQLite file itself: its schema, its pages and its other readers.
class sqlite_file_held_records_test : public held_records_test {
 protected:
  bool sqlite_only() const override { return true; }
};

INSTANTIATE_STORE_ENGINES(held_records_test);

TEST_F(sqlite_file_held_records_test,
       a_held_record_leaves_the_queue_and_is_counted_and_listed_apart) {
  auto box = open();
  hold(*box, {user_a, user_b});
  EXPECT_TRUE(box->take_due(10'000'000, 10).empty()) << "the worker never takes a held record";
  const auto stats = box->stats();
  EXPECT_EQ(stats.held, 2);
  EXPECT_EQ(stats.pending, 0);
  EXPECT_EQ(stats.dead_letters, 0);
  EXPECT_FALSE(stats.oldest_waiting_since) << "held ones wait for the operator, not the worker";
  const auto record = box->find_record(org, user_a);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, record_state::held);
  EXPECT_EQ(to_string(record->state), std::string("held"));
  EXPECT_EQ(record->last_outcome, reason);
  EXPECT_FALSE(record->released);
  EXPECT_EQ(box->list_records(record_state::held, 10).size(), 2u);
  EXPECT_EQ(testing::sqlite_reader_of(db_path())->list_records(record_state::held, 10).size(), 2u);
  EXPECT_EQ(testing::sqlite_reader_of(db_path())->stats().held, 2);
  // The reconciliation leaves them to the operator too.
  EXPECT_EQ(box->records_in_flight(org).size(), 2u);
}

TEST_P(held_records_test, holding_an_older_version_leaves_the_newer_state_pending) {
  auto box = open();
  ASSERT_TRUE(
      box->submit_and_wait(request({change("n1", user_a, R"({"IsActive":false})", 10)})).committed);
  const auto taken = box->take_due(1'000'000, 10);
  ASSERT_EQ(taken.size(), 1u);
  // Re-activated in Salesforce while the worker looked at the deactivation.
  ASSERT_TRUE(
      box->submit_and_wait(request({change("n2", user_a, R"({"IsActive":true})", 20)})).committed);
  box->mark_held(org, user_a, taken[0].version, reason);
  const auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->state, record_state::pending);
  EXPECT_EQ(box->stats().held, 0);
  ASSERT_EQ(box->take_due(1'000'000, 10).size(), 1u);
}

TEST_P(held_records_test, a_newer_state_makes_a_held_record_pending_and_not_released) {
  auto box = open();
  hold(*box, {user_a});
  clock_.advance(1000);
  ASSERT_TRUE(
      box->submit_and_wait(request({change("n2", user_a, R"({"IsActive":true})", 20)}, 7'000))
          .committed);
  const auto due = box->take_due(1'000'000, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].fields_json, R"({"IsActive":true})");
  EXPECT_FALSE(due[0].released) << "a new change is judged by the limit afresh";
  EXPECT_EQ(box->stats().held, 0);
  EXPECT_EQ(box->stats().oldest_waiting_since, 7'000);
}

TEST_P(held_records_test, a_stale_notification_leaves_a_held_record_held) {
  auto box = open();
  hold(*box, {user_a});
  ASSERT_TRUE(
      box->submit_and_wait(request({change("old", user_a, R"({"IsActive":true})", 5)})).committed);
  EXPECT_EQ(box->find_record(org, user_a)->state, record_state::held);
}

TEST_P(held_records_test, release_of_one_record_queues_that_version_as_released) {
  auto box = open();
  hold(*box, {user_a, user_b});
  EXPECT_EQ(box->release_held("0055g00000AbCdXAAZ", 9'000), 0u) << "not held: nothing";
  EXPECT_EQ(box->release_held(user_a, 9'000), 1u);
  EXPECT_EQ(box->release_held(user_a, 9'000), 0u) << "released already";
  const auto due = box->take_due(9'000, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].record_id, user_a);
  EXPECT_TRUE(due[0].released);
  EXPECT_EQ(due[0].state, record_state::pending);
  EXPECT_EQ(box->stats().held, 1);
  const auto history = box->read_history(org, user_a, 10);
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.front().kind, history_kinds::released);
  EXPECT_EQ(history.front().time, 9'000);

  // A newer state of a released record is a new change: not released.
  ASSERT_TRUE(box->submit_and_wait(request({change("n3", user_a, R"({"Title":"x"})", 30)}, 9'500))
                  .committed);
  EXPECT_FALSE(box->find_record(org, user_a)->released);
}

TEST_P(held_records_test, release_of_all_releases_every_held_record_and_nothing_else) {
  auto box = open();
  hold(*box, {user_a, user_b});
  const char* user_c = "0055g00000AbCdGAAZ";
  ASSERT_TRUE(box->submit_and_wait(request({change("n-c", user_c, "{}", 10)})).committed);
  box->mark_failed(org, user_c, 1, "rejected", 0, true);  // a dead letter stays dead
  EXPECT_EQ(box->release_held("", 9'000), 2u);
  EXPECT_EQ(box->stats().held, 0);
  EXPECT_EQ(box->stats().dead_letters, 1);
  const auto due = box->take_due(9'000, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_TRUE(due[0].released && due[1].released);
  // Applied: done, like any record.
  box->mark_done(org, due[0].record_id, due[0].version, "applied (deactivate)");
  EXPECT_EQ(box->find_record(org, due[0].record_id)->state, record_state::done);
}

TEST_P(held_records_test, held_records_stay_held_across_a_reopen) {
  {
    auto box = open();
    hold(*box, {user_a});
  }
  auto box = open();
  EXPECT_EQ(box->find_record(org, user_a)->state, record_state::held);
  EXPECT_TRUE(box->take_due(10'000'000, 10).empty());
}

TEST_P(held_records_test, retirements_are_kept_per_organization_across_a_reopen_and_pruned) {
  const char* other_org = "00D5g000004XyZbEAK";
  {
    auto box = open();
    box->note_retirement(org, user_a, 1'000, 0);
    box->note_retirement(org, user_b, 2'000, 0);
    box->note_retirement(other_org, user_a, 2'500, 0);
  }
  auto box = open();
  EXPECT_EQ(box->retirements_since(org, 0), (std::vector<epoch_ms>{1'000, 2'000}));
  EXPECT_EQ(box->retirements_since(org, 1'500), (std::vector<epoch_ms>{2'000}));
  EXPECT_EQ(box->retirements_since(other_org, 0), (std::vector<epoch_ms>{2'500}));
  box->note_retirement(org, user_a, 9'000, 1'500);  // forgets what is older than 1'500
  EXPECT_EQ(box->retirements_since(org, 0), (std::vector<epoch_ms>{2'000, 9'000}));
}

TEST_P(held_records_test, count_links_counts_the_organizations_links) {
  auto box = open();
  EXPECT_EQ(box->count_links(org), 0u);
  box->set_links(org, {{user_a, "u-a"}, {user_b, "u-b"}});
  box->set_link("00D5g000004XyZbEAK", user_a, "u-x");
  EXPECT_EQ(box->count_links(org), 2u);
}

TEST_F(sqlite_file_held_records_test, the_state_column_refuses_an_unknown_state) {
  auto box = open();
  ASSERT_TRUE(box->submit_and_wait(request({change("n1", user_a, "{}", 10)})).committed);
  box.reset();
  testing::raw_sqlite raw(db_path());
  EXPECT_ANY_THROW(raw.exec("UPDATE records SET state = 'parked'"));
  raw.exec("UPDATE records SET state = 'held'");
}

}  // namespace
}  // namespace connector::store
