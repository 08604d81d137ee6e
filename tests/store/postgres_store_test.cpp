// The PostgreSQL engine against a real PostgreSQL 15 (support/postgres_server): the store
// contract the SQLite tests prove (dedupe, newest wins, versions, held and released records,
// links, runs, history, search, pruning), and what only a server brings: a connection lost
// in the middle of a batch fails it, never acks it, and the engine comes back by itself.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "connector/store/postgres.hpp"
#include "store/postgres/postgres_store.hpp"
#include "support/eventually.hpp"
#include "support/inbox_input.hpp"
#include "support/postgres_server.hpp"

namespace connector::store {
namespace {

using testing::postgres_server;
using testing::inbox_input::change;
using testing::inbox_input::event;
using testing::inbox_input::request;

constexpr const char* org = "00D5g000004XyZaEAK";
constexpr const char* user_a = "0055g00000AbCdEAAZ";
constexpr const char* user_b = "0055g00000AbCdFAAZ";
constexpr const char* user_c = "0055g00000AbCdGAAZ";

intake_outcome submitted(intake_sink& sink, intake_request r) {
  auto promise = std::make_shared<std::promise<intake_outcome>>();
  auto outcome = promise->get_future();
  sink.submit(std::move(r), [promise](intake_outcome o) { promise->set_value(std::move(o)); });
  return outcome.get();
}

incoming_change gap_change(const std::string& id, const std::string& record) {
  incoming_change gap = change(id, record, "{}");
  gap.has_data = false;
  gap.reread = true;
  return gap;
}

class postgres_store_test : public ::testing::Test {
 protected:
  // The store's clock stays near the tests' stamps (1000 ms…): the writer's own pruning
  // must not take what the tests wrote as older than the dedupe window.
  postgres_store_test() {
    settings_.postgresql_url = server().create_database();
    settings_.time = &clock_;
  }

  static postgres_server& server() { return postgres_server::shared(); }
  std::unique_ptr<store> open() { return open_postgres_store(settings_); }
  std::string database() const {
    return settings_.postgresql_url.substr(settings_.postgresql_url.rfind('/') + 1);
  }
  std::string sql(const std::string& statement) {
    return server().admin_sql(database(), statement);
  }

