// Per-user history in the SQLite inbox: what intake records inside its own transaction,
// what the worker's side hands over, the store's own moves, pruning by age and per-user cap
// (injected clock), and the look-ups by id, login and e-mail.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "connector/store/open.hpp"
#include "support/eventually.hpp"
#include "support/inbox_input.hpp"
#include "support/service.hpp"
#include "support/store_engines.hpp"

namespace connector::store {
namespace {

constexpr const char* org = "00D5g000004XyZaEAK";
constexpr const char* user_a = "0055g00000AbCdEAAZ";
constexpr const char* user_b = "0055g00000AbCdFAAZ";
using testing::inbox_input::change;
using testing::inbox_input::event;
using testing::inbox_input::request;

constexpr epoch_ms day_ms = 24LL * 60 * 60 * 1000;

std::string user_fields(const std::string& username, const std::string& email) {
  return nlohmann::json{{"Username", username}, {"Email", email}, {"LastName", "X"}}.dump();
}

std::vector<std::string> kinds_of(const std::vector<history_event>& events) {
  std::vector<std::string> kinds;
  for (const auto& e : events) kinds.push_back(e.kind);
  return kinds;
}

nlohmann::json details_of(const history_event& e) {
  return nlohmann::json::parse(e.details_json);
}

class history_test : public testing::store_test {
 protected:
  manual_clock clock_{100 * day_ms};

  store_settings options(std::size_t cap = 0) {
    store_settings o = located();
    o.history_retention_ms = 30 * day_ms;
    o.history_max_events_per_user = cap;
    o.time = &clock_;
    // Pruning only when a test asks for it, unless it says otherwise.
    o.history_prune_interval_ms = 3'600'000;
    return o;
  }

