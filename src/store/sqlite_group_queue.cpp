#include "sqlite_group_queue.hpp"

#include <algorithm>
#include <limits>

#include "group_queue_sql.hpp"
#include "row_values.hpp"
#include "sqlite_schema.hpp"

namespace connector::store {
namespace {

using run = sqlite_statement::run;

}  // namespace

group_queue_writes::group_queue_writes(const sqlite_connection& connection)
    : db(connection),
      // A user already waiting for the group waits once: applying a record again (a newer
      // state, a retry after a crash) adds nothing new, and the queue counts users.
      insert(db, R"sql(
INSERT INTO group_additions
  (group_id, group_name, ispring_user_id, organization_id, record_id, queued_at)
SELECT ?1, ?2, ?3, ?4, ?5, ?6
WHERE NOT EXISTS (SELECT 1 FROM group_additions WHERE group_id = ?1 AND ispring_user_id = ?3))sql",
             "queue group addition"),
      // Claimable: no claim yet, or nobody's (or an expired) lease, and not backing off.
      next_group(db, R"sql(
SELECT a.group_id FROM group_additions a
LEFT JOIN group_claims c ON c.group_id = a.group_id
WHERE c.group_id IS NULL OR ((c.owner = '' OR c.lease_until <= ?1) AND c.due_at <= ?1)
GROUP BY a.group_id ORDER BY MIN(a.id) LIMIT 1)sql",
                 "find a group to drain"),
      upsert_claim(db, R"sql(
INSERT INTO group_claims (group_id, owner, lease_until) VALUES (?1, ?2, ?3)
ON CONFLICT (group_id) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
WHERE group_claims.owner = '' OR group_claims.owner = excluded.owner
   OR group_claims.lease_until <= ?4)sql",
                   "claim group"),
      read_claim(db, R"sql(
SELECT attempts, last_error FROM group_claims WHERE group_id = ?1)sql",
                 "read group claim"),
      additions_of(db, R"sql(
SELECT id, group_name, ispring_user_id, organization_id, record_id, queued_at
FROM group_additions WHERE group_id = ?1 ORDER BY id LIMIT ?2)sql",
                   "read group additions"),
      remove_up_to(db, R"sql(
DELETE FROM group_additions WHERE group_id = ?1 AND id <= ?2)sql",
                   "remove applied group additions"),
      let_go(db, R"sql(
UPDATE group_claims SET owner = '', lease_until = 0, due_at = ?3, attempts = 0, last_error = ''
WHERE group_id = ?1 AND owner = ?2)sql",
             "finish group claim"),
      back_off(db, R"sql(
UPDATE group_claims SET owner = '', lease_until = 0, due_at = ?3, attempts = attempts + 1,
  last_error = ?4
WHERE group_id = ?1 AND owner = ?2)sql",
               "release group claim") {}

void group_queue_writes::queue(const std::vector<group_addition>& additions) {
  for (const auto& a : additions)
    run(insert)
        .bind(1, a.group_id)
        .bind(2, a.group_name)
        .bind(3, a.ispring_user_id)
        .bind(4, a.organization_id)
        .bind(5, a.record_id)
        .bind(6, a.queued_at)
        .execute();
}

bool group_queue_writes::claim(const std::string& group_id, const std::string& owner, epoch_ms now,
                               epoch_ms lease_until) {
  run(upsert_claim).bind(1, group_id).bind(2, owner).bind(3, lease_until).bind(4, now).execute();
  return sqlite3_changes(db.handle()) == 1;
}

std::optional<group_claim> group_queue_writes::claim_next(const std::string& owner, epoch_ms now,
                                                          epoch_ms lease_until, std::size_t limit) {
  group_claim claimed;
  {
    run row(next_group);
    row.bind(1, now);
    if (!row.step()) return std::nullopt;
    claimed.group_id = row.text(0);
  }
  // In the same transaction as the look-up: nobody claims it in between.
  if (!claim(claimed.group_id, owner, now, lease_until)) return std::nullopt;
  claimed.owner = owner;
  claimed.lease_until = lease_until;
  {
    run row(read_claim);
    row.bind(1, claimed.group_id);
    if (row.step()) {
      claimed.attempts = static_cast<int>(row.int64(0));
      claimed.last_error = row.text(1);
    }
  }
  run rows(additions_of);
  rows.bind(1, claimed.group_id).bind(2, as_limit(limit));
  while (rows.step())
    claimed.additions.push_back({claimed.group_id, rows.text(1), rows.text(2), rows.text(3),
                                 rows.text(4), rows.int64(5), rows.int64(0)});
  return claimed;
}

void group_queue_writes::finish(const std::string& group_id, const std::string& owner,
                                std::int64_t up_to, epoch_ms due_again_at) {
  if (up_to > 0) run(remove_up_to).bind(1, group_id).bind(2, up_to).execute();
  run(let_go).bind(1, group_id).bind(2, owner).bind(3, due_again_at).execute();
}

void group_queue_writes::release(const std::string& group_id, const std::string& owner,
                                 epoch_ms retry_at, const std::string& error) {
  run(back_off).bind(1, group_id).bind(2, owner).bind(3, retry_at).bind(4, error).execute();
}

group_queue_reads::group_queue_reads(const sqlite_connection& db)
    : totals(db, group_queue_sql::totals, "count group additions"),
      retrying(db, group_queue_sql::retrying, "count retrying groups") {}

group_queue_stats group_queue_reads::stats() {
  group_queue_stats stats;
  {
    run row(totals);
    if (row.step()) {
      stats.additions = row.int64(0);
      stats.groups = row.int64(1);
      stats.oldest_queued_at = row.optional_int64(2);
    }
  }
  run row(retrying);
  if (row.step()) {
    stats.retrying = row.int64(0);
    if (!row.is_null(1)) stats.last_error = row.text(1);
  }
  return stats;
}

}  // namespace connector::store
