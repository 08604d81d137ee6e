#pragma once
// Instances, leases and schedule slots in SQLite (cluster.hpp): their statements, apart from
// the inbox's, prepared on a connection that sees schema version 10 or later. One SQLite file
// has one writer at a time, so the rules hold the same as on a shared PostgreSQL.
#include <optional>
#include <string>
#include <vector>

#include "connector/clock.hpp"
#include "connector/store/cluster.hpp"
#include "connector/store/sqlite.hpp"
#include "connector/store/types.hpp"

namespace connector::store {

// On the writer's connection, inside its transaction.
struct cluster_writes {
  explicit cluster_writes(const sqlite_connection& db);
  void heartbeat(const instance_record& self);
  void retire(const std::string& id);
  bool take_lease(const std::string& name, const std::string& holder, epoch_ms now);
  void release_lease(const std::string& name, const std::string& holder);
  bool claim_slot(const std::string& name, epoch_ms due, const std::string& holder, epoch_ms now);
  // take_due: the due records nobody holds (`holder` neither), claimed for `holder`, oldest
  // due first.
  std::vector<pending_record> claim_due(const std::string& holder, epoch_ms now, std::size_t limit);
  // take_claimed: one record, due, ours, free or a dead holder's, claimed for `holder`.
  std::optional<pending_record> claim_one(const std::string& organization_id,
                                          const std::string& record_id, const std::string& holder,
                                          epoch_ms now);
  // mark_done, mark_failed, mark_held: the record is nobody's any more (if `holder`'s).
  void release_claim(const std::string& organization_id, const std::string& record_id,
                     const std::string& holder);

  sqlite_statement upsert_instance, delete_instance, release_all, release_records, upsert_lease,
      delete_lease, upsert_slot, claim_due_records, claim_one_record, clear_claim;
};

// On any connection; the caller serialises.
struct cluster_reads {
  explicit cluster_reads(const sqlite_connection& db);
  std::vector<instance_record> live(epoch_ms now);
  std::string lease_holder(const std::string& name);

  sqlite_statement live_instances, find_lease;
};

}  // namespace connector::store