  manual_clock clock_{10'000};
  store_settings settings_;
};

// --- intake -----------------------------------------------------------------------------

TEST_F(postgres_store_test, committed_means_another_connection_sees_it) {
  auto box = open();
  const auto outcome = submitted(*box, request({change("n1", user_a, R"({"Email":"a@x.io"})", 5)}));
  EXPECT_TRUE(outcome.committed);
  EXPECT_EQ(outcome.stored, 1u);
  EXPECT_EQ(outcome.error, "");
  EXPECT_EQ(sql("SELECT count(*) FROM notifications"), "1");
  EXPECT_EQ(sql("SELECT value FROM counters WHERE name = 'notifications_received'"), "1");
  auto reader = open_postgres_reader(settings_);
  EXPECT_EQ(reader->stats().notifications_received, 1);
  const auto record = reader->find_record(org, user_a);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->object_type, "User");
  EXPECT_EQ(record->modstamp, 5);
  EXPECT_EQ(record->version, 1);
  EXPECT_EQ(record->state, record_state::pending);
  EXPECT_EQ(record->due_at, 1000);
}

TEST_F(postgres_store_test, duplicates_within_a_request_across_requests_and_reopen_are_acked_once) {
  {
    auto box = open();
    auto first = submitted(*box, request({change("n1", user_a, "{}"), change("n1", user_a, "{}")}));
    EXPECT_EQ(first.stored, 1u);
    EXPECT_EQ(first.duplicates, 1u);
  }
  auto box = open();
  const auto again = submitted(*box, request({change("n1", user_a, R"({"Title":"x"})")}, 2000));
  EXPECT_TRUE(again.committed);
  EXPECT_EQ(again.stored, 0u);
  EXPECT_EQ(again.duplicates, 1u);
  EXPECT_EQ(box->find_record(org, user_a)->version, 1) << "a duplicate is not applied";
  EXPECT_EQ(box->find_record(org, user_a)->fields_json, "{}");
  auto other_org = request({change("n1", user_a, "{}")});
  other_org.organization_id = "00D5g000004XyZbEAK";
  EXPECT_EQ(submitted(*box, other_org).stored, 1u) << "ids are per organization";
  const auto stats = box->stats();
  EXPECT_EQ(stats.notifications_received, 2);
  EXPECT_EQ(stats.duplicates_ignored, 2);
}

TEST_F(postgres_store_test,
       concurrent_requests_share_commits_store_each_id_once_and_all_hear_back) {
  auto box = open();
  // A lock on the counters holds the writer inside its first batch: the rest pile up.
  postgres_connection intruder(server().admin_conninfo(database()));
  intruder.exec("BEGIN; LOCK TABLE counters IN EXCLUSIVE MODE", "hold the counters");
  constexpr int threads = 8, per_thread = 25;
  std::atomic<int> committed{0}, stored{0};
  std::vector<std::thread> submitters;
  for (int t = 0; t < threads; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        // Every id twice, from two threads: stored once.
        const std::string id = std::to_string(t / 2) + "-" + std::to_string(i);
        box->submit(request({change("n" + id, "rec" + id, "{}")}), [&](const intake_outcome& o) {
          committed += o.committed ? 1 : 0;
          stored += static_cast<int>(o.stored);
        });
      }
    });
  }
  for (auto& s : submitters) s.join();
  intruder.exec("ROLLBACK", "let go");
  ASSERT_TRUE(submitted(*box, request({})).committed);
  EXPECT_EQ(committed, threads * per_thread);
  EXPECT_EQ(stored, threads * per_thread / 2);
  EXPECT_EQ(box->stats().notifications_received, threads * per_thread / 2);
  EXPECT_EQ(box->stats().duplicates_ignored, threads * per_thread / 2);
  EXPECT_LT(box->commits_so_far(), static_cast<std::size_t>(threads * per_thread) / 4);
}

TEST_F(postgres_store_test, newest_wins_whatever_the_arrival_order) {
  auto box = open();
  submitted(*box, request({change("n2", user_a, R"({"Title":"new","Email":"a@x.io"})", 2000)}));
  // An older state arriving late changes nothing and is told as stale.
  submitted(*box, request({change("n1", user_a, R"({"Title":"old"})", 1000)}, 1100));
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->version, 1);
  EXPECT_EQ(nlohmann::json::parse(record->fields_json)["Title"], "new");
  // A newer one merges over the stored fields (a null stays: the field was cleared).
  submitted(*box, request({change("n3", user_a, R"({"Title":null})", 3000)}, 1200));
  record = box->find_record(org, user_a);
  EXPECT_EQ(record->version, 2);
  EXPECT_EQ(record->modstamp, 3000);
  EXPECT_EQ(nlohmann::json::parse(record->fields_json),
            nlohmann::json::parse(R"({"Title":null,"Email":"a@x.io"})"));
  // Equal or missing stamps: the later arrival wins; a malformed body is stored as {}.
  submitted(*box, request({change("n4", user_a, R"({"Title":"same"})", 3000)}, 1300));
  submitted(*box, request({change("n5", user_a, R"({"Title":"none"})")}, 1400));
  submitted(*box, request({change("n6", user_b, "[1,2]")}, 1500));
  EXPECT_EQ(nlohmann::json::parse(box->find_record(org, user_a)->fields_json)["Title"], "none");
  EXPECT_EQ(box->find_record(org, user_a)->modstamp, 3000);
  EXPECT_EQ(box->find_record(org, user_b)->fields_json, "{}");
  const auto history = box->read_history(org, user_a, 10);
  ASSERT_EQ(history.size(), 5u);
  EXPECT_EQ(history[3].kind, history_kinds::stale);
  EXPECT_EQ(nlohmann::json::parse(history[3].details_json)["notification_id"], "n1");
}

