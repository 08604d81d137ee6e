// Run history and links in bulk, against a real SQLite file: a run's life from queued to
// finished, what `status` reads as the last sync, runs of instances that stopped beating,
// pruning, the migration from a version-2 file, and the links the full reconciliation matches
// by.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "connector/store/open.hpp"
#include "support/raw_sqlite.hpp"
#include "support/service.hpp"
#include "support/store_engines.hpp"

namespace connector::store {
namespace {

constexpr const char* org = "00D5g000004XyZaEAK";
constexpr const char* other_org = "00D5g000004XyZbEAK";
constexpr const char* user_a = "0055g00000AbCdEAAZ";
constexpr const char* user_b = "0055g00000AbCdFAAZ";
constexpr const char* user_c = "0055g00000AbCdGAAZ";

intake_request changes_for(const char* organization_id, std::vector<const char*> record_ids,
                           epoch_ms at) {
  intake_request r;
  r.organization_id = organization_id;
  r.source = "outbound_message";
  r.received_at = at;
  for (const char* id : record_ids) {
    incoming_change c;
    c.notification_id = std::string("04l-") + id + "-" + std::to_string(at);
    c.record_id = id;
    c.object_type = "User";
    c.modstamp = at;
    c.fields_json = R"({"LastName":"X"})";
    r.changes.push_back(c);
  }
  return r;
}

// Runs `body` in a forked child that dies without closing anything, like kill -9.
// `body` returns the child's exit code. Fork before this process opens the file: SQLite
// connections must not cross a fork.
template <class Body>
pid_t in_child(Body body) {
  const pid_t child = fork();
  if (child == 0) {
    int code = 1;
    try {
      code = body();
    } catch (...) {
    }
    _exit(code);
  }
  return child;
}

int wait_for_exit(pid_t child) {
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

class runs_test : public testing::store_test {
 protected:
  // Raw SQL on the file, to build an old schema and to play another process's rows; it
  // waits for the store's own connection like another process would.
  testing::raw_sqlite raw_db() const { return testing::raw_sqlite(db_path(), 5000); }
  std::unique_ptr<store> open(store_settings options = {}) {
    return open_located(std::move(options));
  }
  std::unique_ptr<store>& box() {
    if (!box_) box_ = open();
    return box_;
  }

  std::unique_ptr<store> box_;
};

// The SQLite file itself: its schema, its pages and its other readers.
class sqlite_file_runs_test : public runs_test {
 protected:
  bool sqlite_only() const override { return true; }
};

INSTANTIATE_STORE_ENGINES(runs_test);

TEST_P(runs_test, a_run_goes_from_queued_to_running_to_finished) {
  const auto id = box()->create_run("scheduled", false, 1'000);
  auto run = box()->find_run(id);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->id, id);
  EXPECT_EQ(run->trigger, "scheduled");
  EXPECT_FALSE(run->dry_run);
  EXPECT_EQ(run->status, "queued");
  EXPECT_EQ(run->queued_at, 1'000);
  EXPECT_FALSE(run->started_at);
  EXPECT_FALSE(run->ended_at);
  EXPECT_TRUE(run->counts.empty());

  box()->start_run(id, 2'000);
  run = box()->find_run(id);
  EXPECT_EQ(run->status, "running");
  EXPECT_EQ(run->started_at, 2'000);

  box()->finish_run(id, "succeeded", 3'000, {{"read", 120}, {"create", 3}, {"update", 0}},
                    "3 created");
  run = box()->find_run(id);
  EXPECT_EQ(run->status, "succeeded");
  EXPECT_EQ(run->started_at, 2'000);
  EXPECT_EQ(run->ended_at, 3'000);
  EXPECT_EQ(run->counts,
            (std::map<std::string, std::int64_t>{{"read", 120}, {"create", 3}, {"update", 0}}));
  EXPECT_EQ(run->message, "3 created");
  EXPECT_FALSE(box()->find_run(id + 1));
}

TEST_P(runs_test, progress_counts_are_written_newest_last_and_not_after_the_end) {
  const auto id = box()->create_run("manual", false, 1'000);
  box()->start_run(id, 1'000);
  for (std::int64_t read = 1; read <= 5'000; ++read) {
    box()->update_run_counts(id, {{"read", read}, {"in_scope", read / 2}});
  }
  // Writes are committed in order: once a later write is durable, so are the counts.
  box()->set_link(org, user_a, "u-1");
  EXPECT_EQ(box()->find_run(id)->counts,
            (std::map<std::string, std::int64_t>{{"read", 5'000}, {"in_scope", 2'500}}));

  box()->finish_run(id, "succeeded", 2'000, {{"read", 6'000}}, "");
  box()->update_run_counts(id, {{"read", 1}});  // a late caller changes nothing
  box()->set_link(org, user_a, "u-2");
  EXPECT_EQ(box()->find_run(id)->counts, (std::map<std::string, std::int64_t>{{"read", 6'000}}));
}

TEST_P(runs_test, a_run_moves_only_forward) {
  const auto id = box()->create_run("cli", false, 1'000);
  EXPECT_THROW(box()->finish_run(id, "running", 2'000, {}, ""), std::invalid_argument);
  EXPECT_THROW(box()->finish_run(id, "done", 2'000, {}, ""), std::invalid_argument);
  box()->start_run(id, 2'000);
  EXPECT_THROW(box()->start_run(id, 2'500), std::runtime_error);
  box()->finish_run(id, "failed", 3'000, {}, "Salesforce login failed: invalid_grant");
  EXPECT_THROW(box()->finish_run(id, "succeeded", 4'000, {}, ""), std::runtime_error);
  EXPECT_THROW(box()->start_run(id + 1, 2'000), std::runtime_error);
  EXPECT_EQ(box()->find_run(id)->status, "failed");
  // A queued run may end without starting (expired in the queue).
  const auto queued = box()->create_run("scheduled", false, 5'000);
  box()->finish_run(queued, "expired", 6'000, {}, "waited too long");
  EXPECT_FALSE(box()->find_run(queued)->started_at);
}

TEST_F(sqlite_file_runs_test, runs_are_listed_newest_first_with_or_without_dry_runs) {
  const auto first = box()->create_run("scheduled", false, 1'000);
  const auto dry = box()->create_run("admin", true, 2'000);
  const auto last = box()->create_run("manual", false, 3'000);
  EXPECT_LT(first, dry);
  EXPECT_LT(dry, last);

  auto ids = [](const std::vector<run_record>& runs) {
    std::vector<std::int64_t> result;
    for (const auto& r : runs) result.push_back(r.id);
    return result;
  };
  EXPECT_EQ(ids(box()->list_runs(10)), (std::vector<std::int64_t>{last, dry, first}));
  EXPECT_EQ(ids(box()->list_runs(2)), (std::vector<std::int64_t>{last, dry}));
  EXPECT_EQ(ids(box()->list_runs(10, false)), (std::vector<std::int64_t>{last, first}));
  EXPECT_EQ(ids(testing::sqlite_reader_of(db_path())->list_runs(10, true)),
            (std::vector<std::int64_t>{last, dry, first}));
}

TEST_F(sqlite_file_runs_test, the_last_sync_is_the_last_started_run_that_is_not_dry) {
  EXPECT_FALSE(box()->last_sync());
  EXPECT_FALSE(testing::sqlite_reader_of(db_path())->last_sync());

  const auto sync = box()->create_run("scheduled", false, 1'000);
  box()->start_run(sync, 1'100);
  box()->finish_run(sync, "stopped_by_safety_limit", 1'200, {{"deactivate", 900}},
                    "would deactivate 900 users, more than max_deactivations (10%)");
  const auto dry = box()->create_run("admin", true, 2'000);
  box()->start_run(dry, 2'100);
  box()->finish_run(dry, "succeeded", 2'200, {}, "", R"({"create":[]})");
  box()->create_run("manual", false, 3'000);  // queued, not started yet

  auto last = box()->last_sync();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->id, sync);
  EXPECT_EQ(last->status, "stopped_by_safety_limit");
  EXPECT_EQ(last->started_at, 1'100);
  EXPECT_EQ(testing::sqlite_reader_of(db_path())->last_sync()->id, sync);

  const auto running = box()->create_run("manual", false, 4'000);
  box()->start_run(running, 4'100);
  EXPECT_EQ(box()->last_sync()->id, running);
  EXPECT_EQ(box()->last_sync()->status, "running");
}

TEST_F(sqlite_file_runs_test, a_plan_is_kept_as_is_and_read_only_when_asked_for) {
  // A plan for 100k users runs to several MB.
  std::string plan = R"({"create":[)";
  for (int i = 0; i < 40'000; ++i) {
    if (i != 0) plan += ',';
    plan += R"({"login":"user)" + std::to_string(i) + R"(@acme.example","department":"Sales"})";
  }
  plan += "]}";
  ASSERT_GT(plan.size(), 2'000'000u);

  const auto id = box()->create_run("cli", true, 1'000);
  box()->start_run(id, 1'000);
  box()->finish_run(id, "succeeded", 2'000, {{"create", 40'000}}, "dry run", plan);

  EXPECT_EQ(box()->find_run(id, true)->plan_json, plan);
  EXPECT_EQ(testing::sqlite_reader_of(db_path())->find_run(id, true)->plan_json, plan);
  EXPECT_TRUE(box()->find_run(id)->plan_json.empty());
  EXPECT_TRUE(testing::sqlite_reader_of(db_path())->find_run(id, false)->plan_json.empty());
  ASSERT_EQ(box()->list_runs(10).size(), 1u);
  EXPECT_TRUE(box()->list_runs(10)[0].plan_json.empty());
  EXPECT_TRUE(box()->find_run(id)->dry_run);
}

TEST_P(runs_test, everything_survives_closing_and_reopening) {
  const auto id = box()->create_run("admin", true, 1'000);
  box()->start_run(id, 1'500);
  box()->finish_run(id, "succeeded", 2'000, {{"read", 7}}, "ok", R"({"update":[]})");
  const auto sync = box()->create_run("scheduled", false, 3'000);
  box()->start_run(sync, 3'500);
  box_.reset();

  auto reopened = open();
  const auto run = reopened->find_run(id, true);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->status, "succeeded");
  EXPECT_EQ(run->trigger, "admin");
  EXPECT_TRUE(run->dry_run);
  EXPECT_EQ(run->counts, (std::map<std::string, std::int64_t>{{"read", 7}}));
  EXPECT_EQ(run->plan_json, R"({"update":[]})");
  EXPECT_EQ(reopened->last_sync()->id, sync);
  // Still this process's run: not interrupted by closing the store.
  EXPECT_EQ(reopened->fail_interrupted_runs(4'000), 0u);
  EXPECT_EQ(reopened->find_run(sync)->status, "running");
  // Ids are never reused.
  EXPECT_GT(reopened->create_run("manual", false, 5'000), sync);
}

TEST_F(sqlite_file_runs_test,
       runs_of_an_instance_that_stopped_beating_fail_and_runs_of_live_ones_do_not) {
  // The child registers as an instance (heartbeat at 1'000), queues one run, starts another,
  // reports, then waits for the parent's word and dies without finishing or retiring.
  int to_parent[2], to_child[2];
  ASSERT_EQ(pipe(to_parent), 0);
  ASSERT_EQ(pipe(to_child), 0);
  const pid_t child = in_child([&] {
    close(to_parent[0]);
    close(to_child[1]);
    auto store = open();
    store->heartbeat(this_instance("cli", 1'000, 1'000));
    store->create_run("scheduled", false, 1'000);
    store->start_run(store->create_run("cli", false, 1'000), 1'100);
    const char ready = 'r';
    if (write(to_parent[1], &ready, 1) != 1) return 2;
    char word = 0;
    (void)read(to_child[0], &word, 1);  // returns when the parent closes its end
    return 0;
  });
  ASSERT_GT(child, 0);
  close(to_parent[1]);
  close(to_child[0]);
  char ready = 0;
  ASSERT_EQ(read(to_parent[0], &ready, 1), 1);
  close(to_parent[0]);

  manual_clock clock(2'000);
  store_settings options;
  options.time = &clock;
  box_ = open(options);
  // The child beats: its runs are left alone, and running_run() sees them across processes.
  const auto ours = box()->create_run("manual", false, 1'500);
  EXPECT_EQ(box()->fail_interrupted_runs(2'000), 0u);
  auto busy = box()->running_run();
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->trigger, "cli");  // running goes before queued
  EXPECT_EQ(busy->status, "running");

  close(to_child[1]);
  ASSERT_EQ(wait_for_exit(child), 0);

  // Dead, but its last heartbeat is recent: nobody can tell yet, and a live run must never
  // be failed. Three beats later it is gone.
  const epoch_ms stale_at = 1'000 + instance_stale_after_ms + 1;
  clock.set(stale_at - 1);
  EXPECT_EQ(box()->running_run()->trigger, "cli");
  EXPECT_EQ(box()->fail_interrupted_runs(stale_at - 1), 0u);
  clock.set(stale_at);
  EXPECT_EQ(box()->running_run()->id, ours);
  EXPECT_EQ(box()->fail_interrupted_runs(stale_at), 2u);
  for (const auto& run : box()->list_runs(10)) {
    if (run.id == ours) {
      EXPECT_EQ(run.status, "queued");
      continue;
    }
    EXPECT_EQ(run.status, "failed");
    EXPECT_EQ(run.message, interrupted_run_message);
    EXPECT_EQ(run.ended_at, stale_at);
  }
  EXPECT_EQ(box()->fail_interrupted_runs(stale_at + 1'000), 0u);
}

// Owners are instances, not pids: a run whose owner instance never beat (an earlier process
// with the same pid, a row from before instances) is not live, whatever its pid.
TEST_F(sqlite_file_runs_test, a_reused_pid_does_not_make_a_dead_owner_alive) {
  const auto ours = box()->create_run("manual", false, 1'000);
  const auto parents = box()->create_run("manual", false, 1'000);
  EXPECT_EQ(box()->running_run()->id, ours);
  {
    auto raw = raw_db();
    // The same pid as a live process, but another start: the owner was an earlier process.
    raw.exec("UPDATE runs SET owner_instance = 'boot/1' WHERE id = " + std::to_string(ours));
    raw.exec("UPDATE runs SET owner_pid = " + std::to_string(getppid()) +
             ", owner_instance = 'boot/1' WHERE id = " + std::to_string(parents));
  }
  EXPECT_FALSE(box()->running_run());
  EXPECT_EQ(box()->fail_interrupted_runs(2'000), 2u);
  EXPECT_EQ(box()->find_run(ours)->status, "failed");
  EXPECT_EQ(box()->find_run(parents)->status, "failed");
}

TEST_F(sqlite_file_runs_test, finishing_prunes_old_runs_and_older_plans_but_not_unfinished_runs) {
  store_settings options;
  options.runs_kept = 3;
  options.plans_kept = 1;
  box_ = open(options);
  const auto waiting = box()->create_run("scheduled", false, 500);
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    const auto id = box()->create_run("admin", true, 1'000 + i);
    box()->start_run(id, 1'000 + i);
    box()->finish_run(id, "succeeded", 1'000 + i, {}, "", "{\"plan\":" + std::to_string(i) + "}");
    ids.push_back(id);
  }
  const auto kept = box()->list_runs(10);
  ASSERT_EQ(kept.size(), 4u);  // the three newest, and the older one still waiting
  EXPECT_EQ(kept[0].id, ids[4]);
  EXPECT_EQ(kept[1].id, ids[3]);
  EXPECT_EQ(kept[2].id, ids[2]);
  EXPECT_EQ(kept[3].id, waiting);
  EXPECT_FALSE(box()->find_run(ids[0]));
  EXPECT_FALSE(box()->find_run(ids[1]));
  EXPECT_EQ(box()->find_run(ids[4], true)->plan_json, R"({"plan":4})");
  EXPECT_TRUE(box()->find_run(ids[3], true)->plan_json.empty());
  EXPECT_EQ(raw_db().integer("SELECT count(*) FROM run_plans"), 1);
}

// The schema as migrations 1 and 2 left it (released, so frozen).
constexpr const char* schema_version_2 = R"sql(
CREATE TABLE notifications (
  organization_id TEXT NOT NULL, notification_id TEXT NOT NULL, record_id TEXT NOT NULL,
  source TEXT NOT NULL, received_at INTEGER NOT NULL,
  PRIMARY KEY (organization_id, notification_id)
) WITHOUT ROWID;
CREATE TABLE records (
  organization_id TEXT NOT NULL, record_id TEXT NOT NULL, object_type TEXT NOT NULL,
  fields_json TEXT NOT NULL, modstamp INTEGER, version INTEGER NOT NULL,
  state TEXT NOT NULL
        CHECK (state = 'pending' OR state = 'retrying' OR state = 'done' OR state = 'dead'),
  attempts INTEGER NOT NULL, last_error TEXT NOT NULL, due_at INTEGER NOT NULL,
  PRIMARY KEY (organization_id, record_id)
) WITHOUT ROWID;
CREATE INDEX records_due ON records (due_at, state) WHERE state IN ('pending', 'retrying');
CREATE INDEX records_dead ON records (state) WHERE state = 'dead';
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE links (
  organization_id TEXT NOT NULL, record_id TEXT NOT NULL, ispring_user_id TEXT NOT NULL,
  linked_at INTEGER NOT NULL,
  PRIMARY KEY (organization_id, record_id)
) WITHOUT ROWID;
CREATE INDEX links_by_ispring_user ON links (ispring_user_id);
ALTER TABLE records ADD COLUMN last_outcome TEXT NOT NULL DEFAULT '';
PRAGMA user_version = 2;
)sql";

TEST_F(sqlite_file_runs_test, a_version_2_file_gains_run_history_and_keeps_its_records) {
  {
    auto raw = raw_db();
    raw.exec("PRAGMA journal_mode = WAL");
    raw.exec(schema_version_2);
    raw.exec(std::string("INSERT INTO notifications VALUES ('") + org + "', '04l1', '" + user_a +
             "', 'outbound_message', 1000)");
    raw.exec(std::string("INSERT INTO records VALUES ('") + org + "', '" + user_a +
             R"(', 'User', '{"LastName":"X"}', 900, 3, 'retrying', 2, '503', 5000, ''))");
    raw.exec(std::string("INSERT INTO links VALUES ('") + org + "', '" + user_b +
             "', 'u-b', 1000)");
    raw.exec("INSERT INTO counters VALUES ('notifications_received', 1)");
  }
  // A CLI reading the file before the new service migrated it finds no runs, and no error.
  EXPECT_TRUE(testing::sqlite_reader_of(db_path())->list_runs(10, true).empty());
  EXPECT_FALSE(testing::sqlite_reader_of(db_path())->last_sync());
  EXPECT_FALSE(testing::sqlite_reader_of(db_path())->find_run(1, true));

  EXPECT_TRUE(box()->has_notification(org, "04l1"));
  const auto record = box()->find_record(org, user_a);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->version, 3);
  EXPECT_EQ(record->state, record_state::retrying);
  EXPECT_EQ(record->last_error, "503");
  EXPECT_EQ(box()->find_link(org, user_b), "u-b");
  EXPECT_EQ(box()->stats().notifications_received, 1);
  EXPECT_EQ(raw_db().integer("PRAGMA user_version"), 13);

  const auto id = box()->create_run("scheduled", false, 6'000);
  box()->start_run(id, 6'000);
  EXPECT_EQ(testing::sqlite_reader_of(db_path())->last_sync()->id, id);
}

TEST_P(runs_test, links_go_in_and_out_in_bulk) {
  std::vector<std::pair<std::string, std::string>> links;
  links.reserve(100'000);
  for (int i = 0; i < 100'000; ++i) {
    char record_id[19];
    std::snprintf(record_id, sizeof record_id, "0055g%010dAAA", i);
    links.emplace_back(record_id, "00000000-0000-1000-8000-" + std::to_string(100'000'000'000 + i));
  }
  box()->set_links(org, links);
  box()->set_link(other_org, user_a, "someone-else");

  auto listed = box()->list_links(org);
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, links);  // generated in sorted order
  std::vector<std::pair<std::string, std::string>> visited;
  box()->each_link(org, [&](std::string_view record_id, std::string_view user_id) {
    visited.emplace_back(record_id, user_id);
  });
  std::sort(visited.begin(), visited.end());
  EXPECT_EQ(visited, links);
  EXPECT_EQ(box()->find_link(org, links[54'321].first), links[54'321].second);

  // Replaced in bulk too, and removed one by one.
  box()->set_links(org, {{links[0].first, "replaced"}, {user_c, "new"}});
  EXPECT_EQ(box()->find_link(org, links[0].first), "replaced");
  EXPECT_EQ(box()->list_links(org).size(), 100'001u);
  box()->remove_link(org, user_c);
  box()->remove_link(org, user_c);  // already gone: no error
  EXPECT_FALSE(box()->find_link(org, user_c));
  EXPECT_EQ(box()->list_links(org).size(), 100'000u);
  EXPECT_EQ(box()->list_links(other_org),
            (std::vector<std::pair<std::string, std::string>>{{user_a, "someone-else"}}));
}

TEST_P(runs_test, records_in_flight_are_the_pending_and_retrying_ones_of_the_org) {
  ASSERT_TRUE(box()->submit_and_wait(changes_for(org, {user_a, user_b, user_c}, 1'000)).committed);
  ASSERT_TRUE(box()->submit_and_wait(changes_for(other_org, {user_a}, 1'000)).committed);
  for (const auto& r : box()->take_due(1'000, 10)) {
    if (r.organization_id != org) continue;
    if (r.record_id == user_a) box()->mark_done(org, user_a, r.version, "applied");
    if (r.record_id == user_b) box()->mark_failed(org, user_b, r.version, "503", 9'000, false);
  }
  auto in_flight = box()->records_in_flight(org);
  std::sort(in_flight.begin(), in_flight.end(),
            [](const auto& x, const auto& y) { return x.record_id < y.record_id; });
  ASSERT_EQ(in_flight.size(), 2u);
  EXPECT_EQ(in_flight[0].record_id, user_b);
  EXPECT_EQ(in_flight[0].state, record_state::retrying);
  EXPECT_EQ(in_flight[0].version, 1);
  EXPECT_EQ(in_flight[0].modstamp, 1'000);
  EXPECT_EQ(in_flight[1].record_id, user_c);
  EXPECT_EQ(in_flight[1].state, record_state::pending);
  EXPECT_TRUE(box()->records_in_flight("00D000000000001AAA").empty());
}

}  // namespace
}  // namespace connector::store
