// Several instances on one store, on both engines (one contract): instances register and go
// stale by their heartbeat, the reconciliation lease has one holder at a time and passes
// when its holder stops beating, the schedule's due time is claimed once however many
// instances ask at the same instant, and runs are judged by their owner instance's
// heartbeat, and due work is claimed: never handed to two live instances, passed on when
// its claimer stops beating. Two stores opened on one database play two instances; the clock
// is injected.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "connector/store/open.hpp"
#include "support/inbox_input.hpp"
#include "support/postgres_server.hpp"
#include "support/service.hpp"

namespace connector::store {
namespace {

constexpr epoch_ms start = 1'000'000;
const std::string name = leases::reconciliation;

instance_record instance(const std::string& id, epoch_ms seen) {
  return {id, "host-" + id, 42, "serve", "test", start, seen};
}

class cluster_test : public ::testing::TestWithParam<std::string> {
 protected:
  cluster_test() {
    if (GetParam() == "sqlite") {
      base_.sqlite_path = (dir_.path() / "store.db").string();
    } else {
      base_.postgresql_url = testing::postgres_server::shared().create_database();
    }
    base_.time = &clock_;
  }

  // A store acting for instance `id`, on the test's one database.
  std::unique_ptr<store> open_as(const std::string& id) {
    auto settings = base_;
    settings.instance_id = id;
    return open_store(settings);
  }
  std::unique_ptr<store_reader> reader() { return open_store_reader(base_); }