TEST_F(postgres_store_test, several_changes_of_one_record_in_one_batch_apply_in_order) {
  auto box = open();
  const auto outcome = submitted(
      *box, request({change("n1", user_a, R"({"A":1})", 10), change("n2", user_a, R"({"B":2})", 5),
                     change("n3", user_a, R"({"C":3})", 20)}));
  EXPECT_EQ(outcome.stored, 3u);
  const auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->version, 2) << "the stale middle change made no version";
  EXPECT_EQ(nlohmann::json::parse(record->fields_json), nlohmann::json::parse(R"({"A":1,"C":3})"));
  EXPECT_EQ(record->modstamp, 20);
}

TEST_F(postgres_store_test, a_gap_change_waits_for_a_read_and_a_verified_read_replaces_the_state) {
  auto box = open();
  submitted(*box, request({change("n1", user_a, R"({"LastName":"A","Title":"Old"})", 1000)}));
  box->mark_done(org, user_a, 1);
  ASSERT_TRUE(submitted(*box, request({gap_change("gap-1", user_a)}, 2000)).committed);
  auto record = box->find_record(org, user_a);
  EXPECT_TRUE(record->needs_reread);
  EXPECT_EQ(record->version, 2);
  EXPECT_EQ(box->due_rereads(org, 5000, 10), std::vector<std::string>{user_a});
  box->save_reread(org, user_a, 1, R"({"Title":"Stale read"})", 1500, false);  // old version
  EXPECT_TRUE(box->find_record(org, user_a)->needs_reread);
  box->save_reread(org, user_a, 2, R"({"Title":"New"})", 4000, false);
  record = box->find_record(org, user_a);
  EXPECT_FALSE(record->needs_reread);
  EXPECT_EQ(nlohmann::json::parse(record->fields_json),
            nlohmann::json::parse(R"({"LastName":"A","Title":"New"})"));
  EXPECT_EQ(record->modstamp, 4000);
  box->save_reread_soon(org, user_a, 2, R"({"Email":"a@acme.com"})", 3000, true);
  box->mark_done(org, user_a, 2);  // waits for the read that rode along before it
  record = box->find_record(org, user_a);
  EXPECT_EQ(record->fields_json, R"({"Email":"a@acme.com"})");
  EXPECT_EQ(record->modstamp, 3000) << "a verified read's stamp, even a lower one";
  EXPECT_EQ(record->state, record_state::done);
}

TEST_F(postgres_store_test, a_stale_notification_requeues_a_waiting_record_when_verifying) {
  settings_.requeue_stale_while_waiting = true;
  auto box = open();
  submitted(*box, request({change("n2", user_a, R"({"Title":"new"})", 2000)}, 1000));
  box->mark_failed(org, user_a, 1, "HTTP 503", 50'000, false);
  submitted(*box, request({change("n1", user_a, R"({"Title":"old"})", 1000)}, 3000));
  const auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->fields_json, R"({"Title":"new"})");
  EXPECT_EQ(record->version, 2);
  EXPECT_EQ(record->state, record_state::pending);
  EXPECT_EQ(record->due_at, 3000);
  EXPECT_EQ(nlohmann::json::parse(box->read_history(org, user_a, 1)[0].details_json)["read_again"],
            true);
}

// --- the worker's queue -----------------------------------------------------------------