  // A synchronous write after record_history: its group commit carries the events.
  static void flush(store& box) { box.remove_link(org, "nobody"); }
};

// The SQLite file itself: its schema, its pages and its other readers.
class sqlite_file_history_test : public history_test {
 protected:
  bool sqlite_only() const override { return true; }
};

INSTANTIATE_STORE_ENGINES(history_test);

TEST_P(history_test, intake_records_received_duplicate_and_stale_in_its_transaction) {
  auto box = open_store(options());
  const auto t = clock_.now();
  ASSERT_TRUE(box->submit_and_wait(request({change("n1", user_a, "{}", 5'000)}, t)).committed);
  // The same notification again, then an older state, then a newer one while n1 still waits.
  ASSERT_TRUE(box->submit_and_wait(request({change("n1", user_a, "{}", 5'000)}, t + 1)).committed);
  ASSERT_TRUE(box->submit_and_wait(request({change("n0", user_a, "{}", 4'000)}, t + 2)).committed);
  ASSERT_TRUE(
      box->submit_and_wait(request({change("n2", user_a, "{}", 6'000)}, t + 3, "event")).committed);

  const auto history = box->read_history(org, user_a, 10);
  ASSERT_EQ(kinds_of(history),
            (std::vector<std::string>{"received", "stale", "duplicate", "received"}));
  EXPECT_EQ(history[0].time, t + 3);
  // Intake stores what arrived, not that n2 merged into n1's waiting change: explain reads
  // that from the events before (note_merges), so intake stays one upsert per notification.
  EXPECT_EQ(details_of(history[0]),
            (nlohmann::json{{"source", "event"}, {"notification_id", "n2"}, {"modstamp", 6'000}}));
  EXPECT_EQ(details_of(history[1]),
            (nlohmann::json{
                {"source", "outbound_message"}, {"notification_id", "n0"}, {"modstamp", 4'000}}));
  EXPECT_EQ(details_of(history[2]),
            (nlohmann::json{
                {"source", "outbound_message"}, {"notification_id", "n1"}, {"modstamp", 5'000}}));
  EXPECT_EQ(history[3].time, t);
  EXPECT_TRUE(box->read_history(org, user_b, 10).empty());
}

TEST_P(history_test, intake_notes_a_change_deleted_before_delivery_and_one_sent_without_data) {
  auto box = open_store(options());
  const auto t = clock_.now();
  auto deleted = change("d1", user_a, "{}");
  deleted.has_data = false;
  auto gap = change("g1", user_b, "{}");
  gap.has_data = false;
  gap.reread = true;
  ASSERT_TRUE(box->submit_and_wait(request({deleted, gap}, t, "event")).committed);

  const auto a = box->read_history(org, user_a, 10);
  ASSERT_EQ(kinds_of(a), std::vector<std::string>{"received"});
  EXPECT_EQ(details_of(a[0]),
            (nlohmann::json{{"source", "event"}, {"notification_id", "d1"}, {"no_data", true}}));
  const auto b = box->read_history(org, user_b, 10);
  ASSERT_EQ(kinds_of(b), std::vector<std::string>{"received"});
  EXPECT_EQ(details_of(b[0]),
            (nlohmann::json{{"source", "event"}, {"notification_id", "g1"}, {"reread", true}}));
  EXPECT_TRUE(box->find_record(org, user_b)->needs_reread);
  // A later deletion keeps the mark to re-read: only a saved read clears it.
  auto again = change("d2", user_b, "{}");
  again.has_data = false;
  ASSERT_TRUE(box->submit_and_wait(request({again}, t + 1, "event")).committed);
  EXPECT_TRUE(box->find_record(org, user_b)->needs_reread);
}

TEST_F(sqlite_file_history_test, a_failed_commit_leaves_no_intake_events_behind) {
  auto box = open_store(options());
  const auto t = clock_.now();
  ASSERT_TRUE(box->submit_and_wait(request({change("n1", user_b, "{}")}, t)).committed);
  // The store refuses the next update of user_b (a trigger stands in for a full disk):
  // user_a's change, staged first, goes with the rest of the failed commit.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, R"(CREATE TRIGGER refuse BEFORE UPDATE ON records
                               BEGIN SELECT RAISE(ABORT, 'injected failure'); END)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_FALSE(
      box->submit_and_wait(request({change("n2", user_a, "{}"), change("n3", user_b, "{}")}, t + 1))
          .committed);
  ASSERT_EQ(sqlite3_exec(db, "DROP TRIGGER refuse", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  ASSERT_TRUE(box->submit_and_wait(request({change("n4", user_b, "{}")}, t + 2)).committed);

  EXPECT_FALSE(box->find_record(org, user_a));
  EXPECT_TRUE(box->read_history(org, user_a, 10).empty());
  const auto b = box->read_history(org, user_b, 10);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(details_of(b[0])["notification_id"], "n4");
  EXPECT_EQ(b[0].time, t + 2);
  EXPECT_EQ(details_of(b[1])["notification_id"], "n1");
  EXPECT_EQ(b[1].time, t);
}

TEST_P(history_test, details_with_quotes_and_control_characters_stay_valid_json) {
  auto box = open_store(options());
  const std::string odd_id = "id \"quoted\" \\ back\nslash\x01";
  ASSERT_TRUE(
      box->submit_and_wait(request({change(odd_id, user_a, "{}")}, clock_.now())).committed);
  const auto history = box->read_history(org, user_a, 10);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(details_of(history[0])["notification_id"], odd_id);
}

TEST_F(sqlite_file_history_test, worker_events_ride_along_the_next_commit_and_read_newest_first) {
  auto box = open_store(options());
  box->record_history({event(user_a, 10, "mapped", R"({"login":"a"})"),
                       event(user_a, 10, "scope", R"({"reason":"no department"})"),
                       event(user_a, 11, "skipped"), event(user_b, 9, "applied"),
                       event(user_a, 12, "applied", "not json")});
  flush(*box);
  const auto history = box->read_history(org, user_a, 10);
  // Same millisecond: the later recorded comes first.
  EXPECT_EQ(kinds_of(history), (std::vector<std::string>{"applied", "skipped", "scope", "mapped"}));
  EXPECT_EQ(history[0].details_json, "{}");  // a broken details object is replaced, not stored
  EXPECT_EQ(details_of(history[2])["reason"], "no department");
  EXPECT_EQ(kinds_of(box->read_history(org, user_a, 2)),
            (std::vector<std::string>{"applied", "skipped"}));
  // The same, read-only beside the writer (the CLI).
  EXPECT_EQ(kinds_of(testing::sqlite_reader_of(db_path())->read_history(org, user_a, 10)),
            kinds_of(history));
}

TEST_P(history_test, an_apply_overtaken_by_a_newer_state_is_recorded_as_superseded) {
  auto box = open_store(options());
  ASSERT_TRUE(box->submit_and_wait(request({change("n1", user_a, "{}")}, 1'000)).committed);
  const auto taken = box->take_due(1'000, 10);
  ASSERT_EQ(taken.size(), 1u);
  ASSERT_TRUE(box->submit_and_wait(request({change("n2", user_a, "{}")}, 1'001)).committed);
  clock_.set(2'000);
  box->mark_done(org, user_a, taken[0].version, "applied");
  const auto history = box->read_history(org, user_a, 10);
  ASSERT_EQ(history.front().kind, "superseded");
  EXPECT_EQ(history.front().time, 2'000);
  EXPECT_EQ(details_of(history.front())["applied_version"], taken[0].version);

  // The newer version finishes normally: nothing more is recorded by the store.
  box->mark_done(org, user_a, taken[0].version + 1, "applied");
  EXPECT_EQ(box->read_history(org, user_a, 10).size(), history.size());
}

TEST_P(history_test, re_queued_dead_letters_are_recorded_per_user) {
  auto box = open_store(options());
  ASSERT_TRUE(
      box->submit_and_wait(request({change("n1", user_a, "{}"), change("n2", user_b, "{}")}, 1'000))
          .committed);
  for (const auto& r : box->take_due(1'000, 10))
    box->mark_failed(org, r.record_id, r.version, "HTTP 400", 0, true);
  EXPECT_EQ(box->requeue_dead(user_a, 5'000), 1u);
  EXPECT_EQ(box->read_history(org, user_a, 1).front().kind, "requeued");
  EXPECT_EQ(box->read_history(org, user_a, 1).front().time, 5'000);
  EXPECT_EQ(box->read_history(org, user_b, 1).front().kind, "received");
  EXPECT_EQ(box->requeue_dead("", 6'000), 1u);
  EXPECT_EQ(box->read_history(org, user_b, 1).front().kind, "requeued");
}

TEST_P(history_test, pruning_removes_events_past_the_retention_in_small_batches) {
  auto box = open_store(options());
  const epoch_ms now = clock_.now();
  std::vector<history_event> events;
  for (int i = 0; i < 25; ++i) events.push_back(event(user_a, now - 40 * day_ms + i, "applied"));
  events.push_back(event(user_a, now - 29 * day_ms, "skipped"));
  events.push_back(event(user_b, now - 31 * day_ms, "applied"));
  box->record_history(std::move(events));
  flush(*box);

  EXPECT_EQ(box->prune_history(now, 10), 10u);  // a batch never exceeds what was asked
  EXPECT_EQ(box->prune_history(now, 10), 10u);
  EXPECT_EQ(box->prune_history(now, 10), 6u);
  EXPECT_EQ(box->prune_history(now, 10), 0u);
  EXPECT_EQ(kinds_of(box->read_history(org, user_a, 100)), std::vector<std::string>{"skipped"});
  EXPECT_TRUE(box->read_history(org, user_b, 100).empty());
  // A day later the 29-day-old event is past the retention too.
  EXPECT_EQ(box->prune_history(now + 2 * day_ms, 10), 1u);
}

TEST_P(history_test, pruning_keeps_the_newest_events_of_each_user_within_the_cap) {
  auto box = open_store(options(3));
  const epoch_ms now = clock_.now();
  std::vector<history_event> events;
  for (int i = 0; i < 6; ++i) events.push_back(event(user_a, now - 100 + i, "applied"));
  events.push_back(event(user_b, now - 50, "skipped"));
  box->record_history(std::move(events));
  // Intake's events count towards the cap too.
  ASSERT_TRUE(box->submit_and_wait(request({change("n1", user_a, "{}")}, now)).committed);
  EXPECT_EQ(box->prune_history(now, 100), 4u);
  const auto kept = box->read_history(org, user_a, 100);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].kind, "received");
  EXPECT_EQ(kept[1].time, now - 100 + 5);
  EXPECT_EQ(kept[2].time, now - 100 + 4);
  EXPECT_EQ(box->read_history(org, user_b, 100).size(), 1u);
  EXPECT_EQ(box->prune_history(now, 100), 0u);
}

TEST_P(history_test, the_writer_prunes_by_itself_when_idle) {
  auto o = options();
  o.history_prune_interval_ms = 5;
  o.history_prune_batch = 4;
  auto box = open_store(o);
  std::vector<history_event> events;
  for (int i = 0; i < 10; ++i) events.push_back(event(user_a, 1'000 + i, "applied"));
  events.push_back(event(user_a, clock_.now(), "skipped"));
  box->record_history(std::move(events));
  flush(*box);
  // Batches of 4, one after the other while idle, until only the recent event is left.
  EXPECT_TRUE(testing::eventually([&] { return box->read_history(org, user_a, 100).size() == 1; }));
  EXPECT_EQ(box->read_history(org, user_a, 1).front().kind, "skipped");
}

TEST_F(sqlite_file_history_test, users_are_found_by_id_login_or_email_ignoring_case_and_by_prefix) {
  auto box = open_store(options());
  ASSERT_TRUE(
      box->submit_and_wait(
             request({change("n1", user_a, user_fields("Jane@Acme.com.prod", "jane@acme.com")),
                      change("n2", user_b, user_fields("john@acme.com.prod", "JOHN@acme.com"))},
                     1'000))
          .committed);
  user_query before;
  before.organization_ids = {org};
  before.text = "jane@acme.com";
  // The keys are the worker's: a record waiting for its first apply is found by id only.
  EXPECT_TRUE(box->search_users(before).empty());
  for (const auto& r : box->take_due(1'000, 10))
    box->mark_done(org, r.record_id, r.version, "applied");
  user_query q;
  q.organization_ids = {org};
  const auto find = [&](const std::string& text, bool prefix) {
    q.text = text;
    q.prefix = prefix;
    std::vector<std::string> ids;
    for (const auto& m : box->search_users(q)) ids.push_back(m.record_id);
    return ids;
  };
  using ids = std::vector<std::string>;
  EXPECT_EQ(find("jane@acme.com.PROD", false), ids{user_a});
  EXPECT_EQ(find("john@acme.com", false), ids{user_b});
  EXPECT_EQ(find(user_b, false), ids{user_b});
  EXPECT_EQ(find("jane@acme.com.pro", false), ids{});
  EXPECT_EQ(find("j", true), (ids{user_a, user_b}));
  EXPECT_EQ(find("JOHN", true), ids{user_b});
  EXPECT_EQ(find("0055g00000AbCd", true), (ids{user_a, user_b}));
  EXPECT_EQ(find("", true), ids{});
  q.limit = 1;
  q.offset = 1;
  EXPECT_EQ(find("j", true), ids{user_b});
  q.limit = 20;
  q.offset = 0;
  q.organization_ids = {"00D5g000004XyZbEAK"};
  EXPECT_EQ(find("j", true), ids{});

  q.organization_ids = {org};
  q.text = "jane@acme.com";
  q.prefix = false;
  const auto found = box->search_users(q);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].login, "Jane@Acme.com.prod");
  EXPECT_EQ(found[0].email, "jane@acme.com");
  EXPECT_EQ(found[0].state, record_state::done);

  // The same read-only, beside the writer.
  EXPECT_EQ(testing::sqlite_reader_of(db_path())->search_users(q).size(), 1u);

  // A changed e-mail moves the key with the next apply.
  ASSERT_TRUE(
      box->submit_and_wait(request({change("n3", user_a, R"({"Email":"jd@acme.com"})")}, 2'000))
          .committed);
  EXPECT_EQ(box->search_users(q).size(), 1u);
  box->mark_done(org, user_a, 2, "applied");
  EXPECT_TRUE(box->search_users(q).empty());
  q.text = "JD@acme.com";
  EXPECT_EQ(box->search_users(q).size(), 1u);
  box->set_link(org, user_a, "isp-1");
  EXPECT_EQ(box->find_linked_record("isp-1"),
            std::make_pair(std::string(org), std::string(user_a)));
  EXPECT_EQ(testing::sqlite_reader_of(db_path())->find_linked_record("isp-1")->second, user_a);
  EXPECT_FALSE(box->find_linked_record("isp-2"));
}

// The look-up must use the key indexes, or a search reads every one of 100k users.
TEST_F(sqlite_file_history_test, the_search_uses_the_key_indexes) {
  { auto box = open_store(options()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  const std::string sql = R"(EXPLAIN QUERY PLAN
SELECT k.organization_id, k.record_id, k.login, k.email, r.state
FROM user_keys AS k LEFT JOIN records AS r USING (organization_id, record_id)
WHERE +k.organization_id IN (SELECT value FROM json_each('["a"]'))
  AND ((k.organization_id IN (SELECT value FROM json_each('["a"]'))
        AND k.record_id >= 'x' AND k.record_id < 'y')
    OR (k.login_key >= 'j' AND k.login_key < 'k')
    OR (k.email_key >= 'j' AND k.email_key < 'k'))
ORDER BY k.record_id, k.organization_id LIMIT 10)";
  std::string plan;
  sqlite3_exec(
      db, sql.c_str(),
      [](void* out, int columns, char** values, char**) {
        *static_cast<std::string*>(out) += std::string(values[columns - 1]) + "\n";
        return 0;
      },
      &plan, nullptr);
  sqlite3_close(db);
  EXPECT_NE(plan.find("user_keys_by_login"), std::string::npos) << plan;
  EXPECT_NE(plan.find("user_keys_by_email"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("SCAN k"), std::string::npos) << plan;
}

TEST_P(history_test, the_keys_follow_the_mappings_login_field) {
  auto o = options();
  o.login_field = "FederationIdentifier";
  auto box = open_store(o);
  ASSERT_TRUE(box->submit_and_wait(
                     request({change("n1", user_a, R"({"FederationIdentifier":"JD-7"})")}, 1'000))
                  .committed);
  box->mark_done(org, user_a, 1, "applied");
  user_query q;
  q.organization_ids = {org};
  q.text = "jd-7";
  ASSERT_EQ(box->search_users(q).size(), 1u);
  EXPECT_EQ(box->search_users(q)[0].login, "JD-7");
  box.reset();
  o.login_field = "bad'field";
  EXPECT_THROW(open_store(o), std::exception);
}

TEST_F(sqlite_file_history_test, intake_events_are_read_before_and_after_the_writer_moves_them) {
  auto o = options();
  o.history_prune_interval_ms = 5;
  auto box = open_store(o);
  const epoch_ms now = clock_.now();
  ASSERT_TRUE(box->submit_and_wait(request({change("n1", user_a, "{}")}, now)).committed);
  box->record_history({event(user_a, now, "mapped")});
  flush(*box);
  // Same millisecond: intake's event came first, wherever it is.
  EXPECT_EQ(kinds_of(box->read_history(org, user_a, 10)),
            (std::vector<std::string>{"mapped", "received"}));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  const auto staged = [&] {
    sqlite3_stmt* statement = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM user_history_new", -1, &statement, nullptr);
    sqlite3_step(statement);
    const int count = sqlite3_column_int(statement, 0);
    sqlite3_finalize(statement);
    return count;
  };
  // Idle, the writer moves them into the indexed table by itself.
  EXPECT_TRUE(testing::eventually([&] { return staged() == 0; }));
  sqlite3_close(db);
  EXPECT_EQ(kinds_of(box->read_history(org, user_a, 10)),
            (std::vector<std::string>{"mapped", "received"}));
  // And the ids keep counting across a restart.
  box.reset();
  box = open_store(o);
  ASSERT_TRUE(box->submit_and_wait(request({change("n2", user_a, "{}")}, now)).committed);
  const auto after = box->read_history(org, user_a, 10);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(details_of(after[0])["notification_id"], "n2");
  EXPECT_GT(after[0].id, after[1].id);
}

}  // namespace
}  // namespace connector::store
