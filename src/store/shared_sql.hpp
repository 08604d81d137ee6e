#pragma once
// Statements both engines run alike, written once in SQLite's numbered placeholders (?1, ?2…);
// the PostgreSQL engine reads them through postgres_sql ($1, $2…). Only what is the same SQL
// in both dialects belongs here: what differs stays in each engine, beside a word on why (the
// heartbeat's max / greatest, the due records' INDEXED BY / FOR UPDATE SKIP LOCKED).
namespace connector::store::shared_sql {

// --- Several instances (cluster.hpp) ---------------------------------------------------------

inline constexpr const char* release_leases_of = "DELETE FROM leases WHERE holder = ?1";
inline constexpr const char* release_records_of =
    "UPDATE records SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = ?1";
inline constexpr const char* delete_instance = "DELETE FROM instances WHERE id = ?1";

// Taken when free, already ours, or its holder's heartbeat stopped: never by a pid.
// ?1 name, ?2 holder, ?3 now, ?4 live_since(now).
inline constexpr const char* take_lease = R"sql(
INSERT INTO leases (name, holder, taken_at) VALUES (?1, ?2, ?3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, taken_at = excluded.taken_at
WHERE leases.holder = excluded.holder
   OR NOT EXISTS (SELECT 1 FROM instances WHERE id = leases.holder AND last_seen >= ?4)
RETURNING holder)sql";

inline constexpr const char* release_lease = "DELETE FROM leases WHERE name = ?1 AND holder = ?2";

// One caller per due time; a due time whose claimer died may be claimed again.
// ?1 name, ?2 due, ?3 holder, ?4 now, ?5 live_since(now).
inline constexpr const char* claim_slot = R"sql(
INSERT INTO schedule_slots (name, due_at, claimed_by, claimed_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (name) DO UPDATE SET due_at = excluded.due_at, claimed_by = excluded.claimed_by,
  claimed_at = excluded.claimed_at
WHERE schedule_slots.due_at < excluded.due_at
   OR (schedule_slots.due_at = excluded.due_at
       AND schedule_slots.claimed_by <> excluded.claimed_by
       AND NOT EXISTS (SELECT 1 FROM instances
                       WHERE id = schedule_slots.claimed_by AND last_seen >= ?5))
RETURNING claimed_by)sql";

// The claim rule for one record, its claimer included: a record this instance took and could
// not mark is still its own, due or not (a newer state's due time may be a later clock's), or
// nobody would take it while this instance lives. Followed by the record's columns.
// ?1 organization, ?2 record, ?3 holder, ?4 lease_until, ?5 now, ?6 live_since(now).
inline constexpr const char* claim_one_record = R"sql(
UPDATE records SET claimed_by = ?3, lease_until = ?4
WHERE organization_id = ?1 AND record_id = ?2
  AND state IN ('pending', 'retrying')
  AND (claimed_by = ?3
       OR (due_at <= ?5
           AND (claimed_by IS NULL
                OR NOT EXISTS (SELECT 1 FROM instances
                               WHERE id = records.claimed_by AND last_seen >= ?6))))
RETURNING )sql";

// Only the holder's: an instance taken for dead that comes back and finishes late must not
// free a record its successor is applying. ?1 organization, ?2 record, ?3 holder.
inline constexpr const char* release_claim = R"sql(
UPDATE records SET claimed_by = NULL, lease_until = NULL
WHERE organization_id = ?1 AND record_id = ?2 AND claimed_by = ?3)sql";

}  // namespace connector::store::shared_sql
