#include "sqlite_cluster.hpp"

#include <algorithm>

#include "sqlite_statements.hpp"

namespace connector::store {
cluster_writes::cluster_writes(const sqlite_connection& db)
    : upsert_instance(db, R"sql(
INSERT INTO instances (id, host, pid, role, version, started_at, last_seen)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (id) DO UPDATE SET last_seen = max(instances.last_seen, excluded.last_seen))sql",
                      "record heartbeat"),
      delete_instance(db, "DELETE FROM instances WHERE id = ?1", "retire instance"),
      release_all(db, "DELETE FROM leases WHERE holder = ?1", "release the instance's leases"),
      release_records(db, R"sql(
UPDATE records SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = ?1)sql",
                      "release the instance's record claims"),
      // Taken when free, already ours, or its holder's heartbeat stopped: never by a pid.
      upsert_lease(db, R"sql(
INSERT INTO leases (name, holder, taken_at) VALUES (?1, ?2, ?3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, taken_at = excluded.taken_at
WHERE leases.holder = excluded.holder
   OR NOT EXISTS (SELECT 1 FROM instances WHERE id = leases.holder AND last_seen >= ?4)
RETURNING holder)sql",
                   "take lease"),
      delete_lease(db, "DELETE FROM leases WHERE name = ?1 AND holder = ?2", "release lease"),
      upsert_slot(db, R"sql(
INSERT INTO schedule_slots (name, due_at, claimed_by, claimed_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (name) DO UPDATE SET due_at = excluded.due_at, claimed_by = excluded.claimed_by,
  claimed_at = excluded.claimed_at
WHERE schedule_slots.due_at < excluded.due_at
   OR (schedule_slots.due_at = excluded.due_at
       AND schedule_slots.claimed_by <> excluded.claimed_by
       AND NOT EXISTS (SELECT 1 FROM instances
                       WHERE id = schedule_slots.claimed_by AND last_seen >= ?5))
RETURNING claimed_by)sql",
                  "claim schedule slot"),
      // A claim is the claimer's as long as it beats (cluster.hpp): a live instance slow on
      // iSpring keeps its records, so no user is created twice; a dead one's pass three
      // beats after its last. The claimer's own are not due for it either, beating or not
      // (a store's own instance is live): a refill that runs while a record is applied must
      // not hand it out again. lease_until tells the operator the earliest they could pass.
      claim_due_records(db, std::string(R"sql(
UPDATE records SET claimed_by = ?2, lease_until = ?3
WHERE (organization_id, record_id) IN (
  SELECT organization_id, record_id FROM records INDEXED BY records_due
  WHERE state IN ('pending', 'retrying') AND due_at <= ?1
    AND (claimed_by IS NULL
         OR (claimed_by <> ?2
             AND NOT EXISTS (SELECT 1 FROM instances
                             WHERE id = records.claimed_by AND last_seen >= ?4)))
  ORDER BY due_at LIMIT ?5)
RETURNING )sql") + record_columns,
                        "claim due records"),
      // The same rule for one record, its claimer included: a record this instance took and
      // could not mark is still its own, due or not (a newer state's due time may be a later
      // clock's), or nobody would take it while this instance lives.
      claim_one_record(db, std::string(R"sql(
UPDATE records SET claimed_by = ?3, lease_until = ?4
WHERE organization_id = ?1 AND record_id = ?2
  AND state IN ('pending', 'retrying')
  AND (claimed_by = ?3
       OR (due_at <= ?5
           AND (claimed_by IS NULL
                OR NOT EXISTS (SELECT 1 FROM instances
                               WHERE id = records.claimed_by AND last_seen >= ?6))))
RETURNING )sql") + record_columns,
                       "claim record"),
      // Only the holder's: an instance taken for dead that comes back and finishes late must
      // not free a record its successor is applying.
      clear_claim(db, R"sql(
UPDATE records SET claimed_by = NULL, lease_until = NULL
WHERE organization_id = ?1 AND record_id = ?2 AND claimed_by = ?3)sql",
                  "release record claim") {}

void cluster_writes::heartbeat(const instance_record& self) {
  run(upsert_instance)
      .bind(1, self.id)
      .bind(2, self.host)
      .bind(3, self.pid)
      .bind(4, self.role)
      .bind(5, self.version)
      .bind(6, self.started_at)
      .bind(7, self.last_seen)
      .execute();
}

// Its records too: those its worker took but did not start pass at once, not 15 s later.
void cluster_writes::retire(const std::string& id) {
  run(release_all).bind(1, id).execute();
  run(release_records).bind(1, id).execute();
  run(delete_instance).bind(1, id).execute();
}

bool cluster_writes::take_lease(const std::string& name, const std::string& holder,
                                epoch_ms now) {
  run row(upsert_lease);
  row.bind(1, name).bind(2, holder).bind(3, now).bind(4, live_since(now));
  return row.step();
}

void cluster_writes::release_lease(const std::string& name, const std::string& holder) {
  run(delete_lease).bind(1, name).bind(2, holder).execute();
}

bool cluster_writes::claim_slot(const std::string& name, epoch_ms due, const std::string& holder,
                                epoch_ms now) {
  run row(upsert_slot);
  row.bind(1, name).bind(2, due).bind(3, holder).bind(4, now).bind(5, live_since(now));
  return row.step();
}

std::vector<pending_record> cluster_writes::claim_due(const std::string& holder, epoch_ms now,
                                                      std::size_t limit) {
  std::vector<pending_record> due;
  {
    run rows(claim_due_records);
    rows.bind(1, now)
        .bind(2, holder)
        .bind(3, now + instance_stale_after_ms)
        .bind(4, live_since(now))
        .bind(5, as_limit(limit));
    while (rows.step()) due.push_back(read_record(rows));
  }
  // RETURNING comes in no particular order.
  std::stable_sort(due.begin(), due.end(),
                   [](const auto& a, const auto& b) { return a.due_at < b.due_at; });
  return due;
}

std::optional<pending_record> cluster_writes::claim_one(const std::string& organization_id,
                                                        const std::string& record_id,
                                                        const std::string& holder, epoch_ms now) {
  run row(claim_one_record);
  row.bind(1, organization_id)
      .bind(2, record_id)
      .bind(3, holder)
      .bind(4, now + instance_stale_after_ms)
      .bind(5, now)
      .bind(6, live_since(now));
  if (!row.step()) return std::nullopt;
  return read_record(row);
}

void cluster_writes::release_claim(const std::string& organization_id,
                                   const std::string& record_id, const std::string& holder) {
  run(clear_claim).bind(1, organization_id).bind(2, record_id).bind(3, holder).execute();
}

cluster_reads::cluster_reads(const sqlite_connection& db)
    : live_instances(db, R"sql(
SELECT id, host, pid, role, version, started_at, last_seen FROM instances
WHERE last_seen >= ?1 ORDER BY started_at, id)sql",
                     "list live instances"),
      find_lease(db, "SELECT holder FROM leases WHERE name = ?1", "select lease") {}

std::vector<instance_record> cluster_reads::live(epoch_ms now) {
  std::vector<instance_record> found;
  run rows(live_instances);
  rows.bind(1, live_since(now));
  while (rows.step()) {
    found.push_back({rows.text(0), rows.text(1), rows.int64(2), rows.text(3), rows.text(4),
                     rows.int64(5), rows.int64(6)});
  }
  return found;
}

std::string cluster_reads::lease_holder(const std::string& name) {
  run row(find_lease);
  row.bind(1, name);
  return row.step() ? row.text(0) : std::string();
}

}  // namespace connector::store