TEST_F(postgres_store_test, versions_decide_whether_an_outcome_settles_the_record) {
  auto box = open();
  submitted(*box, request({change("n1", user_a, R"({"Title":"A"})", 1)}, 300));
  submitted(*box, request({change("n2", user_b, "{}")}, 100));
  auto due = box->take_due(500, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].record_id, user_b) << "oldest first";
  EXPECT_TRUE(box->take_due(500, 10).empty())
      << "a claimed record is due for nobody, its claimer included";
  // A newer state arrives while the worker applies version 1: it stays pending, claimed
  // until the older state's mark, then due again in its own state.
  submitted(*box, request({change("n3", user_a, R"({"Title":"B"})", 2)}, 1100));
  EXPECT_TRUE(box->take_due(1100, 10).empty());
  box->mark_done(org, user_a, 1, "applied");
  auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->state, record_state::pending);
  EXPECT_EQ(record->version, 2);
  EXPECT_EQ(box->read_history(org, user_a, 1)[0].kind, history_kinds::superseded);
  const auto newer = box->take_due(1100, 10);
  ASSERT_EQ(newer.size(), 1u);
  EXPECT_EQ(newer[0].record_id, user_a);
  EXPECT_EQ(newer[0].version, 2);
  EXPECT_EQ(newer[0].fields_json, R"({"Title":"B"})");
  box->mark_done(org, user_a, 1, "applied");  // a stale, repeated mark settles nothing
  EXPECT_EQ(box->find_record(org, user_a)->state, record_state::pending);
  box->mark_done(org, user_a, 2, "applied");
  EXPECT_EQ(box->find_record(org, user_a)->state, record_state::done);
  EXPECT_EQ(box->find_record(org, user_a)->last_outcome, "applied");

  box->mark_failed(org, user_b, 1, "iSpring 503", 5000, false);
  record = box->find_record(org, user_b);
  EXPECT_EQ(record->state, record_state::retrying);
  EXPECT_EQ(record->attempts, 1);
  EXPECT_TRUE(box->take_due(4999, 10).empty());
  box->mark_failed(org, user_b, 1, "rejected", 0, true);
  EXPECT_EQ(box->find_record(org, user_b)->state, record_state::dead);
  EXPECT_EQ(box->list_records(record_state::dead, 10).size(), 1u);
  EXPECT_EQ(box->requeue_dead(user_b, 7000), 1u);
  record = box->find_record(org, user_b);
  EXPECT_EQ(record->state, record_state::pending);
  EXPECT_EQ(record->due_at, 7000);
  EXPECT_EQ(box->read_history(org, user_b, 1)[0].kind, history_kinds::requeued);
  EXPECT_EQ(box->requeue_dead("", 7000), 0u);
}

TEST_F(postgres_store_test, stats_count_every_kind_and_the_oldest_waiting_change) {
  auto box = open();
  EXPECT_EQ(box->stats().last_received_at, std::nullopt);
  submitted(*box, request({change("n1", user_a, "{}"), change("n2", user_b, "{}"),
                           change("n3", user_c, "{}"), change("n4", "0055g00000AbCdHAAZ", "{}")},
                          4000));
  submitted(*box, request({change("n1", user_a, "{}")}, 3000));
  box->mark_failed(org, user_b, 1, "x", 9000, false);
  box->mark_failed(org, user_c, 1, "y", 0, true);
  box->mark_done(org, "0055g00000AbCdHAAZ", 1, "skipped: no department");
  const auto stats = box->stats();
  EXPECT_EQ(stats.notifications_received, 4);
  EXPECT_EQ(stats.duplicates_ignored, 1);
  EXPECT_EQ(stats.pending, 1);
  EXPECT_EQ(stats.retrying, 1);
  EXPECT_EQ(stats.dead_letters, 1);
  EXPECT_EQ(stats.skipped, 1);
  EXPECT_EQ(stats.last_received_at, 4000);
  EXPECT_EQ(stats.oldest_waiting_since, 4000);
}

TEST_F(postgres_store_test, held_records_wait_for_the_operator_unless_a_newer_state_arrives) {
  auto box = open();
  submitted(*box, request({change("n1", user_a, "{}"), change("n2", user_b, "{}")}));
  box->mark_held(org, user_a, 1, "safety limit");
  box->mark_held(org, user_b, 1, "safety limit");
  EXPECT_EQ(box->stats().held, 2);
  EXPECT_TRUE(box->take_due(1'000'000, 10).empty());
  EXPECT_EQ(box->records_in_flight(org).size(), 2u);
  // A newer state of b is a new change: pending, not released.
  submitted(*box, request({change("n3", user_b, R"({"IsActive":true})")}, 2000));
  EXPECT_EQ(box->find_record(org, user_b)->state, record_state::pending);
  EXPECT_FALSE(box->find_record(org, user_b)->released);
  EXPECT_EQ(box->release_held("", 5000), 1u);
  const auto record = box->find_record(org, user_a);
  EXPECT_EQ(record->state, record_state::pending);
  EXPECT_TRUE(record->released);
  EXPECT_EQ(record->due_at, 5000);
  EXPECT_EQ(box->read_history(org, user_a, 1)[0].details_json, R"({"version":1})");
  EXPECT_EQ(box->release_held(user_a, 5000), 0u);
}

