#pragma once
// The group queue on PostgreSQL (group_queue.hpp), as functions of a connection: the engine
// runs the writes in its writer's transaction. Several instances' writers share the queue:
// a claim locks the group's claims row, skipping one another instance is claiming right now
// (FOR UPDATE SKIP LOCKED), so a group has one claimant however many drainers ask at once.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connector/store/group_queue.hpp"
#include "connector/store/postgres.hpp"

namespace connector::store::postgres_group_queue {

void queue(postgres_connection& db, const std::vector<group_addition>& additions);
std::optional<group_claim> claim_next(postgres_connection& db, const std::string& owner,
                                      epoch_ms now, epoch_ms lease_until, std::size_t limit);
bool claim(postgres_connection& db, const std::string& group_id, const std::string& owner,
           epoch_ms now, epoch_ms lease_until);
void finish(postgres_connection& db, const std::string& group_id, const std::string& owner,
            std::int64_t up_to, epoch_ms due_again_at);
void release(postgres_connection& db, const std::string& group_id, const std::string& owner,
             epoch_ms retry_at, const std::string& error);
group_queue_stats stats(postgres_connection& db);

}  // namespace connector::store::postgres_group_queue
