// A bounded store: notification ids are remembered for the dedupe window
// (store.notification_retention_hours) and then pruned; records the worker settled that are
// linked to no iSpring user are pruned after the same time without news. What must never
// happen: a redelivery inside the window applied twice, or a record that still matters (waiting,
// dead, linked) pruned.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "connector/store/open.hpp"
#include "support/eventually.hpp"
#include "support/inbox_input.hpp"
#include "support/raw_sqlite.hpp"
#include "support/service.hpp"
#include "support/store_engines.hpp"

namespace connector::store {
namespace {

constexpr const char* org = "00D5g000004XyZaEAK";
using testing::inbox_input::change;
using testing::inbox_input::request;

constexpr epoch_ms hour_ms = 60LL * 60 * 1000;
constexpr epoch_ms window_ms = 72 * hour_ms;

std::string user_id(int i) {
  // 18 characters, distinct per i.
  char id[19];
  std::snprintf(id, sizeof id, "0055g%010dAAZ", i);
  return std::string(id, 18);
}

std::string user_fields(int i) {
  return nlohmann::json{{"Username", "u" + std::to_string(i) + "@acme.test"},
                        {"Email", "u" + std::to_string(i) + "@acme.test"},
                        {"LastName", "X"}}
      .dump();
}

class retention_test : public testing::store_test {
 protected:
  manual_clock clock_{1000 * hour_ms};

  store_settings options() {
    store_settings o = located();
    o.notification_retention_ms = window_ms;
    o.time = &clock_;
    // Pruning only when a test asks for it, unless it says otherwise.
    o.history_prune_interval_ms = 3'600'000;
    return o;
  }

  std::int64_t count(const std::string& sql) { return testing::raw_sqlite(db_path()).integer(sql); }

  // Stores notification `id` about user `i`, received now.
  intake_outcome notify(store& box, const std::string& id, int i) {
    return box.submit_and_wait(request({change(id, user_id(i), user_fields(i))}, clock_.now()));
  }