TEST_F(postgres_store_test, retirements_are_kept_and_pruned) {
  auto box = open();
  box->note_retirement(org, user_a, 1000, 0);
  box->note_retirement(org, user_b, 2000, 0);
  box->note_retirement(org, user_c, 3000, 1500);  // prunes the first
  EXPECT_EQ(box->retirements_since(org, 0), (std::vector<epoch_ms>{2000, 3000}));
  EXPECT_EQ(box->retirements_since(org, 2500), (std::vector<epoch_ms>{3000}));
  EXPECT_TRUE(box->retirements_since("00D5g000004XyZbEAK", 0).empty());
}

// --- links --------------------------------------------------------------------------------

TEST_F(postgres_store_test, links_are_stored_replaced_counted_and_removed) {
  auto box = open();
  box->set_link(org, user_a, "ispring-1");
  box->set_links(org, {{user_b, "ispring-2"}, {user_c, "ispring-3"}});
  box->set_link(org, user_a, "ispring-9");
  EXPECT_EQ(box->find_link(org, user_a), "ispring-9");
  EXPECT_EQ(box->count_links(org), 3u);
  EXPECT_EQ(box->find_linked_record("ispring-2"),
            std::make_pair(std::string(org), std::string(user_b)));
  box->remove_link(org, user_b);
  box->remove_link(org, "0055g00000AbCdZAAZ");  // unknown: no error
  EXPECT_FALSE(box->find_link(org, user_b));
  EXPECT_FALSE(box->find_linked_record("ispring-2"));
  EXPECT_EQ(box->list_links(org).size(), 2u);
  EXPECT_EQ(box->count_links("00D5g000004XyZbEAK"), 0u);
}

TEST_F(postgres_store_test, department_keys_compare_ignoring_case_and_keep_the_newest_spelling) {
  auto box = open();
  box->set_department_links(org, {{"Sales", "dep-1", "Sales"}, {"HR", "dep-2", "HR"}});
  box->set_department_links(org, {{"SALES", "dep-1", "Sales EMEA"}});
  const auto links = box->list_department_links(org);
  ASSERT_EQ(links.size(), 2u);
  EXPECT_EQ(links[0].key, "HR");
  EXPECT_EQ(links[1].key, "SALES");
  EXPECT_EQ(links[1].name, "Sales EMEA");
  EXPECT_EQ(box->find_department_link(org, "sales")->department_id, "dep-1");
  box->remove_department_links(org, {"dep-1"});
  EXPECT_FALSE(box->find_department_link(org, "Sales"));
  EXPECT_TRUE(box->find_department_link(org, "hr"));
}

// --- runs -----------------------------------------------------------------------------------

TEST_F(postgres_store_test, runs_go_from_queued_to_finished_and_old_ones_are_pruned) {
  settings_.runs_kept = 2;
  settings_.plans_kept = 1;
  auto box = open();
  const auto first = box->create_run("manual", true, 100);
  box->start_run(first, 110);
  EXPECT_THROW(box->start_run(first, 111), std::runtime_error);
  EXPECT_EQ(box->running_run()->id, first);
  box->update_run_counts(first, {{"read", 5}});
  box->finish_run(first, "succeeded", 120, {{"read", 10}}, "done", R"({"plan":1})");
  EXPECT_THROW(box->finish_run(first, "failed", 121, {}, ""), std::runtime_error);
  EXPECT_THROW(box->finish_run(first, "bogus", 121, {}, ""), std::invalid_argument);
  auto run = box->find_run(first, true);
  EXPECT_EQ(run->status, "succeeded");
  EXPECT_EQ(run->counts.at("read"), 10);
  EXPECT_EQ(run->plan_json, R"({"plan":1})");
  EXPECT_TRUE(run->dry_run);
  EXPECT_FALSE(box->last_sync()) << "a dry run is no sync";

  const auto second = box->create_run("scheduled", false, 200);
  box->start_run(second, 210);
  box->finish_run(second, "failed", 220, {}, "boom", R"({"plan":2})");
  const auto third = box->create_run("cli", false, 300);
  box->start_run(third, 310);
  box->finish_run(third, "succeeded", 320, {}, "");
  EXPECT_EQ(box->last_sync()->id, third);
  const auto runs = box->list_runs(10);
  ASSERT_EQ(runs.size(), 2u) << "two kept";
  EXPECT_EQ(runs[0].id, third);
  EXPECT_GT(third, second) << "ids are never reused";
  EXPECT_EQ(box->list_runs(10, false).size(), 2u);
  EXPECT_EQ(box->find_run(second, true)->plan_json, R"({"plan":2})");
  EXPECT_FALSE(box->find_run(first));
}

