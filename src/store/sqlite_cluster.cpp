#include "sqlite_cluster.hpp"

#include <algorithm>

#include "shared_sql.hpp"
#include "sqlite_statements.hpp"

namespace connector::store {
cluster_writes::cluster_writes(const sqlite_connection& db)
    : upsert_instance(db, R"sql(
INSERT INTO instances (id, host, pid, role, version, started_at, last_seen)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (id) DO UPDATE SET last_seen = max(instances.last_seen, excluded.last_seen))sql",
                      "record heartbeat"),
      delete_instance(db, shared_sql::delete_instance, "retire instance"),
      release_all(db, shared_sql::release_leases_of, "release the instance's leases"),
      release_records(db, shared_sql::release_records_of, "release the instance's record claims"),
      upsert_lease(db, shared_sql::take_lease, "take lease"),
      delete_lease(db, shared_sql::release_lease, "release lease"),
      upsert_slot(db, shared_sql::claim_slot, "claim schedule slot"),
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
      claim_one_record(db, std::string(shared_sql::claim_one_record) + record_columns,
                       "claim record"),
      clear_claim(db, shared_sql::release_claim, "release record claim") {}

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

bool cluster_writes::take_lease(const std::string& name, const std::string& holder, epoch_ms now) {
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

void cluster_writes::release_claim(const std::string& organization_id, const std::string& record_id,
                                   const std::string& holder) {
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
