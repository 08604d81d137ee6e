#pragma once
// The group queue in SQLite (group_queue.hpp): its statements, apart from the inbox's, prepared
// on the engine's connections (schema version 10 or later). The engine runs the writes on its
// writer thread, inside its transactions, so a claim (read, then upsert) is atomic also
// against another process on the same file (BEGIN IMMEDIATE).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connector/store/group_queue.hpp"
#include "connector/store/sqlite.hpp"

namespace connector::store {

// On the writer's connection, inside its transaction.
struct group_queue_writes {
  explicit group_queue_writes(const sqlite_connection& db);
  void queue(const std::vector<group_addition>& additions);
  std::optional<group_claim> claim_next(const std::string& owner, epoch_ms now,
                                        epoch_ms lease_until, std::size_t limit);
  bool claim(const std::string& group_id, const std::string& owner, epoch_ms now,
             epoch_ms lease_until);
  void finish(const std::string& group_id, const std::string& owner, std::int64_t up_to,
              epoch_ms due_again_at);
  void release(const std::string& group_id, const std::string& owner, epoch_ms retry_at,
               const std::string& error);

  const sqlite_connection& db;
  sqlite_statement insert, next_group, upsert_claim, read_claim, additions_of, remove_up_to, let_go,
      back_off;
};

// On a reading connection; the caller serialises.
struct group_queue_reads {
  explicit group_queue_reads(const sqlite_connection& db);
  group_queue_stats stats();

  sqlite_statement totals, retrying;
};

}  // namespace connector::store
