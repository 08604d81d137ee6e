// The worker's safety limit on its own: the cap as a count or a share, the sliding hour on an
// injected clock, the journal that carries the hour across a restart, a release over the cap,
// and concurrent reservations that never exceed the cap.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "connector/sync/deactivation_limit.hpp"

namespace connector::sync {
namespace {

constexpr const char* org = "00D5g000004XyZaEAK";
constexpr const char* other_org = "00D5g000004XyZbEAK";
constexpr epoch_ms minute = 60'000;

// What the store would keep, in memory.
struct fake_journal {
  std::map<std::string, std::vector<epoch_ms>> kept;
  std::size_t linked = 100;
  int reads = 0;

  retirement_journal journal() {
    return {[this](const std::string& organization_id, epoch_ms since) {
              ++reads;
              std::vector<epoch_ms> times;
              for (const auto t : kept[organization_id])
                if (t >= since) times.push_back(t);
              return times;
            },
            [this](const std::string& organization_id, const std::string&, epoch_ms at, epoch_ms) {
              kept[organization_id].push_back(at);
            },
            [this](const std::string&) { return linked; }};
  }
};

// Reserves and, when allowed, confirms: one deactivation made. True when allowed.
bool deactivate(deactivation_limiter& limiter, const std::string& organization_id = org,
                bool released = false) {
  const auto verdict = limiter.reserve(organization_id, released);
  if (verdict.allowed) limiter.confirm(organization_id, "005", verdict.at);
  return verdict.allowed;
}

TEST(hourly_cap, a_count_is_the_cap_whatever_the_size) {
  EXPECT_EQ(hourly_cap(std::string("20"), 0), 20u);
  EXPECT_EQ(hourly_cap(std::string("20"), 100'000), 20u);
  EXPECT_EQ(hourly_cap(std::string("0"), 100), 0u) << "0 holds every deactivation";
}

TEST(hourly_cap, a_share_is_of_the_linked_users_rounded_down_but_at_least_one) {
  EXPECT_EQ(hourly_cap(std::string("5%"), 1000), 50u);
  EXPECT_EQ(hourly_cap(std::string("5%"), 59), 2u);
  EXPECT_EQ(hourly_cap(std::string("5%"), 10), 1u) << "a small organization still moves";
  EXPECT_EQ(hourly_cap(std::string("100%"), 7), 7u);
}

TEST(hourly_cap, off_unset_or_unreadable_is_no_cap) {
  EXPECT_FALSE(hourly_cap(std::nullopt, 100));
  EXPECT_FALSE(hourly_cap(std::string("off"), 100));
  EXPECT_FALSE(hourly_cap(std::string("ten"), 100));
}

TEST(deactivation_limiter, a_count_allows_that_many_in_an_hour_then_holds_with_a_reason) {
  manual_clock clock(1'700'000'000'000);
  fake_journal journal;
  deactivation_limiter limiter("2", clock, journal.journal());
  EXPECT_TRUE(deactivate(limiter));
  EXPECT_TRUE(deactivate(limiter));
  const auto third = limiter.reserve(org, false);
  EXPECT_FALSE(third.allowed);
  EXPECT_EQ(third.reason,
            "held by the safety limit: 2 users were deactivated or deleted by notifications in "
            "the last hour, and sync.max_deactivations_per_hour allows 2; `connector release` "
            "lets it through");
  EXPECT_EQ(journal.kept[org].size(), 2u) << "a refusal takes no place";
}

// Settings edited in the page: each reservation meets the cap of the revision in force, over
// the same hour, so a cap lowered or turned on counts what was made before (off included).
TEST(deactivation_limiter, the_cap_in_force_at_each_reservation_decides_over_the_same_hour) {
  manual_clock clock(1'700'000'000'000);
  fake_journal journal;
  deactivation_limiter limiter("off", clock, journal.journal());
  const auto made = [&](const std::optional<std::string>& cap) {
    const auto verdict = limiter.reserve(org, false, cap);
    if (verdict.allowed) limiter.confirm(org, "005", verdict.at);
    return verdict;
  };
  EXPECT_TRUE(made(std::nullopt).allowed);
  EXPECT_TRUE(made(std::string("off")).allowed);
  EXPECT_TRUE(made(std::string("5")).allowed);
  EXPECT_EQ(journal.kept[org].size(), 3u) << "counted while off";
  const auto lowered = made(std::string("3"));
  EXPECT_FALSE(lowered.allowed);
  EXPECT_NE(lowered.reason.find("allows 3"), std::string::npos) << lowered.reason;
  // A share of 100 linked users: 3% is 3, full; 4% has one place left.
  EXPECT_FALSE(made(std::string("3%")).allowed);
  const auto share = made(std::string("4%"));
  EXPECT_TRUE(share.allowed);
  EXPECT_FALSE(made(std::string("4%")).allowed);
  EXPECT_NE(made(std::string("4%")).reason.find("(4% of 100 linked users)"), std::string::npos);
  EXPECT_TRUE(limiter.reserve(org, false).allowed) << "the constructor's setting: off";
}

TEST(deactivation_limiter, the_hour_slides_each_place_frees_an_hour_after_it_was_taken) {
  manual_clock clock(1'700'000'000'000);
  fake_journal journal;
  deactivation_limiter limiter("2", clock, journal.journal());
  ASSERT_TRUE(deactivate(limiter));  // at 0
  clock.advance(30 * minute);
  ASSERT_TRUE(deactivate(limiter));  // at 30 min
  clock.advance(29 * minute);
  EXPECT_FALSE(limiter.reserve(org, false).allowed) << "59 minutes: both still count";
  clock.advance(1 * minute + 1);
  EXPECT_TRUE(deactivate(limiter)) << "the first has left the hour";
  EXPECT_FALSE(limiter.reserve(org, false).allowed) << "the one at 30 minutes still counts";
  clock.advance(30 * minute);
  EXPECT_TRUE(deactivate(limiter));
  EXPECT_EQ(limiter.taken(org), 2u);
}

TEST(deactivation_limiter, a_share_follows_the_linked_users) {
  manual_clock clock(1'700'000'000'000);
  fake_journal journal;
  journal.linked = 40;
  deactivation_limiter limiter("5%", clock, journal.journal());
  EXPECT_TRUE(deactivate(limiter));
  EXPECT_TRUE(deactivate(limiter));
  const auto third = limiter.reserve(org, false);
  ASSERT_FALSE(third.allowed);
  EXPECT_NE(third.reason.find("allows 2 (5% of 40 linked users)"), std::string::npos)
      << third.reason;
  // The base is counted again after a while, not before every deactivation.
  journal.linked = 100;
  EXPECT_FALSE(limiter.reserve(org, false).allowed);
  clock.advance(minute);
  EXPECT_TRUE(deactivate(limiter)) << "5% of 100 is 5";
}

TEST(deactivation_limiter, the_hour_survives_a_restart_through_the_journal) {
  manual_clock clock(1'700'000'000'000);
  fake_journal journal;
  {
    deactivation_limiter before("2", clock, journal.journal());
    ASSERT_TRUE(deactivate(before));
    clock.advance(10 * minute);
    ASSERT_TRUE(deactivate(before));
  }
  clock.advance(minute);
  deactivation_limiter after("2", clock, journal.journal());
  EXPECT_FALSE(after.reserve(org, false).allowed) << "the new process knows the hour's two";
  clock.advance(50 * minute);
  EXPECT_TRUE(deactivate(after)) << "the first one is over an hour old now";
  EXPECT_EQ(journal.reads, 2) << "read once per process and organization, then counted in memory";
}

TEST(deactivation_limiter, a_released_one_passes_over_the_cap_and_still_counts) {
  manual_clock clock(1'700'000'000'000);
  fake_journal journal;
  deactivation_limiter limiter("1", clock, journal.journal());
  ASSERT_TRUE(deactivate(limiter));
  EXPECT_FALSE(limiter.reserve(org, false).allowed);
  EXPECT_TRUE(deactivate(limiter, org, true));
  EXPECT_EQ(limiter.taken(org), 2u);
  EXPECT_EQ(journal.kept[org].size(), 2u);
  clock.advance(60 * minute + 1);
  EXPECT_TRUE(deactivate(limiter));
}

TEST(deactivation_limiter, a_place_given_back_is_free_again_and_not_kept) {
  manual_clock clock(1'700'000'000'000);
  fake_journal journal;
  deactivation_limiter limiter("1", clock, journal.journal());
  const auto reserved = limiter.reserve(org, false);
  ASSERT_TRUE(reserved.allowed);
  EXPECT_FALSE(limiter.reserve(org, false).allowed) << "a reservation holds its place";
  limiter.cancel(org, reserved.at);  // iSpring refused the call: nothing was deactivated
  EXPECT_TRUE(journal.kept[org].empty());
  EXPECT_TRUE(deactivate(limiter));
}

TEST(deactivation_limiter, each_organization_has_its_own_hour) {
  manual_clock clock(1'700'000'000'000);
  fake_journal journal;
  deactivation_limiter limiter("1", clock, journal.journal());
  ASSERT_TRUE(deactivate(limiter, org));
  EXPECT_FALSE(limiter.reserve(org, false).allowed);
  EXPECT_TRUE(deactivate(limiter, other_org));
}

TEST(deactivation_limiter, concurrent_applies_never_reserve_more_than_the_cap) {
  manual_clock clock(1'700'000'000'000);
  fake_journal journal;
  deactivation_limiter limiter("7", clock, journal.journal());
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        if (limiter.reserve(org, false).allowed) ++allowed;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 7);
}

}  // namespace
}  // namespace connector::sync
