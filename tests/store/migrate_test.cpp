// `connector migrate --to-postgresql`: a SQLite store with everything an organisation keeps
// (queue, dedupe ids, links, department links, runs and plans, history, counters, the
// safety limit's hour) copied into a real PostgreSQL 15, and read back through the
// PostgreSQL engine; a target that holds data is refused and left as it was.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "connector/store/migrate.hpp"
#include "connector/store/open.hpp"
#include "connector/store/settings_log.hpp"
#include "support/inbox_input.hpp"
#include "support/postgres_server.hpp"
#include "support/service.hpp"

namespace connector::store {
namespace {

using testing::inbox_input::change;
using testing::inbox_input::event;
using testing::inbox_input::request;

constexpr const char* user_a = "0055g00000AbCdEAAZ";
constexpr const char* user_b = "0055g00000AbCdFAAZ";

class migrate_test : public ::testing::Test {
 protected:
  migrate_test() {
    from_.sqlite_path = (dir_.path() / "connector.db").string();
    from_.time = &clock_;
    to_.postgresql_url = testing::postgres_server::shared().create_database();
    to_.time = &clock_;
  }

  testing::temp_dir dir_;
  manual_clock clock_{10'000};
  store_settings from_, to_;
};

TEST_F(migrate_test, everything_the_sqlite_store_holds_reads_the_same_from_postgresql) {
  std::int64_t last_run = 0;
  {
    auto sqlite = open_store(from_);
    ASSERT_TRUE(sqlite
                    ->submit_and_wait(request({change("n1", user_a, R"({"Email":"a@x.io"})", 5),
                                               change("n2", user_b, R"({"Email":"b@x.io"})", 5)}))
                    .committed);
    ASSERT_EQ(sqlite->submit_and_wait(request({change("n1", user_a, "{}", 5)})).duplicates, 1u);
    const auto due = sqlite->take_due(20'000, 10);
    ASSERT_EQ(due.size(), 2u);
    sqlite->mark_done(due[0].organization_id, due[0].record_id, due[0].version, "applied");
    sqlite->set_link(testing::test_org_id, user_a, "ispring-a");
    sqlite->set_department_links(testing::test_org_id, {{"Sales", "dep-1", "Sales"}});
    const auto run = sqlite->create_run("manual", true, 1'000);
    sqlite->start_run(run, 1'100);
    sqlite->finish_run(run, "succeeded", 1'200, {{"read", 2}}, "ok", R"({"create":[]})");
    last_run = sqlite->create_run("scheduled", false, 1'300);
    sqlite->record_history({event(user_a, 1'500, "applied", R"({"by":"test"})")});
    sqlite->note_retirement(testing::test_org_id, user_b, 9'000, 0);
    // Users waiting for their group: they still join it after the move.
    sqlite->queue_group_additions(
        {{"grp-1", "All", "ispring-a", testing::test_org_id, user_a, 9'500, 0}});
  }
  {
    // Two revisions saved in the page: the service on PostgreSQL must run on the newest.
    auto log = open_settings_log(from_);
    settings_revision first{0, 2'000, "ops", {"schedule"}, R"({"schedule":{"run_type":"manual"}})"};
    ASSERT_EQ(log->save_revision(0, first), 1);
    settings_revision second{0, 3'000, "ann", {"sync"}, R"({"sync":{"groups":["All"]}})"};
    ASSERT_EQ(log->save_revision(1, second), 2);
  }

  const auto counts = migrate_to_postgresql(from_, to_);
  auto rows_of = [&](const std::string& table) {
    for (const auto& [name, rows] : counts)
      if (name == table) return rows;
    return std::int64_t{-1};
  };
  EXPECT_EQ(rows_of("notifications"), 2);
  EXPECT_EQ(rows_of("records"), 2);
  EXPECT_EQ(rows_of("links"), 1);
  EXPECT_EQ(rows_of("department_links"), 1);
  EXPECT_EQ(rows_of("runs"), 2);
  EXPECT_EQ(rows_of("run_plans"), 1);
  EXPECT_EQ(rows_of("worker_retirements"), 1);
  EXPECT_GE(rows_of("user_history"), 1);
  EXPECT_EQ(rows_of("group_additions"), 1);
  EXPECT_EQ(rows_of("settings_revisions"), 2);
  {
    auto log = open_settings_log(to_);
    EXPECT_EQ(log->current_revision(), 2);
    const auto newest = log->read_revision(2);
    ASSERT_TRUE(newest);
    EXPECT_EQ(newest->saved_by, "ann");
    EXPECT_EQ(newest->saved_at, 3'000);
    EXPECT_EQ(newest->sections, std::vector<std::string>{"sync"});
    EXPECT_EQ(newest->settings_json, R"({"sync":{"groups":["All"]}})");
    EXPECT_EQ(log->list_revisions(10).size(), 2u);
  }

  auto pg = open_store(to_);
  const auto stats = pg->stats();
  EXPECT_EQ(stats.notifications_received, 2);
  EXPECT_EQ(stats.duplicates_ignored, 1);
  EXPECT_EQ(stats.pending, 1);
  EXPECT_EQ(pg->find_link(testing::test_org_id, user_a), "ispring-a");
  ASSERT_EQ(pg->list_department_links(testing::test_org_id).size(), 1u);
  EXPECT_EQ(pg->list_department_links(testing::test_org_id)[0].department_id, "dep-1");
  const auto record = pg->find_record(testing::test_org_id, user_b);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->fields_json, R"({"Email":"b@x.io"})");
  const auto dry = pg->find_run(last_run - 1, true);
  ASSERT_TRUE(dry);
  EXPECT_TRUE(dry->dry_run);
  EXPECT_EQ(dry->plan_json, R"({"create":[]})");
  EXPECT_EQ(dry->counts.at("read"), 2);
  bool applied_seen = false;
  for (const auto& e : pg->read_history(testing::test_org_id, user_a, 50))
    applied_seen = applied_seen || (e.kind == "applied" && e.time == 1'500);
  EXPECT_TRUE(applied_seen);
  EXPECT_EQ(pg->retirements_since(testing::test_org_id, 0).size(), 1u);
  const auto waiting = pg->claim_next_group("drainer", 20'000, 50'000, 10);
  ASSERT_TRUE(waiting) << "a migrated group addition is never drained";
  ASSERT_EQ(waiting->additions.size(), 1u);
  EXPECT_EQ(waiting->additions[0].ispring_user_id, "ispring-a");
  EXPECT_EQ(waiting->additions[0].record_id, user_a);
  // A new addition after the move gets an id after the copied one (no key collision).
  pg->queue_group_additions(
      {{"grp-1", "All", "ispring-b", testing::test_org_id, user_b, 9'600, 0}});
  pg->finish_group("grp-1", "drainer", waiting->up_to());
  EXPECT_EQ(pg->group_stats().additions, 1);  // the new one waits for the next batch
  // Dedupe goes on: Salesforce redelivering n1 after the move is a duplicate, not a change.
  EXPECT_EQ(pg->submit_and_wait(request({change("n1", user_a, "{}", 5)})).duplicates, 1u);
  // Ids are never reused: the next run comes after the copied ones.
  EXPECT_GT(pg->create_run("manual", false, 2'000), last_run);
}

TEST_F(migrate_test, a_target_that_holds_data_is_refused_and_left_as_it_was) {
  {
    auto sqlite = open_store(from_);
    ASSERT_TRUE(sqlite->submit_and_wait(request({change("n1", user_a, "{}", 5)})).committed);
  }
  {
    auto pg = open_store(to_);
    ASSERT_TRUE(pg->submit_and_wait(request({change("other", user_b, "{}", 5)})).committed);
  }
  try {
    migrate_to_postgresql(from_, to_);
    FAIL() << "a non-empty target was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("already holds connector data"), std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find(testing::postgres_server::shared().password()),
              std::string::npos);
  }
  auto pg = open_store(to_);
  EXPECT_EQ(pg->stats().notifications_received, 1);
  EXPECT_FALSE(pg->find_record(testing::test_org_id, user_a));
}

}  // namespace
}  // namespace connector::store