TEST_F(postgres_store_test, runs_of_a_gone_owner_are_failed_and_live_ones_left_alone) {
  auto box = open();
  const auto mine = box->create_run("manual", false, 100);
  box->start_run(mine, 110);
  const auto orphan = box->create_run("manual", false, 200);
  sql("UPDATE runs SET owner_pid = 999999999, owner_instance = 'gone/1' WHERE id = " +
      std::to_string(orphan));
  EXPECT_EQ(box->fail_interrupted_runs(500), 1u);
  EXPECT_EQ(box->find_run(orphan)->status, "failed");
  EXPECT_EQ(box->find_run(orphan)->message, interrupted_run_message);
  EXPECT_EQ(box->find_run(mine)->status, "running");
}

// --- history, search, pruning ---------------------------------------------------------------

TEST_F(postgres_store_test, history_is_told_newest_first_and_pruned_by_age_and_cap) {
  settings_.history_max_events_per_user = 3;
  settings_.history_retention_ms = 10'000;
  auto box = open();
  submitted(*box, request({change("n1", user_a, "{}")}, 1000));
  box->record_history({event(user_a, 2000, history_kinds::mapped),
                       event(user_a, 3000, history_kinds::applied, R"({"x":1})"),
                       event(user_b, 3000, history_kinds::applied, "not json")});
  box->mark_done(org, user_a, 1);  // the events above ride along its commit
  auto history = box->read_history(org, user_a, 10);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].kind, history_kinds::applied);
  EXPECT_EQ(history[0].details_json, R"({"x":1})");
  EXPECT_EQ(history[2].kind, history_kinds::received);
  EXPECT_EQ(box->read_history(org, user_b, 10)[0].details_json, "{}");
  box->record_history({event(user_a, 4000, history_kinds::applied)});
  box->mark_done(org, user_a, 1);
  EXPECT_EQ(box->prune_history(5000, 100), 1u) << "beyond the cap of 3";
  EXPECT_EQ(box->read_history(org, user_a, 10).size(), 3u);
  // Older than 10 s at 13.5 s: a's 2000 and 3000, and b's 3000.
  EXPECT_EQ(box->prune_history(13'500, 100), 3u);
  EXPECT_EQ(box->read_history(org, user_a, 10).size(), 1u);
}

TEST_F(postgres_store_test, users_are_found_by_id_login_or_email_once_applied) {
  settings_.login_field = "Username";
  auto box = open();
  submitted(*box,
            request({change("n1", user_a, R"({"Username":"JDoe@Acme.com","Email":"j@x.io"})"),
                     change("n2", user_b, R"({"Username":"ann@acme.com","Email":"A@x.io"})")}));
  user_query q;
  q.organization_ids = {org};
  q.text = "jdoe@acme.com";
  EXPECT_TRUE(box->search_users(q).empty()) << "not applied yet";
  box->mark_done(org, user_a, 1);
  box->mark_done(org, user_b, 1);
  auto found = box->search_users(q);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].record_id, user_a);
  EXPECT_EQ(found[0].login, "JDoe@Acme.com");
  EXPECT_EQ(found[0].state, record_state::done);
  q.text = "a@X.IO";
  EXPECT_EQ(box->search_users(q).size(), 1u) << "e-mail ignoring case";
  q.text = "0055g00000AbCd";
  EXPECT_TRUE(box->search_users(q).empty()) << "not a whole id";
  q.prefix = true;
  EXPECT_EQ(box->search_users(q).size(), 2u);
  q.text = "0055g00000abcd";
  EXPECT_TRUE(box->search_users(q).empty()) << "ids are case-sensitive";
  q.organization_ids = {"00D5g000004XyZbEAK"};
  q.text = "ann";
  EXPECT_TRUE(box->search_users(q).empty());
}

