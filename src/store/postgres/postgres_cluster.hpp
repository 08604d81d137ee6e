#pragma once
// Instances, leases and schedule slots on PostgreSQL (cluster.hpp), as functions of a
// connection. Writes run in the engine's writer transaction; two instances' writers taking
// the same lease or slot meet on its row lock (INSERT … ON CONFLICT), so one of them wins.
#include <optional>
#include <string>
#include <vector>

#include "connector/clock.hpp"
#include "connector/store/cluster.hpp"
#include "connector/store/postgres.hpp"
#include "connector/store/types.hpp"

namespace connector::store::postgres_cluster {

void heartbeat(postgres_connection& db, const instance_record& self);
void retire(postgres_connection& db, const std::string& id);
bool take_lease(postgres_connection& db, const std::string& name, const std::string& holder,
                epoch_ms now);
void release_lease(postgres_connection& db, const std::string& name, const std::string& holder);
bool claim_slot(postgres_connection& db, const std::string& name, epoch_ms due,
                const std::string& holder, epoch_ms now);

// take_due: the due records nobody else holds, claimed for `holder`, oldest due first. Rows
// another instance's transaction is claiming are skipped (FOR UPDATE SKIP LOCKED), not
// waited for.
std::vector<pending_record> claim_due(postgres_connection& db, const std::string& holder,
                                      epoch_ms now, std::size_t limit);
// take_claimed: one record, due, ours, free or a dead holder's, claimed for `holder`.
std::optional<pending_record> claim_one(postgres_connection& db, const std::string& organization_id,
                                        const std::string& record_id, const std::string& holder,
                                        epoch_ms now);
// mark_done, mark_failed, mark_held: the record is nobody's any more (if `holder`'s).
void release_claim(postgres_connection& db, const std::string& organization_id,
                   const std::string& record_id, const std::string& holder);

std::vector<instance_record> live_instances(postgres_connection& db, epoch_ms now);
std::string lease_holder(postgres_connection& db, const std::string& name);

}  // namespace connector::store::postgres_cluster
