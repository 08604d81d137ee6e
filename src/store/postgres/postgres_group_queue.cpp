#include "postgres_group_queue.hpp"

#include <algorithm>

#include "../group_queue_sql.hpp"
#include "../row_values.hpp"

namespace connector::store::postgres_group_queue {
namespace {

using params = postgres_params;

namespace sql {
// In the order given (ids follow it); a user already waiting for the group waits once.
constexpr const char* insert_additions = R"sql(
INSERT INTO group_additions
  (group_id, group_name, ispring_user_id, organization_id, record_id, queued_at)
SELECT g, n, u, o, r, q
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
  WITH ORDINALITY AS a (g, n, u, o, r, q, i)
ORDER BY i
ON CONFLICT (group_id, ispring_user_id) DO NOTHING)sql";
// Every group waited for has its claims row. Sorted, so two writers adding the same new
// groups take their keys in one order and never deadlock.
constexpr const char* insert_claims = R"sql(
INSERT INTO group_claims (group_id)
SELECT DISTINCT g FROM unnest($1::text[]) AS g ORDER BY g
ON CONFLICT (group_id) DO NOTHING)sql";
// Claimable: nobody's (or an expired) lease, not backing off, users waiting; the one whose
// first addition waited longest. A row another writer is claiming now is skipped, and one
// it claimed meanwhile is checked again as it now is (READ COMMITTED re-reads a row it locks).
constexpr const char* claim_next = R"sql(
WITH next AS (
  SELECT c.group_id FROM group_claims c
  WHERE (c.owner = '' OR c.lease_until <= $1) AND c.due_at <= $1
    AND EXISTS (SELECT 1 FROM group_additions a WHERE a.group_id = c.group_id)
  ORDER BY (SELECT min(a.id) FROM group_additions a WHERE a.group_id = c.group_id)
  LIMIT 1
  FOR UPDATE SKIP LOCKED)
UPDATE group_claims c SET owner = $2, lease_until = $3 FROM next
WHERE c.group_id = next.group_id
RETURNING c.group_id, c.attempts, c.last_error)sql";
// The oldest `limit`, marked as read by this claimant (finish removes only those).
constexpr const char* take_additions = R"sql(
UPDATE group_additions SET claimed_by = $2
WHERE id IN (SELECT id FROM group_additions WHERE group_id = $1 ORDER BY id LIMIT $3)
RETURNING id, group_name, ispring_user_id, organization_id, record_id, queued_at)sql";
// Whether or not users wait. A row locked by another writer is waited for, then judged as
// that writer left it (ON CONFLICT DO UPDATE locks the newest version before the WHERE).
constexpr const char* claim = R"sql(
INSERT INTO group_claims (group_id, owner, lease_until) VALUES ($1, $2, $3)
ON CONFLICT (group_id) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
WHERE group_claims.owner = '' OR group_claims.owner = excluded.owner
   OR group_claims.lease_until <= $4
RETURNING group_id)sql";
// Only what this claimant read, up to the newest it applied: an addition that committed
// after the claim read the queue (a lower id, from another instance's sequence cache) stays.
constexpr const char* remove_applied = R"sql(
DELETE FROM group_additions WHERE group_id = $1 AND claimed_by = $2 AND id <= $3)sql";
constexpr const char* let_go = R"sql(
UPDATE group_claims SET owner = '', lease_until = 0, due_at = $3, attempts = 0, last_error = ''
WHERE group_id = $1 AND owner = $2)sql";
constexpr const char* back_off = R"sql(
UPDATE group_claims SET owner = '', lease_until = 0, due_at = $3, attempts = attempts + 1,
  last_error = $4
WHERE group_id = $1 AND owner = $2)sql";
}  // namespace sql

std::vector<group_addition> take_additions(postgres_connection& db, const std::string& group_id,
                                           const std::string& owner, std::size_t limit) {
  const auto rows =
      db.exec(sql::take_additions, params().add(group_id).add(owner).add(as_limit(limit)),
              "read group additions");
  std::vector<group_addition> taken;
  for (int i = 0; i < rows.rows(); ++i)
    taken.push_back({group_id, rows.text(i, 1), rows.text(i, 2), rows.text(i, 3), rows.text(i, 4),
                     rows.int64(i, 5), rows.int64(i, 0)});
  // RETURNING comes in no particular order: oldest first.
  std::sort(taken.begin(), taken.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return taken;
}

}  // namespace

void queue(postgres_connection& db, const std::vector<group_addition>& additions) {
  std::vector<std::string> groups, names, users, organizations, records;
  std::vector<std::int64_t> times;
  for (const auto& a : additions) {
    groups.push_back(a.group_id);
    names.push_back(a.group_name);
    users.push_back(a.ispring_user_id);
    organizations.push_back(a.organization_id);
    records.push_back(a.record_id);
    times.push_back(a.queued_at);
  }
  db.exec(sql::insert_additions,
          params()
              .add_array(groups)
              .add_array(names)
              .add_array(users)
              .add_array(organizations)
              .add_array(records)
              .add_array(times),
          "queue group additions");
  db.exec(sql::insert_claims, params().add_array(groups), "add group claims");
}

std::optional<group_claim> claim_next(postgres_connection& db, const std::string& owner,
                                      epoch_ms now, epoch_ms lease_until, std::size_t limit) {
  const auto row =
      db.exec(sql::claim_next, params().add(now).add(owner).add(lease_until), "claim next group");
  if (row.rows() == 0) return std::nullopt;
  group_claim claimed;
  claimed.group_id = row.text(0, 0);
  claimed.owner = owner;
  claimed.lease_until = lease_until;
  claimed.attempts = static_cast<int>(row.int64(0, 1));
  claimed.last_error = row.text(0, 2);
  claimed.additions = take_additions(db, claimed.group_id, owner, limit);
  return claimed;
}

bool claim(postgres_connection& db, const std::string& group_id, const std::string& owner,
           epoch_ms now, epoch_ms lease_until) {
  return db.exec(sql::claim, params().add(group_id).add(owner).add(lease_until).add(now),
                 "claim group")
             .rows() == 1;
}

void finish(postgres_connection& db, const std::string& group_id, const std::string& owner,
            std::int64_t up_to, epoch_ms due_again_at) {
  if (up_to > 0)
    db.exec(sql::remove_applied, params().add(group_id).add(owner).add(up_to),
            "remove applied group additions");
  db.exec(sql::let_go, params().add(group_id).add(owner).add(due_again_at), "finish group claim");
}

void release(postgres_connection& db, const std::string& group_id, const std::string& owner,
             epoch_ms retry_at, const std::string& error) {
  db.exec(sql::back_off, params().add(group_id).add(owner).add(retry_at).add(error),
          "release group claim");
}

group_queue_stats stats(postgres_connection& db) {
  group_queue_stats stats;
  const auto totals = db.exec(group_queue_sql::totals, "count group additions");
  stats.additions = totals.int64(0, 0);
  stats.groups = totals.int64(0, 1);
  stats.oldest_queued_at = totals.optional_int64(0, 2);
  const auto retrying = db.exec(group_queue_sql::retrying, "count retrying groups");
  stats.retrying = retrying.int64(0, 0);
  if (!retrying.is_null(0, 1)) stats.last_error = retrying.text(0, 1);
  return stats;
}

}  // namespace connector::store::postgres_group_queue
