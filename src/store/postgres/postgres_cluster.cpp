#include "postgres_cluster.hpp"

#include <algorithm>

#include "../shared_sql.hpp"
#include "postgres_reads.hpp"
#include "postgres_sql.hpp"

namespace connector::store::postgres_cluster {

using params = postgres_params;

void heartbeat(postgres_connection& db, const instance_record& self) {
  db.exec(R"sql(
INSERT INTO instances (id, host, pid, role, version, started_at, last_seen)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO UPDATE SET last_seen = greatest(instances.last_seen, excluded.last_seen))sql",
          params()
              .add(self.id)
              .add(self.host)
              .add(self.pid)
              .add(self.role)
              .add(self.version)
              .add(self.started_at)
              .add(self.last_seen),
          "record heartbeat");
}

// Its records too: those its worker took but did not start pass at once, not 15 s later.
void retire(postgres_connection& db, const std::string& id) {
  static const auto release_leases = postgres_sql(shared_sql::release_leases_of);
  static const auto release_records = postgres_sql(shared_sql::release_records_of);
  static const auto delete_instance = postgres_sql(shared_sql::delete_instance);
  db.exec(release_leases, params().add(id), "release the instance's leases");
  db.exec(release_records, params().add(id), "release the instance's record claims");
  db.exec(delete_instance, params().add(id), "retire instance");
}

bool take_lease(postgres_connection& db, const std::string& name, const std::string& holder,
                epoch_ms now) {
  static const auto sql = postgres_sql(shared_sql::take_lease);
  return db.exec(sql, params().add(name).add(holder).add(now).add(live_since(now)), "take lease")
             .rows() == 1;
}

void release_lease(postgres_connection& db, const std::string& name, const std::string& holder) {
  static const auto sql = postgres_sql(shared_sql::release_lease);
  db.exec(sql, params().add(name).add(holder), "release lease");
}

bool claim_slot(postgres_connection& db, const std::string& name, epoch_ms due,
                const std::string& holder, epoch_ms now) {
  static const auto sql = postgres_sql(shared_sql::claim_slot);
  return db.exec(sql, params().add(name).add(due).add(holder).add(now).add(live_since(now)),
                 "claim schedule slot")
             .rows() == 1;
}

// A claim is the claimer's as long as it beats (cluster.hpp): a live instance slow on iSpring
// keeps its records, so no user is created twice; a dead one's pass three beats after its
// last. The claimer's own are not due for it either, beating or not (a store's own instance
// is live): a refill that runs while a record is applied must not hand it out again.
// lease_until tells the operator the earliest they could pass.
std::vector<pending_record> claim_due(postgres_connection& db, const std::string& holder,
                                      epoch_ms now, std::size_t limit) {
  const auto rows = db.exec(std::string(R"sql(
UPDATE records SET claimed_by = $2, lease_until = $3
WHERE (organization_id, record_id) IN (
  SELECT organization_id, record_id FROM records
  WHERE state IN ('pending', 'retrying') AND due_at <= $1
    AND (claimed_by IS NULL
         OR (claimed_by <> $2
             AND NOT EXISTS (SELECT 1 FROM instances
                             WHERE id = records.claimed_by AND last_seen >= $4)))
  ORDER BY due_at LIMIT $5
  FOR UPDATE SKIP LOCKED)
RETURNING )sql") + postgres_reads::record_columns,
                            params()
                                .add(now)
                                .add(holder)
                                .add(now + instance_stale_after_ms)
                                .add(live_since(now))
                                .add(as_limit(limit)),
                            "claim due records");
  std::vector<pending_record> due;
  for (int i = 0; i < rows.rows(); ++i) due.push_back(postgres_reads::record_from(rows, i));
  // RETURNING comes in no particular order.
  std::stable_sort(due.begin(), due.end(),
                   [](const auto& a, const auto& b) { return a.due_at < b.due_at; });
  return due;
}

// The claim rule for one record (shared_sql.hpp).
std::optional<pending_record> claim_one(postgres_connection& db, const std::string& organization_id,
                                        const std::string& record_id, const std::string& holder,
                                        epoch_ms now) {
  static const auto sql = postgres_sql(shared_sql::claim_one_record) + record_columns;
  const auto rows = db.exec(sql,
                            params()
                                .add(organization_id)
                                .add(record_id)
                                .add(holder)
                                .add(now + instance_stale_after_ms)
                                .add(now)
                                .add(live_since(now)),
                            "claim record");
  if (rows.rows() == 0) return std::nullopt;
  return postgres_reads::record_from(rows, 0);
}

// Only the holder's (shared_sql.hpp).
void release_claim(postgres_connection& db, const std::string& organization_id,
                   const std::string& record_id, const std::string& holder) {
  static const auto sql = postgres_sql(shared_sql::release_claim);
  db.exec(sql, params().add(organization_id).add(record_id).add(holder), "release record claim");
}

std::vector<instance_record> live_instances(postgres_connection& db, epoch_ms now) {
  const auto rows = db.exec(R"sql(
SELECT id, host, pid, role, version, started_at, last_seen FROM instances
WHERE last_seen >= $1 ORDER BY started_at, id)sql",
                            params().add(live_since(now)), "list live instances");
  std::vector<instance_record> found;
  for (int i = 0; i < rows.rows(); ++i) {
    found.push_back({rows.text(i, 0), rows.text(i, 1), rows.int64(i, 2), rows.text(i, 3),
                     rows.text(i, 4), rows.int64(i, 5), rows.int64(i, 6)});
  }
  return found;
}

std::string lease_holder(postgres_connection& db, const std::string& name) {
  const auto rows =
      db.exec("SELECT holder FROM leases WHERE name = $1", params().add(name), "select lease");
  return rows.rows() == 0 ? std::string() : rows.text(0, 0);
}

}  // namespace connector::store::postgres_cluster