  // Takes every due record and marks it done (the worker applied or skipped it).
  static void settle_all(store& box, epoch_ms now) {
    for (const auto& r : box.take_due(now, 1000))
      box.mark_done(r.organization_id, r.record_id, r.version, "applied");
  }
};

// The SQLite file itself: its schema, its pages and its other readers.
class sqlite_file_retention_test : public retention_test {
 protected:
  bool sqlite_only() const override { return true; }
};

INSTANTIATE_STORE_ENGINES(retention_test);

TEST_P(retention_test, ids_past_the_window_are_pruned_in_batches_and_ids_inside_it_still_dedupe) {
  auto box = open_store(options());
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(notify(*box, "old-" + std::to_string(i), i).committed);
  clock_.advance(window_ms - hour_ms);
  ASSERT_TRUE(notify(*box, "recent", 99).committed);

  // One hour short of the window: nothing goes, a redelivery is still a duplicate.
  EXPECT_EQ(box->prune_expired(clock_.now(), 100), 0u);
  const auto redelivered = notify(*box, "old-0", 0);
  EXPECT_EQ(redelivered.duplicates, 1u);
  EXPECT_EQ(redelivered.stored, 0u);

  clock_.advance(2 * hour_ms);
  // A batch never exceeds what was asked; the recent id stays.
  EXPECT_EQ(box->prune_expired(clock_.now(), 10), 10u);
  EXPECT_EQ(box->prune_expired(clock_.now(), 10), 10u);
  EXPECT_EQ(box->prune_expired(clock_.now(), 10), 5u);
  EXPECT_EQ(box->prune_expired(clock_.now(), 10), 0u);
  EXPECT_TRUE(box->has_notification(org, "recent"));
  for (int i = 0; i < 25; ++i)
    EXPECT_FALSE(box->has_notification(org, "old-" + std::to_string(i))) << i;
  // The totals an operator reads are counters, not rows: pruning does not lower them.
  EXPECT_EQ(box->stats().notifications_received, 26);
}

TEST_P(retention_test, only_settled_unlinked_records_past_the_window_are_pruned) {
  auto box = open_store(options());
  // 0: settled, unlinked (an unknown id) → pruned with its look-up keys.
  // 1: settled and linked to an iSpring user → kept (explain shows its last state).
  // 2: dead letter → kept for the operator.
  // 3: still waiting (retrying) → kept.
  // 4: settled, unlinked, but news inside the window → kept.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(notify(*box, "n" + std::to_string(i), i).committed);
  for (const auto& r : box->take_due(clock_.now(), 10)) {
    if (r.record_id == user_id(2)) {
      box->mark_failed(org, r.record_id, r.version, "400 bad login", clock_.now(), true);
    } else if (r.record_id == user_id(3)) {
      box->mark_failed(org, r.record_id, r.version, "503", clock_.now() + 10 * window_ms, false);
    } else {
      box->mark_done(org, r.record_id, r.version, "applied");
    }
  }
  box->set_link(org, user_id(1), "ispring-1");
  // The look-up keys explain finds a user by (user_query): the settled records' and the
  // dead letter's.
  const auto found = [&](int i) {
    user_query q;
    q.organization_ids = {org};
    q.text = user_id(i);
    return box->search_users(q).size();
  };
  ASSERT_EQ(found(0), 1u);
  ASSERT_EQ(found(1), 1u);

  clock_.advance(window_ms - hour_ms);
  ASSERT_TRUE(notify(*box, "n4-again", 4).committed);
  settle_all(*box, clock_.now());
  clock_.advance(2 * hour_ms);

  EXPECT_EQ(box->prune_expired(clock_.now(), 100), 5u + 1u + 1u);  // 5 ids, 1 record, 1 key
  EXPECT_FALSE(box->find_record(org, user_id(0)));
  EXPECT_TRUE(box->find_record(org, user_id(1)));
  EXPECT_EQ(box->find_record(org, user_id(2))->state, record_state::dead);
  EXPECT_EQ(box->find_record(org, user_id(3))->state, record_state::retrying);
  EXPECT_TRUE(box->find_record(org, user_id(4)));
  EXPECT_EQ(found(0), 0u) << "the pruned record's keys go with it";
  EXPECT_EQ(found(1), 1u);

  // A pruned record that comes back is a new change, waiting like any other.
  ASSERT_TRUE(notify(*box, "n0-later", 0).committed);
  const auto back = box->find_record(org, user_id(0));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->state, record_state::pending);
}

TEST_F(sqlite_file_retention_test, the_writer_prunes_by_itself_and_the_file_stops_growing) {
  auto o = options();
  o.history_prune_interval_ms = 5;
  o.history_prune_batch = 200;
  o.history_retention_ms = 2 * 24 * hour_ms;
  auto box = open_store(o);
  // The same 300 users change every 12 hours for 10 days, well past the window.
  const auto round = [&](int r) {
    std::vector<incoming_change> changes;
    for (int i = 0; i < 300; ++i)
      changes.push_back(change("r" + std::to_string(r) + "-" + std::to_string(i), user_id(i),
                               user_fields(i), clock_.now()));
    ASSERT_TRUE(box->submit_and_wait(request(std::move(changes), clock_.now())).committed);
    settle_all(*box, clock_.now());
  };
  for (int r = 0; r < 20; ++r) {
    round(r);
    clock_.advance(12 * hour_ms);
  }
  round(20);
  // The window holds the last 7 rounds' ids (received within 72 hours); the writer gets there
  // on its own while idle.
  EXPECT_TRUE(
      testing::eventually([&] { return count("SELECT count(*) FROM notifications") == 7 * 300; }));
  EXPECT_EQ(count("SELECT count(*) FROM records"), 300);
}

}  // namespace
}  // namespace connector::store
