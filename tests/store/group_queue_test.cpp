// The group queue (group_queue.hpp), on every engine: additions wait durably for their
// group, one owner at a time claims a group with a lease, a finished batch removes only what
// it claimed, and a failed one keeps everything for a later attempt. PostgreSQL's several
// instances at once: postgres_group_queue_test.cpp.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "connector/store/group_queue.hpp"
#include "connector/store/open.hpp"
#include "support/store_engines.hpp"

namespace connector::store {
namespace {

constexpr const char* org = "00D5g000004XyZaEAK";

group_addition addition(const std::string& group, const std::string& user, epoch_ms at = 1000) {
  return {group, "Group " + group, user, org, "005-" + user, at, 0};
}

std::vector<std::string> users_of(const group_claim& claim) {
  std::vector<std::string> users;
  for (const auto& a : claim.additions) users.push_back(a.ispring_user_id);
  return users;
}

class group_queue_test : public testing::store_test {
 protected:
  // Every store is one: no engine is asked whether it has a queue.
  group_queue& queue() { return *inbox_; }
  void reopen() {
    inbox_.reset();
    inbox_ = open_located();
  }

  void SetUp() override {
    store_test::SetUp();
    inbox_ = open_located();
  }
  void TearDown() override { inbox_.reset(); }

  std::unique_ptr<store> inbox_;
};

TEST_P(group_queue_test, additions_survive_reopening_and_are_claimed_oldest_group_first) {
  queue().queue_group_additions({addition("g-2", "u1"), addition("g-1", "u2")});
  queue().queue_group_additions({addition("g-2", "u3")});
  reopen();
  const auto stats = queue().group_stats();
  EXPECT_EQ(stats.additions, 3);
  EXPECT_EQ(stats.groups, 2);
  EXPECT_EQ(stats.oldest_queued_at, 1000);

  auto first = queue().claim_next_group("a", 5000, 65'000, 100);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->group_id, "g-2");  // its first addition is the oldest
  EXPECT_EQ(users_of(*first), (std::vector<std::string>{"u1", "u3"}));
  EXPECT_EQ(first->additions.front().record_id, "005-u1");
  EXPECT_EQ(first->additions.front().group_name, "Group g-2");
  // The same owner is not handed the group it holds: the other one comes next.
  auto second = queue().claim_next_group("a", 5000, 65'000, 100);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->group_id, "g-1");
  EXPECT_FALSE(queue().claim_next_group("b", 5000, 65'000, 100));
}

TEST_P(group_queue_test, only_one_owner_holds_a_group_until_its_lease_expires) {
  queue().queue_group_additions({addition("g-1", "u1")});
  ASSERT_TRUE(queue().claim_next_group("a", 1000, 31'000, 100));
  // Another instance, another process, the reconciliation: none of them gets it meanwhile.
  EXPECT_FALSE(queue().claim_next_group("b", 30'999, 61'000, 100));
  EXPECT_FALSE(queue().claim_group("g-1", "recon", 30'999, 61'000));
  // Its holder may renew it.
  EXPECT_TRUE(queue().claim_group("g-1", "a", 20'000, 50'000));
  EXPECT_FALSE(queue().claim_next_group("b", 40'000, 70'000, 100));
  // Expired (a killed instance): it passes to another owner, additions and all.
  auto taken = queue().claim_next_group("b", 50'000, 80'000, 100);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->owner, "b");
  EXPECT_EQ(users_of(*taken), (std::vector<std::string>{"u1"}));
  // The old holder's late finish removes what it applied but cannot let go of b's claim.
  queue().finish_group("g-1", "a", 0);
  EXPECT_FALSE(queue().claim_group("g-1", "c", 60'000, 90'000));
}

TEST_P(group_queue_test, finishing_removes_only_what_was_claimed_and_keeps_what_came_meanwhile) {
  queue().queue_group_additions({addition("g-1", "u1"), addition("g-1", "u2")});
  auto claim = queue().claim_next_group("a", 1000, 31'000, 100);
  ASSERT_TRUE(claim);
  // While the replace runs, more users arrive for the same group.
  queue().queue_group_additions({addition("g-1", "u3"), addition("g-1", "u4")});
  queue().finish_group("g-1", "a", claim->up_to());
  EXPECT_EQ(queue().group_stats().additions, 2);
  auto next = queue().claim_next_group("b", 2000, 32'000, 100);
  ASSERT_TRUE(next);  // let go: another owner may take it at once
  EXPECT_EQ(users_of(*next), (std::vector<std::string>{"u3", "u4"}));
  EXPECT_EQ(next->attempts, 0);
}

TEST_P(group_queue_test, a_user_waiting_for_a_group_waits_once_and_joins_again_after_it) {
  // A record applied again (a newer state, a retry after a crash) queues its groups again.
  queue().queue_group_additions({addition("g-1", "u1"), addition("g-2", "u1")});
  queue().queue_group_additions({addition("g-1", "u1")});
  EXPECT_EQ(queue().group_stats().additions, 2);
  auto claim = queue().claim_next_group("a", 1000, 31'000, 100);
  ASSERT_TRUE(claim);
  ASSERT_EQ(claim->group_id, "g-1");
  EXPECT_EQ(users_of(*claim), (std::vector<std::string>{"u1"}));
  // Queued while its replace runs: the replace adds it, and the row it waits in goes with it.
  queue().queue_group_additions({addition("g-1", "u1")});
  queue().finish_group("g-1", "a", claim->up_to());
  EXPECT_EQ(queue().group_stats().additions, 1);  // g-2's
  // Once out of the queue, the user may be queued for the group again (removed in iSpring
  // meanwhile, say), and is never lost.
  queue().queue_group_additions({addition("g-1", "u1")});
  EXPECT_EQ(queue().group_stats().additions, 2);
}

TEST_P(group_queue_test, a_finished_group_rests_until_its_due_time_and_others_go_first) {
  queue().queue_group_additions({addition("g-1", "u1")});
  auto claim = queue().claim_next_group("a", 1000, 31'000, 100);
  ASSERT_TRUE(claim);
  queue().queue_group_additions({addition("g-1", "u2"), addition("g-2", "u3")});
  queue().finish_group("g-1", "a", claim->up_to(), 1040);  // its replace took 40 ms
  auto next = queue().claim_next_group("b", 1039, 31'000, 100);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->group_id, "g-2");
  EXPECT_FALSE(queue().claim_next_group("b", 1039, 31'000, 100));
  next = queue().claim_next_group("b", 1040, 31'000, 100);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->group_id, "g-1");
  EXPECT_EQ(users_of(*next), (std::vector<std::string>{"u2"}));
}

TEST_P(group_queue_test, a_claim_takes_at_most_the_limit_and_leaves_the_rest_queued) {
  std::vector<group_addition> many;
  for (int i = 0; i < 250; ++i) many.push_back(addition("g-1", "u" + std::to_string(i)));
  queue().queue_group_additions(many);
  auto claim = queue().claim_next_group("a", 1000, 31'000, 100);
  ASSERT_TRUE(claim);
  ASSERT_EQ(claim->additions.size(), 100u);
  EXPECT_EQ(claim->additions.back().ispring_user_id, "u99");
  queue().finish_group("g-1", "a", claim->up_to());
  EXPECT_EQ(queue().group_stats().additions, 150);
  claim = queue().claim_next_group("a", 1000, 31'000, 1000);
  ASSERT_TRUE(claim);
  EXPECT_EQ(claim->additions.front().ispring_user_id, "u100");
}

TEST_P(group_queue_test, a_failed_batch_keeps_every_addition_and_backs_off_until_its_retry_time) {
  queue().queue_group_additions({addition("g-1", "u1"), addition("g-2", "u2")});
  auto claim = queue().claim_next_group("a", 1000, 31'000, 100);
  ASSERT_TRUE(claim);
  ASSERT_EQ(claim->group_id, "g-1");
  queue().release_group("g-1", "a", 9000, "replace members of group 'All': HTTP 503");
  auto stats = queue().group_stats();
  EXPECT_EQ(stats.additions, 2);
  EXPECT_EQ(stats.retrying, 1);
  EXPECT_EQ(stats.last_error, "replace members of group 'All': HTTP 503");
  // Backing off: the other group is drained meanwhile, this one waits for its time.
  auto other = queue().claim_next_group("a", 8999, 40'000, 100);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->group_id, "g-2");
  EXPECT_FALSE(queue().claim_next_group("b", 8999, 40'000, 100));
  auto again = queue().claim_next_group("b", 9000, 40'000, 100);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->group_id, "g-1");
  EXPECT_EQ(again->attempts, 1);
  EXPECT_EQ(again->last_error, "replace members of group 'All': HTTP 503");
  EXPECT_EQ(users_of(*again), (std::vector<std::string>{"u1"}));
  // Success clears the failure.
  queue().finish_group("g-1", "b", again->up_to());
  stats = queue().group_stats();
  EXPECT_EQ(stats.retrying, 0);
  EXPECT_EQ(stats.additions, 1);  // g-2's, still claimed by a
  EXPECT_EQ(stats.last_error, "");
}

TEST_P(group_queue_test, a_group_claimed_by_the_reconciliation_is_not_drained_until_let_go) {
  ASSERT_TRUE(queue().claim_group("g-1", "recon", 1000, 31'000));
  queue().queue_group_additions({addition("g-1", "u1")});
  EXPECT_FALSE(queue().claim_next_group("a", 2000, 32'000, 100));
  queue().finish_group("g-1", "recon", 0);  // removes nothing
  auto claim = queue().claim_next_group("a", 2000, 32'000, 100);
  ASSERT_TRUE(claim);
  EXPECT_EQ(users_of(*claim), (std::vector<std::string>{"u1"}));
}

// Two processes on one SQLite file, two instances on one PostgreSQL database.
TEST_P(group_queue_test, two_stores_on_one_database_never_claim_the_same_group_at_once) {
  for (int g = 0; g < 20; ++g)
    queue().queue_group_additions({addition("g-" + std::to_string(g), "u")});
  auto second = open_located();
  group_queue& other = *second;
  std::vector<std::string> mine, theirs;
  std::thread t([&] {
    while (auto c = other.claim_next_group("b", 1000, 31'000, 10)) theirs.push_back(c->group_id);
  });
  while (auto c = queue().claim_next_group("a", 1000, 31'000, 10)) mine.push_back(c->group_id);
  t.join();
  std::set<std::string> all(mine.begin(), mine.end());
  for (const auto& g : theirs) EXPECT_TRUE(all.insert(g).second) << g << " claimed twice";
  EXPECT_EQ(all.size(), 20u);
}

TEST_P(group_queue_test, the_cli_reads_the_stats_beside_the_service) {
  EXPECT_EQ(open_reader()->group_stats().additions, 0);
  queue().queue_group_additions({addition("g-1", "u1", 700), addition("g-1", "u2", 900)});
  auto claim = queue().claim_next_group("a", 1000, 31'000, 100);
  ASSERT_TRUE(claim);
  queue().release_group("g-1", "a", 9000, "HTTP 503");
  const auto stats = open_reader()->group_stats();
  EXPECT_EQ(stats.additions, 2);
  EXPECT_EQ(stats.groups, 1);
  EXPECT_EQ(stats.oldest_queued_at, 700);
  EXPECT_EQ(stats.retrying, 1);
  EXPECT_EQ(stats.last_error, "HTTP 503");
}

// At size (issue 18): a group 20,000 users wait for is drained in batches of the claim's
// limit, each user handed out once, and the queue ends empty.
TEST_P(group_queue_test, twenty_thousand_users_of_one_group_drain_in_batches_none_lost_none_twice) {
  constexpr int users = 20'000;
  std::vector<group_addition> chunk;
  for (int i = 0; i < users; ++i) {
    chunk.push_back(addition("g-all", "u" + std::to_string(i)));
    if (chunk.size() == 500) {  // as the worker queues them, record after record
      queue().queue_group_additions(chunk);
      chunk.clear();
    }
  }
  ASSERT_EQ(queue().group_stats().additions, users);
  std::set<std::string> seen;
  int batches = 0;
  while (auto claim = queue().claim_next_group("a", 1000, 31'000, 1000)) {
    ++batches;
    ASSERT_LE(claim->additions.size(), 1000u);
    for (const auto& a : claim->additions)
      EXPECT_TRUE(seen.insert(a.ispring_user_id).second) << a.ispring_user_id << " twice";
    queue().finish_group("g-all", "a", claim->up_to());
  }
  EXPECT_EQ(batches, users / 1000);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(users));
  EXPECT_EQ(queue().group_stats().additions, 0);
}

INSTANTIATE_STORE_ENGINES(group_queue_test);

}  // namespace
}  // namespace connector::store
