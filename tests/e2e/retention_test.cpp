// End to end, a bounded store: the real binary takes the same 10,000 users' changes again and
// again, every 12 hours of its (injected) clock for a week, well past the 72-hour dedupe
// window, and the database stops growing once the windows are full. Without pruning, every
// round would add 10,000 notification ids and their history for good.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "connector/clock.hpp"
#include "support/eventually.hpp"
#include "support/outbound_builder.hpp"
#include "support/raw_sqlite.hpp"
#include "support/service.hpp"

namespace connector::testing {
namespace {

constexpr std::int64_t hour_ms = 60LL * 60 * 1000;
constexpr int users = 10'000;
constexpr int per_message = 100;
constexpr int rounds = 14;  // a week, every 12 hours

// A SystemModstamp `hours` after a fixed past time: each round is a newer state.
std::string stamp_after(int hours) {
  char text[32];
  std::snprintf(text, sizeof text, "2026-10-%02dT%02d:00:00.000Z", 1 + hours / 24, hours % 24);
  return text;
}

TEST(retention, the_database_stays_flat_while_the_same_users_change_past_the_window) {
  temp_dir dir;
  // History has its own bound (store.history_retention_days, 30 by default): one day here,
  // so that a week covers all of the store's windows.
  running_service service(dir.path(), {{"store", {{"history_retention_days", 1}}}});
  auto client = service.public_client();
  const auto db = service.db_path().string();
  std::int64_t offset_ms = 0;

  std::vector<std::int64_t> used_bytes;  // after each round, once pruning has caught up
  std::vector<std::int64_t> file_bytes;  // the database file (without its WAL) then
  std::uint64_t notification = 0;
  for (int round = 0; round < rounds; ++round) {
    for (int first = 0; first < users; first += per_message) {
      std::vector<user_notification> batch;
      for (int u = first; u < first + per_message; ++u) {
        auto n =
            sample_user(static_cast<std::uint64_t>(u) + 1, ++notification, stamp_after(round * 12));
        n.fields["Title"] = "Round " + std::to_string(round);
        batch.push_back(std::move(n));
      }
      const auto reply =
          client.post_xml("/salesforce/outbound", build_user_message(test_org_id, batch));
      ASSERT_EQ(reply.status, 200) << reply.body;
    }
    // Kept: the ids received within 72 hours (this round and the 5 before: 6 × 12 h is
    // already past the window by the seconds a round takes), and one day of history.
    const std::int64_t ids_kept = static_cast<std::int64_t>(std::min(round + 1, 6)) * users;
    const auto history_cutoff = system_clock().now() + offset_ms - 24 * hour_ms;
    ASSERT_TRUE(eventually(
        [&] {
          raw_sqlite sql(db, 5000);
          return sql.integer("SELECT count(*) FROM notifications") == ids_kept &&
                 sql.integer("SELECT count(*) FROM user_history_new") == 0 &&
                 sql.integer("SELECT count(*) FROM user_history WHERE time < " +
                             std::to_string(history_cutoff)) == 0;
        },
        std::chrono::seconds(120)))
        << "round " << round;
    raw_sqlite sql(db, 5000);
    EXPECT_EQ(sql.integer("SELECT count(*) FROM records"), users);
    // Pages in use (the file's size less its free list, which the next writes reuse).
    used_bytes.push_back((sql.integer("PRAGMA page_count") - sql.integer("PRAGMA freelist_count")) *
                         sql.integer("PRAGMA page_size"));
    file_bytes.push_back(static_cast<std::int64_t>(std::filesystem::file_size(service.db_path())));
    std::printf("round %d: %lld bytes in use, file %lld bytes\n", round,
                static_cast<long long>(used_bytes.back()),
                static_cast<long long>(file_bytes.back()));
    service.advance_clock(12 * hour_ms);
    offset_ms += 12 * hour_ms;
  }

  // Full windows from round 6 on: later rounds hold no more than it, give or take the
  // B-trees' slack. Without pruning each round adds its ids and history for good: about
  // 1.5 MB here, against some 20 MB in use.
  const auto full = used_bytes[6];
  for (int round = 7; round < rounds; ++round) {
    EXPECT_LE(used_bytes[static_cast<std::size_t>(round)], full + full / 20)
        << "round " << round << ": " << used_bytes[static_cast<std::size_t>(round)]
        << " bytes in use against " << full << " when the windows filled";
  }
  // And the file itself: freed pages are reused, so once a round's peak (the next round in
  // before the oldest goes) has been reached, the file grows no further.
  const auto settled = file_bytes[8];
  for (int round = 9; round < rounds; ++round) {
    EXPECT_LE(file_bytes[static_cast<std::size_t>(round)], settled + settled / 20)
        << "round " << round;
  }
}

}  // namespace
}  // namespace connector::testing