TEST_F(postgres_store_test, expired_notification_ids_and_settled_unlinked_records_are_pruned) {
  settings_.notification_retention_ms = 1000;
  auto box = open();
  submitted(*box, request({change("n1", user_a, "{}"), change("n2", user_b, "{}"),
                           change("n3", user_c, "{}")},
                          1000));
  box->mark_done(org, user_a, 1);
  box->mark_done(org, user_b, 1);
  box->set_link(org, user_b, "ispring-2");
  // 3 ids, a's record and its look-up keys (b is linked, c waits for the worker).
  EXPECT_EQ(box->prune_expired(5000, 100), 5u);
  EXPECT_FALSE(box->has_notification(org, "n1"));
  EXPECT_FALSE(box->find_record(org, user_a));
  EXPECT_TRUE(box->find_record(org, user_b));
  EXPECT_TRUE(box->find_record(org, user_c));
}

TEST_F(postgres_store_test, the_admin_page_counts_notifications_and_applied_users_per_bucket) {
  auto box = open();
  submitted(*box, request({change("n1", user_a, "{}")}, 1000));
  submitted(*box, request({change("n2", user_b, "{}"), change("n3", user_c, "{}")}, 2500));
  box->record_history({event(user_a, 1500, history_kinds::applied),
                       event(user_b, 2600, history_kinds::reconciled, R"({"ok":true})"),
                       event(user_c, 2700, history_kinds::reconciled, R"({"ok":false})")});
  box->mark_done(org, user_a, 1);
  EXPECT_EQ(box->notifications_per_bucket(1000, 1000, 3), (std::vector<std::int64_t>{1, 2, 0}));
  EXPECT_EQ(box->applied_per_bucket(1000, 1000, 3), (std::vector<std::int64_t>{1, 1, 0}));
}

// --- what only a server brings ----------------------------------------------------------------

// The backend that runs the writer's transaction, once it waits for `table`'s lock.
std::string writer_waiting_on_lock(postgres_server& server, const std::string& database) {
  std::string pid;
  testing::eventually([&] {
    pid = server.admin_sql(database,
                           "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock' LIMIT 1");
    return !pid.empty();
  });
  return pid;
}

TEST_F(postgres_store_test, a_connection_lost_mid_batch_fails_it_and_the_engine_recovers) {
  auto box = open();
  ASSERT_TRUE(submitted(*box, request({change("n0", user_c, "{}")})).committed);
  postgres_connection intruder(server().admin_conninfo(database()));
  intruder.exec("BEGIN; LOCK TABLE counters IN EXCLUSIVE MODE", "hold the counters");
  auto pending = std::async(std::launch::async, [&] {
    return submitted(*box, request({change("n1", user_a, "{}"), change("n2", user_b, "{}")}));
  });
  // The writer has inserted n1 and n2 inside its transaction and waits at the counters.
  const std::string pid = writer_waiting_on_lock(server(), database());
  ASSERT_FALSE(pid.empty());
  server().admin_sql(database(), "SELECT pg_terminate_backend(" + pid + ")");
  const auto lost = pending.get();
  EXPECT_FALSE(lost.committed) << "never acked";
  EXPECT_NE(lost.error, "");
  EXPECT_EQ(lost.error.find(server().password()), std::string::npos) << lost.error;
  intruder.exec("ROLLBACK", "let go");
  EXPECT_FALSE(box->has_notification(org, "n1")) << "rolled back with the connection";
  // The next batch reconnects: Salesforce's redelivery is stored, not taken for a duplicate.
  const auto again =
      submitted(*box, request({change("n1", user_a, "{}"), change("n2", user_b, "{}")}));
  EXPECT_TRUE(again.committed) << again.error;
  EXPECT_EQ(again.stored, 2u);
  EXPECT_EQ(box->stats().notifications_received, 3);
}

