// The group queue shared by several instances on one PostgreSQL database (group_queue.hpp):
// stores opened on one database play the instances, their threads the drainers. What must
// never happen: two owners holding one group at once (one replace would drop the other's
// members), an addition lost (removed without being applied) or handed out twice.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "connector/store/open.hpp"
#include "connector/store/postgres.hpp"
#include "support/postgres_server.hpp"

namespace connector::store {
namespace {

constexpr const char* org = "00D5g000004XyZaEAK";
constexpr epoch_ms now = 1'000;
constexpr epoch_ms live_lease = 10'000'000;  // never runs out during a test

group_addition addition(const std::string& group, const std::string& user) {
  return {group, "Group " + group, user, org, "005-" + user, now, 0};
}

class postgres_group_queue_test : public ::testing::Test {
 protected:
  postgres_group_queue_test() {
    settings_.postgresql_url = testing::postgres_server::shared().create_database();
  }
  // Another instance on the test's database.
  std::unique_ptr<store> open_instance() { return open_store(settings_); }

  store_settings settings_;
};

// Six drainers on two instances race for one group, by claim_next_group (the drainer) and by
// claim_group (the reconciliation): whoever wins holds it alone until it lets go.
TEST_F(postgres_group_queue_test, many_drainers_on_two_instances_never_hold_one_group_at_once) {
  auto a = open_instance();
  auto b = open_instance();
  a->queue_group_additions({addition("g-1", "u1"), addition("g-1", "u2")});
  std::atomic<int> holders{0}, overlaps{0}, claims{0};
  std::vector<std::thread> drainers;
  for (int t = 0; t < 6; ++t) {
    drainers.emplace_back([&, t] {
      store& instance = t % 2 == 0 ? *a : *b;
      const std::string owner = "drainer-" + std::to_string(t);
      for (int i = 0; i < 40; ++i) {
        const bool held = i % 2 == 0
                              ? instance.claim_next_group(owner, now, live_lease, 100).has_value()
                              : instance.claim_group("g-1", owner, now, live_lease);
        if (!held) continue;
        ++claims;
        if (holders.fetch_add(1) != 0) ++overlaps;
        holders.fetch_sub(1);
        instance.finish_group("g-1", owner, 0);  // lets go, removes nothing
      }
    });
  }
  for (auto& d : drainers) d.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GT(claims.load(), 0);
  EXPECT_EQ(a->group_stats().additions, 2);  // finishing up to 0 removed none
}

// Many groups: each is handed to exactly one of eight drainers, never to two.
TEST_F(postgres_group_queue_test, each_group_is_claimed_by_one_drainer_of_two_instances) {
  auto a = open_instance();
  auto b = open_instance();
  std::vector<group_addition> additions;
  for (int g = 0; g < 100; ++g) additions.push_back(addition("g-" + std::to_string(g), "u"));
  a->queue_group_additions(additions);
  std::mutex mutex;
  std::map<std::string, int> claimed;
  std::vector<std::thread> drainers;
  for (int t = 0; t < 8; ++t) {
    drainers.emplace_back([&, t] {
      store& instance = t % 2 == 0 ? *a : *b;
      while (auto c = instance.claim_next_group("d-" + std::to_string(t), now, live_lease, 10)) {
        std::lock_guard lock(mutex);
        ++claimed[c->group_id];
      }
    });
  }
  for (auto& d : drainers) d.join();
  EXPECT_EQ(claimed.size(), 100u);
  for (const auto& [group, times] : claimed) EXPECT_EQ(times, 1) << group;
}

TEST_F(postgres_group_queue_test, additions_queued_by_one_instance_are_drained_by_the_other) {
  auto a = open_instance();
  auto b = open_instance();
  a->queue_group_additions({addition("g-1", "u1"), addition("g-2", "u2"), addition("g-1", "u3")});
  EXPECT_EQ(b->group_stats().additions, 3);
  std::multiset<std::string> drained;
  while (auto claim = b->claim_next_group("b", now, live_lease, 100)) {
    for (const auto& added : claim->additions) drained.insert(added.ispring_user_id);
    b->finish_group(claim->group_id, "b", claim->up_to());
  }
  EXPECT_EQ(drained, (std::multiset<std::string>{"u1", "u2", "u3"}));
  EXPECT_EQ(a->group_stats().additions, 0);
  EXPECT_EQ(open_store_reader(settings_)->group_stats().groups, 0);
}

// Queued on one instance while another's replace runs: kept for the next batch. Also the one
// that commits late with a lower id (ids come from one sequence, commits in any order): the
// finish "up to" the newest it applied must not remove it.
TEST_F(postgres_group_queue_test,
       an_addition_queued_while_the_group_is_claimed_waits_for_the_next_batch) {
  auto a = open_instance();
  auto b = open_instance();
  a->queue_group_additions({addition("g-1", "u1")});
  postgres_connection late(settings_.postgresql_url);
  late.exec("BEGIN", "begin");
  late.exec(R"sql(
INSERT INTO group_additions
  (group_id, group_name, ispring_user_id, organization_id, record_id, queued_at)
VALUES ('g-1', 'Group g-1', 'u-late', '00D5g000004XyZaEAK', '005-u-late', 1000))sql",
            "queue late");
  a->queue_group_additions({addition("g-1", "u2")});
  auto claim = b->claim_next_group("b", now, live_lease, 100);
  ASSERT_TRUE(claim);
  ASSERT_EQ(claim->additions.size(), 2u);
  EXPECT_EQ(claim->additions[0].ispring_user_id, "u1");
  EXPECT_EQ(claim->additions[1].ispring_user_id, "u2");
  // While b's replace runs: the late one commits, and a queues another user.
  late.exec("COMMIT", "commit");
  a->queue_group_additions({addition("g-1", "u3")});
  b->finish_group("g-1", "b", claim->up_to());
  EXPECT_EQ(a->group_stats().additions, 2);
  auto next = a->claim_next_group("a", now, live_lease, 100);
  ASSERT_TRUE(next);
  std::set<std::string> users;
  for (const auto& added : next->additions) users.insert(added.ispring_user_id);
  EXPECT_EQ(users, (std::set<std::string>{"u-late", "u3"}));
}

// At size, across instances: 20,000 users of one group, drained in batches by drainers on two
// instances at once; each user handed out once, none left.
TEST_F(postgres_group_queue_test, two_instances_drain_twenty_thousand_users_none_lost_none_twice) {
  constexpr int users = 20'000;
  auto a = open_instance();
  auto b = open_instance();
  std::vector<group_addition> chunk;
  for (int i = 0; i < users; ++i) {
    chunk.push_back(addition("g-all", "u" + std::to_string(i)));
    if (chunk.size() == 1000) {
      (i % 2000 < 1000 ? *a : *b).queue_group_additions(chunk);
      chunk.clear();
    }
  }
  std::mutex mutex;
  std::map<std::string, int> handed;
  std::atomic<int> batches{0};
  std::vector<std::thread> drainers;
  for (int t = 0; t < 4; ++t) {
    drainers.emplace_back([&, t] {
      store& instance = t % 2 == 0 ? *a : *b;
      const std::string owner = "d-" + std::to_string(t);
      // Until the queue is empty: a claim refused while another drainer holds the group is
      // no reason to stop.
      while (instance.group_stats().additions > 0) {
        auto claim = instance.claim_next_group(owner, now, live_lease, 500);
        if (!claim) continue;
        ++batches;
        {
          std::lock_guard lock(mutex);
          for (const auto& added : claim->additions) ++handed[added.ispring_user_id];
        }
        instance.finish_group("g-all", owner, claim->up_to());
      }
    });
  }
  for (auto& d : drainers) d.join();
  EXPECT_EQ(handed.size(), static_cast<std::size_t>(users));
  for (const auto& [user, times] : handed) ASSERT_EQ(times, 1) << user;
  EXPECT_EQ(batches.load(), users / 500);
  EXPECT_EQ(a->group_stats().additions, 0);
}

}  // namespace
}  // namespace connector::store