  testing::temp_dir dir_;
  manual_clock clock_{start};
  store_settings base_;
};

std::vector<std::string> ids_of(const std::vector<instance_record>& instances) {
  std::vector<std::string> ids;
  for (const auto& i : instances) ids.push_back(i.id);
  return ids;
}

TEST_P(cluster_test, instances_are_live_while_they_beat_and_leave_when_retired) {
  auto a = open_as("a");
  auto b = open_as("b");
  a->heartbeat(instance("a", start));
  b->heartbeat(instance("b", start + 2'000));
  EXPECT_EQ(ids_of(a->live_instances(start + 2'000)), (std::vector<std::string>{"a", "b"}));
  const auto listed = reader()->live_instances(start + 2'000);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].host, "host-a");
  EXPECT_EQ(listed[0].pid, 42);
  EXPECT_EQ(listed[0].role, "serve");
  EXPECT_EQ(listed[0].version, "test");
  EXPECT_EQ(listed[0].started_at, start);
  EXPECT_EQ(listed[1].last_seen, start + 2'000);

  // a stops beating: live up to the stale limit, gone one millisecond later.
  EXPECT_EQ(ids_of(b->live_instances(start + instance_stale_after_ms)),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ids_of(b->live_instances(start + instance_stale_after_ms + 1)),
            (std::vector<std::string>{"b"}));
  // A late beat never moves last_seen back (two threads of one instance racing).
  b->heartbeat(instance("b", start));
  EXPECT_EQ(reader()->live_instances(start + 2'000).back().last_seen, start + 2'000);
  // A clean stop leaves at once.
  b->retire_instance("b");
  EXPECT_TRUE(a->live_instances(start + 2'000).size() == 1);
}

TEST_P(cluster_test, the_reconciliation_lease_has_one_holder_until_released) {
  auto a = open_as("a");
  auto b = open_as("b");
  a->heartbeat(instance("a", start));
  b->heartbeat(instance("b", start));
  EXPECT_TRUE(a->take_lease(name, "a", start));
  EXPECT_FALSE(b->take_lease(name, "b", start));
  EXPECT_TRUE(a->take_lease(name, "a", start + 1));  // already its own
  EXPECT_EQ(b->lease_holder(name), "a");
  b->release_lease(name, "b");  // not b's: nothing changes
  EXPECT_FALSE(b->take_lease(name, "b", start + 2));
  a->release_lease(name, "a");
  EXPECT_EQ(b->lease_holder(name), "");
  EXPECT_TRUE(b->take_lease(name, "b", start + 3));
  EXPECT_FALSE(a->take_lease(name, "a", start + 4));
  // Retiring frees what the instance held.
  b->retire_instance("b");
  EXPECT_TRUE(a->take_lease(name, "a", start + 5));
}

TEST_P(cluster_test, the_lease_passes_only_once_its_holder_stops_beating) {
  auto a = open_as("a");
  auto b = open_as("b");
  a->heartbeat(instance("a", start));
  b->heartbeat(instance("b", start));
  ASSERT_TRUE(a->take_lease(name, "a", start));
  // a keeps beating: however long its run takes, the lease stays.
  for (epoch_ms t = start; t <= start + 10 * instance_stale_after_ms; t += heartbeat_interval_ms) {
    a->heartbeat(instance("a", t));
    b->heartbeat(instance("b", t));
    EXPECT_FALSE(b->take_lease(name, "b", t)) << "at +" << (t - start) << " ms";
  }
  // a is killed: its last beat ages, and only past the stale limit does the lease pass.
  const epoch_ms last_beat = start + 10 * instance_stale_after_ms;
  EXPECT_FALSE(b->take_lease(name, "b", last_beat + instance_stale_after_ms));
  EXPECT_TRUE(b->take_lease(name, "b", last_beat + instance_stale_after_ms + 1));
  EXPECT_EQ(a->lease_holder(name), "b");
}

TEST_P(cluster_test, many_instances_asking_at_once_get_one_lease_holder) {
  constexpr int instances = 6;
  std::vector<std::unique_ptr<store>> stores;
  for (int i = 0; i < instances; ++i) {
    stores.push_back(open_as("i" + std::to_string(i)));
    stores.back()->heartbeat(instance("i" + std::to_string(i), start));
  }
  std::atomic<int> ready{0};
  std::vector<std::future<bool>> takes;
  for (int i = 0; i < instances; ++i) {
    takes.push_back(std::async(std::launch::async, [&, i] {
      ++ready;
      while (ready.load() < instances) std::this_thread::yield();
      return stores[static_cast<std::size_t>(i)]->take_lease(name, "i" + std::to_string(i), start);
    }));
  }
  int holders = 0;
  std::string winner;
  for (int i = 0; i < instances; ++i) {
    if (takes[static_cast<std::size_t>(i)].get()) {
      ++holders;
      winner = "i" + std::to_string(i);
    }
  }
  EXPECT_EQ(holders, 1);
  EXPECT_EQ(stores[0]->lease_holder(name), winner);
}

TEST_P(cluster_test, a_due_time_is_claimed_once_however_many_instances_ask) {
  constexpr int instances = 6;
  std::vector<std::unique_ptr<store>> stores;
  for (int i = 0; i < instances; ++i) {
    stores.push_back(open_as("i" + std::to_string(i)));
    stores.back()->heartbeat(instance("i" + std::to_string(i), start));
  }
  for (const epoch_ms due : {start, start + 60'000, start + 120'000}) {
    for (int i = 0; i < instances; ++i)  // all live when the time comes
      stores[static_cast<std::size_t>(i)]->heartbeat(instance("i" + std::to_string(i), due));
    std::atomic<int> ready{0};
    std::vector<std::future<bool>> claims;
    for (int i = 0; i < instances; ++i) {
      claims.push_back(std::async(std::launch::async, [&, i] {
        ++ready;
        while (ready.load() < instances) std::this_thread::yield();
        return stores[static_cast<std::size_t>(i)]->claim_slot("schedule", due,
                                                               "i" + std::to_string(i), due);
      }));
    }
    int winners = 0;
    for (auto& c : claims) winners += c.get() ? 1 : 0;
    EXPECT_EQ(winners, 1) << "due +" << (due - start);
    // Asked again (the next loop of every instance, the winner's too): nobody runs it twice.
    for (int i = 0; i < instances; ++i)
      EXPECT_FALSE(stores[static_cast<std::size_t>(i)]->claim_slot("schedule", due,
                                                                   "i" + std::to_string(i), due));
    // An older due time (a clock behind the others') is no new slot either.
    EXPECT_FALSE(stores[0]->claim_slot("schedule", due - 1, "i0", due));
  }
}

TEST_P(cluster_test, a_due_time_whose_claimer_died_is_claimed_again) {
  auto a = open_as("a");
  auto b = open_as("b");
  a->heartbeat(instance("a", start));
  b->heartbeat(instance("b", start));
  ASSERT_TRUE(a->claim_slot("schedule", start, "a", start));
  EXPECT_FALSE(b->claim_slot("schedule", start, "b", start + instance_stale_after_ms));
  // a died before its run started (the schedule still says the same due time): b runs it.
  b->heartbeat(instance("b", start + instance_stale_after_ms + 1));
  EXPECT_TRUE(b->claim_slot("schedule", start, "b", start + instance_stale_after_ms + 1));
  EXPECT_FALSE(b->claim_slot("schedule", start, "b", start + instance_stale_after_ms + 2));
}

TEST_P(cluster_test, runs_are_judged_by_their_owner_instances_heartbeat) {
  auto a = open_as("a");
  auto b = open_as("b");
  a->heartbeat(instance("a", start));
  const auto run = a->create_run("manual", false, start);
  a->start_run(run, start);
  // b sees a's run as running while a beats, and leaves it alone.
  EXPECT_EQ(b->running_run()->id, run);
  EXPECT_EQ(b->fail_interrupted_runs(start + instance_stale_after_ms), 0u);
  EXPECT_EQ(b->find_run(run)->status, "running");
  // a's heartbeat stops (killed, its host down): past the stale limit its run is failed.
  clock_.set(start + instance_stale_after_ms + 1);
  EXPECT_FALSE(b->running_run());
  EXPECT_EQ(b->fail_interrupted_runs(clock_.now()), 1u);
  const auto failed = b->find_run(run);
  EXPECT_EQ(failed->status, "failed");
  EXPECT_EQ(failed->message, interrupted_run_message);
  EXPECT_EQ(failed->ended_at, clock_.now());
  // A store's own runs are live to it whatever the heartbeat says (it is running them).
  const auto own = b->create_run("manual", false, clock_.now());
  EXPECT_EQ(b->running_run()->id, own);
  EXPECT_EQ(b->fail_interrupted_runs(clock_.now()), 0u);
  // …and dead to another store once b is retired.
  b->retire_instance("b");
  EXPECT_FALSE(a->running_run());
  EXPECT_EQ(a->fail_interrupted_runs(clock_.now()), 1u);
}

// `count` users due at `start`, one request each.
void fill(store& s, int count) {
  for (int i = 0; i < count; ++i) {
    const std::string id = "0055g00000U" + std::to_string(100'000 + i) + "AAA";
    const auto outcome = s.submit_and_wait(testing::inbox_input::request(
        {testing::inbox_input::change("n" + std::to_string(i), id, R"({"LastName":"X"})", start)},
        start));
    ASSERT_TRUE(outcome.committed) << outcome.error;
  }
}

std::vector<std::string> record_ids(const std::vector<pending_record>& records) {
  std::vector<std::string> ids;
  for (const auto& r : records) ids.push_back(r.record_id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST_P(cluster_test, due_work_taken_by_a_live_instance_is_not_taken_by_another) {
  auto a = open_as("a");
  auto b = open_as("b");
  a->heartbeat(instance("a", start));
  b->heartbeat(instance("b", start));
  fill(*a, 3);
  const auto taken = a->take_due(start, 2);
  ASSERT_EQ(taken.size(), 2u);
  // b gets only the third; a's two stay a's while a beats, however long it takes.
  const auto rest = b->take_due(start, 10);
  ASSERT_EQ(rest.size(), 1u);
  const auto taken_ids = record_ids(taken);
  EXPECT_EQ(std::count(taken_ids.begin(), taken_ids.end(), rest[0].record_id), 0);
  for (epoch_ms t = start; t < start + 5 * instance_stale_after_ms; t += heartbeat_interval_ms) {
    a->heartbeat(instance("a", t));
    b->heartbeat(instance("b", t));
    EXPECT_TRUE(b->take_due(t, 10).empty()) << "neither a's nor b's own again, at +" << (t - start);
  }
  // Nor does a take its own again while they are claimed (they are being applied).
  EXPECT_TRUE(a->take_due(start, 10).empty());
  // Failed with a retry due now: the claim goes with the mark, so b may take it.
  const epoch_ms later = start + 5 * instance_stale_after_ms;
  a->mark_failed(taken[0].organization_id, taken[0].record_id, taken[0].version, "timeout", later,
                 false);
  const auto retried = b->take_due(later, 10);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].record_id, taken[0].record_id);
}

// The worker refills while records are applied: a refill that runs before a record is
// finished, or between its mark and the worker forgetting it, must not hand it out again, or
// it is applied twice (and a stale copy applied after an operator's release holds it again).
TEST_P(cluster_test, a_record_being_applied_is_not_taken_again_by_its_own_instance) {
  auto a = open_as("a");  // never beats: a store's own instance is live to itself
  fill(*a, 1);
  const auto taken = a->take_due(start, 10);
  ASSERT_EQ(taken.size(), 1u);
  const auto& r = taken[0];
  EXPECT_TRUE(a->take_due(start, 10).empty()) << "a refill while it is applied";
  EXPECT_TRUE(a->take_due(start + 10 * instance_stale_after_ms, 10).empty())
      << "however long the apply takes";

  // A newer state arrives during the apply: still a's, not due until the older one is marked.
  ASSERT_TRUE(a->submit_and_wait(testing::inbox_input::request(
                                     {testing::inbox_input::change(
                                         "n-newer", r.record_id, R"({"LastName":"Y"})", start + 1)},
                                     start + 1))
                  .committed);
  EXPECT_TRUE(a->take_due(start + 1, 10).empty());
  a->mark_done(r.organization_id, r.record_id, r.version, "applied");
  const auto newer = a->take_due(start + 1, 10);
  ASSERT_EQ(newer.size(), 1u) << "the older state's mark frees the newer one";
  EXPECT_GT(newer[0].version, r.version);
  EXPECT_NE(newer[0].fields_json.find("\"Y\""), std::string::npos) << newer[0].fields_json;
  EXPECT_TRUE(a->take_due(start + 1, 10).empty());

  // Marked done: gone for good; held or failed: the claim goes with the mark as well.
  a->mark_done(newer[0].organization_id, newer[0].record_id, newer[0].version, "applied");
  EXPECT_TRUE(a->take_due(start + 2, 10).empty());
  EXPECT_EQ(a->find_record(r.organization_id, r.record_id)->state, record_state::done);
}

TEST_P(cluster_test, a_mark_by_an_instance_taken_for_dead_leaves_its_successors_claim) {
  auto a = open_as("a");
  auto b = open_as("b");
  auto c = open_as("c");
  a->heartbeat(instance("a", start));
  fill(*a, 1);
  const auto taken = a->take_due(start, 10);
  ASSERT_EQ(taken.size(), 1u);
  // a stalls past the stale limit: b takes the record over and applies it.
  const epoch_ms later = start + instance_stale_after_ms + 1;
  b->heartbeat(instance("b", later));
  c->heartbeat(instance("c", later));
  ASSERT_EQ(b->take_due(later, 10).size(), 1u);
  // a wakes up and records a failure with a retry due now: the state is a's to write (same
  // version), but the claim is b's, and c must not get the record b is applying.
  a->mark_failed(taken[0].organization_id, taken[0].record_id, taken[0].version, "timeout", later,
                 false);
  EXPECT_TRUE(c->take_due(later, 10).empty());
}

TEST_P(cluster_test, a_killed_instances_claims_pass_once_its_heartbeat_is_stale) {
  auto a = open_as("a");
  auto b = open_as("b");
  a->heartbeat(instance("a", start));
  fill(*a, 4);
  const auto taken = a->take_due(start, 10);
  ASSERT_EQ(taken.size(), 4u);
  // a dies (no more beats, never marks anything). b beats on.
  const epoch_ms stale = start + instance_stale_after_ms;
  b->heartbeat(instance("b", stale));
  EXPECT_TRUE(b->take_due(stale, 10).empty());
  b->heartbeat(instance("b", stale + 1));
  const auto passed = b->take_due(stale + 1, 10);
  EXPECT_EQ(record_ids(passed), record_ids(taken));
  // Now b's: a coming back (its old id beats again) does not take them from live b.
  a->heartbeat(instance("a", stale + 2));
  EXPECT_TRUE(a->take_due(stale + 2, 10).empty());
  // A failure with a retry later releases the claim: due again, to anyone.
  b->mark_failed(passed[0].organization_id, passed[0].record_id, passed[0].version, "timeout",
                 stale + 3, false);
  const auto retried = a->take_due(stale + 3, 10);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].record_id, passed[0].record_id);
}

// The worker parks a record whose outcome it could not record (the store away) and reads it
// again when it comes back: the CURRENT state, never the one it applied, and only while the
// record is still its to apply.
void submit_newer(store& s, const std::string& record_id, epoch_ms at) {
  ASSERT_TRUE(
      s.submit_and_wait(testing::inbox_input::request(
                            {testing::inbox_input::change("n-newer-" + std::to_string(at),
                                                          record_id, R"({"LastName":"Y"})", at)},
                            at))
          .committed);
}

TEST_P(cluster_test, a_parked_record_is_taken_back_in_its_current_state_while_it_is_ours) {
  auto a = open_as("a");
  auto b = open_as("b");
  a->heartbeat(instance("a", start));
  b->heartbeat(instance("b", start));
  fill(*a, 1);
  const auto taken = a->take_due(start, 10);
  ASSERT_EQ(taken.size(), 1u);
  const auto& r = taken[0];
  submit_newer(*a, r.record_id, start + 1);
  const auto back = a->take_claimed(r.organization_id, r.record_id, start + 1);
  ASSERT_TRUE(back.has_value());
  EXPECT_GT(back->version, r.version) << "the newer state, not the one applied";
  EXPECT_NE(back->fields_json.find("\"Y\""), std::string::npos) << back->fields_json;
  // Still a's, even before a due time a later clock stamped: nobody else would take it.
  EXPECT_TRUE(a->take_claimed(r.organization_id, r.record_id, start - 1).has_value());
  EXPECT_FALSE(b->take_claimed(r.organization_id, r.record_id, start + 1).has_value())
      << "a is live: its record is not b's";
  EXPECT_TRUE(b->take_due(start + 1, 10).empty());
  EXPECT_TRUE(a->take_due(start + 1, 10).empty()) << "taken back, it is still claimed";
  a->mark_done(back->organization_id, back->record_id, back->version, "applied");
  EXPECT_EQ(a->find_record(r.organization_id, r.record_id)->state, record_state::done);
}

TEST_P(cluster_test, a_parked_record_settled_meanwhile_is_not_taken_back) {
  auto a = open_as("a");
  a->heartbeat(instance("a", start));
  fill(*a, 4);
  const auto taken = a->take_due(start, 10);
  ASSERT_EQ(taken.size(), 4u);
  const auto& done = taken[0];
  const auto& held = taken[1];
  const auto& dead = taken[2];
  const auto& retrying = taken[3];
  a->mark_done(done.organization_id, done.record_id, done.version, "applied");
  a->mark_held(held.organization_id, held.record_id, held.version, "safety limit");
  a->mark_failed(dead.organization_id, dead.record_id, dead.version, "400", start, true);
  a->mark_failed(retrying.organization_id, retrying.record_id, retrying.version, "timeout",
                 start + 5'000, false);
  for (const auto* r : {&done, &held, &dead, &retrying}) {
    EXPECT_FALSE(a->take_claimed(r->organization_id, r->record_id, start + 1).has_value())
        << r->record_id;
  }
  EXPECT_FALSE(a->take_claimed(done.organization_id, "0055g00000Unknown", start + 1));
  // The retry's due time has come: taken back, claimed, so a refill does not take it too.
  const auto back = a->take_claimed(retrying.organization_id, retrying.record_id, start + 5'000);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->state, record_state::retrying);
  EXPECT_TRUE(a->take_due(start + 5'000, 10).empty());
}

TEST_P(cluster_test, a_parked_record_passes_with_its_claim_to_a_live_successor_only) {
  auto a = open_as("a");
  auto b = open_as("b");
  a->heartbeat(instance("a", start));
  fill(*a, 1);
  const auto taken = a->take_due(start, 10);
  ASSERT_EQ(taken.size(), 1u);
  const auto& r = taken[0];
  // a stalls past the stale limit: b takes the record over.
  const epoch_ms later = start + instance_stale_after_ms + 1;
  b->heartbeat(instance("b", later));
  ASSERT_EQ(b->take_due(later, 10).size(), 1u);
  a->heartbeat(instance("a", later));  // a is back, and live again
  EXPECT_FALSE(a->take_claimed(r.organization_id, r.record_id, later).has_value())
      << "b is applying it";
  // b applies it; a newer state arrives, nobody's: a takes it back, in that state.
  b->mark_done(r.organization_id, r.record_id, r.version, "applied");
  submit_newer(*a, r.record_id, later + 1);
  const auto back = a->take_claimed(r.organization_id, r.record_id, later + 1);
  ASSERT_TRUE(back.has_value());
  EXPECT_GT(back->version, r.version);
  EXPECT_TRUE(b->take_due(later + 1, 10).empty()) << "a's claim now";
  // a dies with it: b takes it back once a's heartbeat is stale, not before.
  const epoch_ms stale = later + instance_stale_after_ms;
  b->heartbeat(instance("b", stale + 1));
  EXPECT_FALSE(b->take_claimed(r.organization_id, r.record_id, stale).has_value());
  const auto passed = b->take_claimed(r.organization_id, r.record_id, stale + 1);
  ASSERT_TRUE(passed.has_value());
  EXPECT_EQ(passed->version, back->version);
}

// A clean stop leaves records the worker took but never started (its local list): they pass
// to the others at once, not 15 s later, and nobody else's claims go with them.
TEST_P(cluster_test, a_retired_instances_claims_pass_at_once) {
  auto a = open_as("a");
  auto b = open_as("b");
  auto c = open_as("c");
  a->heartbeat(instance("a", start));
  b->heartbeat(instance("b", start));
  c->heartbeat(instance("c", start));
  fill(*a, 4);
  const auto by_a = a->take_due(start, 2);
  const auto by_b = b->take_due(start, 1);
  ASSERT_EQ(by_a.size(), 2u);
  ASSERT_EQ(by_b.size(), 1u);
  a->retire_instance("a");
  // Still at `start`: a's heartbeat is fresh, only the retirement frees its claims.
  const auto passed = c->take_due(start, 10);
  const auto expected = record_ids(by_a);
  ASSERT_EQ(passed.size(), 3u) << "a's two and the one nobody took";
  for (const auto& id : expected) {
    const auto ids = record_ids(passed);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), id), 1) << id;
  }
  EXPECT_EQ(std::count_if(passed.begin(), passed.end(),
                          [&](const auto& r) { return r.record_id == by_b[0].record_id; }),
            0)
      << "b's claim is b's";
  EXPECT_TRUE(b->take_due(start, 10).empty());
}

TEST_P(cluster_test, two_instances_taking_at_once_never_take_the_same_record) {
  constexpr int users = 300;
  auto a = open_as("a");
  auto b = open_as("b");
  a->heartbeat(instance("a", start));
  b->heartbeat(instance("b", start));
  fill(*a, users);
  // Both workers loop take_due in small batches at the same time, marking what they took
  // done, until nothing is due; every user is applied by exactly one of them.
  auto work = [&](store& s) {
    std::vector<std::string> mine;
    for (;;) {
      const auto batch = s.take_due(start, 7);
      if (batch.empty()) return mine;
      for (const auto& r : batch) {
        mine.push_back(r.record_id);
        s.mark_done(r.organization_id, r.record_id, r.version, "applied");
      }
    }
  };
  auto on_a = std::async(std::launch::async, [&] { return work(*a); });
  auto on_b = std::async(std::launch::async, [&] { return work(*b); });
  auto all = on_a.get();
  const auto by_b = on_b.get();
  all.insert(all.end(), by_b.begin(), by_b.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(users));
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a user taken twice";
}

// The CLI's `retry` and `release` write beside a running service, on one SQLite file too,
// each writing the user's history: neither may take a history id the other is about to use.
// The service's next write then failed whole (UNIQUE on user_history.id), with the mark of the
// record the operator let through in it, which stayed claimed and was never applied.
TEST_P(cluster_test, a_second_store_writing_history_beside_the_first_fails_none_of_its_writes) {
  auto service = open_as("service");
  fill(*service, 2);
  for (const auto& r : service->take_due(start, 10))
    service->mark_failed(r.organization_id, r.record_id, r.version, "400", start, true);
  const auto dead = service->list_records(record_state::dead, 10);
  ASSERT_EQ(dead.size(), 2u);
  {
    auto cli = open_as("cli");  // opened after the service: both count from the same id
    ASSERT_EQ(cli->requeue_dead(dead[0].record_id, start + 1), 1u);
  }
  EXPECT_EQ(service->requeue_dead(dead[1].record_id, start + 2), 1u);
  const auto again = service->take_due(start + 2, 10);
  ASSERT_EQ(again.size(), 2u);
  for (const auto& r : again) {
    service->record_history({testing::inbox_input::event(r.record_id, start + 3, "applied")});
    EXPECT_NO_THROW(service->mark_done(r.organization_id, r.record_id, r.version, "applied"));
    EXPECT_EQ(service->find_record(r.organization_id, r.record_id)->state, record_state::done);
  }
  for (const auto& r : dead) {
    const auto history = service->read_history(r.organization_id, r.record_id, 10);
    EXPECT_EQ(std::count_if(history.begin(), history.end(),
                            [](const auto& e) { return e.kind == history_kinds::requeued; }),
              1)
        << r.record_id;
  }
}

INSTANTIATE_TEST_SUITE_P(engines, cluster_test, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace connector::store