TEST_F(postgres_store_test, a_server_restart_fails_requests_until_it_is_back_and_loses_no_ack) {
  auto box = open();
  ASSERT_TRUE(submitted(*box, request({change("n0", user_a, "{}")})).committed);
  server().restart();
  std::vector<std::string> acked{"n0"};
  int attempt = 0;
  testing::eventually([&] {
    const std::string id = "r" + std::to_string(attempt++);
    const auto outcome = submitted(*box, request({change(id, user_b, "{}")}));
    if (outcome.committed) acked.push_back(id);
    return outcome.committed;
  });
  for (const auto& id : acked) EXPECT_TRUE(box->has_notification(org, id)) << id;
  EXPECT_EQ(box->stats().notifications_received, static_cast<std::int64_t>(acked.size()));
  box->mark_done(org, user_a, 1);  // the worker's writes come back too
  EXPECT_EQ(box->find_record(org, user_a)->state, record_state::done);
}

TEST_F(postgres_store_test, a_server_that_is_down_fails_each_batch_at_once_with_the_cause) {
  auto box = open();
  server().stop();
  const auto outcome = submitted(*box, request({change("n1", user_a, "{}")}));
  const auto second = submitted(*box, request({change("n2", user_a, "{}")}));
  EXPECT_THROW(box->mark_done(org, user_a, 1), std::runtime_error);
  server().start();
  EXPECT_FALSE(outcome.committed);
  EXPECT_FALSE(second.committed);
  EXPECT_NE(outcome.error.find("postgresql"), std::string::npos) << outcome.error;
  EXPECT_EQ(outcome.error.find(server().password()), std::string::npos) << outcome.error;
  EXPECT_EQ(second.error.find(server().password()), std::string::npos) << second.error;
  testing::eventually(
      [&] { return submitted(*box, request({change("n3", user_a, "{}")})).committed; });
  EXPECT_FALSE(box->has_notification(org, "n1"));
}

TEST_F(postgres_store_test, opening_with_a_wrong_password_names_the_cause_and_not_the_password) {
  auto& server = postgres_server::shared();
  store_settings settings;
  settings.postgresql_url = settings_.postgresql_url;
  const std::string wrong = "S3cretWrong-" + server.password();
  settings.postgresql_url.replace(settings.postgresql_url.find(server.password()),
                                  server.password().size(), wrong);
  try {
    open_postgres_store(settings);
    FAIL() << "a wrong password must not open";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("password authentication failed"), std::string::npos) << message;
    EXPECT_EQ(message.find("S3cretWrong"), std::string::npos) << message;
  }
  settings.postgresql_url = "postgresql://connector:S3cretWrong@127.0.0.1:1/db?nonsense=1";
  try {
    open_postgres_reader(settings);
    FAIL() << "a malformed URL must not open";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("store.postgresql_url"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("S3cretWrong"), std::string::npos) << e.what();
  }
}

TEST_F(postgres_store_test, a_reader_of_a_database_without_the_schema_says_so) {
  try {
    open_postgres_reader(settings_);
    FAIL() << "nothing to read yet";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("connector serve"), std::string::npos) << e.what();
  }
}

TEST_F(postgres_store_test, closing_commits_everything_already_accepted) {
  constexpr int requests = 300;
  std::atomic<int> committed{0};
  {
    auto box = open();
    for (int i = 0; i < requests; ++i)
      box->submit(request({change("n" + std::to_string(i), "rec" + std::to_string(i), "{}")}),
                  [&](const intake_outcome& o) { committed += o.committed ? 1 : 0; });
  }
  EXPECT_EQ(committed, requests);
  EXPECT_EQ(open_postgres_reader(settings_)->stats().notifications_received, requests);
}

}  // namespace
}  // namespace connector::store
