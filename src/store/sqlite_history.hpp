#pragma once
// The per-user history in SQLite, on the writer's connection and thread: events the store
// records itself, intake's events staged into user_history_new (one row per group commit,
// unindexed, so intake pays one insert per batch), moved into the indexed user_history off the
// hot path, and pruned by age and by the per-user cap.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "connector/clock.hpp"
#include "sqlite_statements.hpp"

namespace connector::store {

// Appends `text` as a JSON string. The writer builds intake's history details by hand: a
// JSON library's document per notification would cost the single writer more than the insert.
void append_json_string(std::string& out, std::string_view text);

class sqlite_history {
 public:
  // `retention_ms` and `max_events_per_user` (0: no cap) as in store_settings.
  sqlite_history(const sqlite_connection& db, write_statements& write, std::int64_t retention_ms,
                 std::size_t max_events_per_user);

  // Reads the id sequence from the file, inside a write transaction (under its lock). Another
  // process writes history to the same file too (the CLI's retry and release beside the
  // service): an id counted on from memory collided with theirs and failed the whole batch.
  void resume_sequence();

  // One event into user_history, inside the writer's transaction.
  void insert(const std::string& organization_id, const std::string& record_id, epoch_ms time,
              std::string_view kind, std::string_view details);

  // Adds one intake event to the batch's row of this organization's events; `details` is a
  // JSON object.
  void stage(const std::string& organization_id, epoch_ms time, const std::string& record_id,
             const char* kind, std::string_view details);
  // Writes the staged row (before the batch commits); drop_staged forgets it (a new batch).
  void flush_staged();
  void drop_staged();

  // Moves intake's staged rows into user_history, whole rows, until about `max_events`
  // events moved; returns how many events.
  std::size_t move_staged(std::size_t max_events);
  // Removes at most `max_rows` events older than the retention, then beyond the per-user
  // cap of the users whose history grew. Returns how many.
  std::size_t prune(epoch_ms now, std::size_t max_rows);
  // Users whose history grew since pruning last looked at them (only with a cap).
  bool users_to_look_at() const { return !touched_.empty(); }

 private:
  const sqlite_connection& db_;
  write_statements& write_;
  const std::int64_t retention_ms_;
  const std::int64_t cap_;

  std::set<std::pair<std::string, std::string>> touched_;
  std::string staged_;  // the batch's intake events (stage), as a JSON array
  std::int64_t staged_count_ = 0;
  std::string staged_organization_;
  epoch_ms staged_time_ = 0;
  std::int64_t next_id_ = 1;  // one sequence for user_history and user_history_new
};

}  // namespace connector::store
