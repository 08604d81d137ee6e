#pragma once
// The SQLite engine's statements, prepared once per connection and reused, and the helpers
// that read their rows: the writer's (write_statements) and the readers' (read_statements,
// and those of tables an older file may lack: runs, history, look-ups).
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connector/store/runs.hpp"
#include "connector/store/sqlite.hpp"
#include "connector/store/types.hpp"
#include "row_values.hpp"
#include "run_owner.hpp"

namespace connector::store {

using run = sqlite_statement::run;

// A record from record_columns (row_values.hpp).
pending_record read_record(const run& row);

struct stored_run {
  run_record record;
  process_identity owner;
};
stored_run read_run(const run& row);

inbox_stats query_stats(sqlite_statement& statement);
extern const char* const stats_sql;

// The events of one user_history_new row (see the schema) as history events; `record_id`
// empty: every user's.
std::vector<history_event> staged_events(std::int64_t first_id, const std::string& organization_id,
                                         epoch_ms time, const std::string& details,
                                         const std::string& record_id = {});

// Statements of the writing connection, prepared once and reused by every batch.
struct write_statements {
  write_statements(const sqlite_connection& db, const std::string& login_field,
                   const std::string& email_field);

  sqlite_statement begin, commit, rollback;
  sqlite_statement insert_notification, select_record_row, insert_record, update_record;
  sqlite_statement add_counter, raise_last_received;
  sqlite_statement finish_record, fail_record;
  sqlite_statement requeue_all_dead, requeue_one_dead, upsert_link, delete_link;
  sqlite_statement insert_run, start_run, update_run_counts, finish_run, insert_run_plan;
  sqlite_statement prune_runs, prune_run_plans, select_unfinished_runs, fail_run;
  sqlite_statement insert_history, prune_old_history, prune_user_history;
  sqlite_statement prune_notifications, prune_settled_records, prune_orphan_keys;
  sqlite_statement insert_new_history, select_new_history, delete_new_history;
  sqlite_statement max_history_id, upsert_keys;
  sqlite_statement hold_record, release_all_held, release_one_held;
  sqlite_statement insert_retirement, prune_retirements;
};

// Reads of the per-user history and the look-ups, apart from read_statements: a file that
// predates them (schema version 4) has no user_history table to prepare them against.
struct history_read_statements {
  explicit history_read_statements(const sqlite_connection& db);

  // Both tables, newest first (ids break ties: one sequence for both).
  std::vector<history_event> history(const std::string& organization_id,
                                     const std::string& record_id, std::size_t limit);

  std::vector<user_match> users(const user_query& query);

  std::optional<std::pair<std::string, std::string>> linked_record(
      const std::string& ispring_user_id);

  sqlite_statement read_history, read_new_history, search_users, find_linked_record;
};

// Statements of the read-only connection.
struct read_statements {
  explicit read_statements(const sqlite_connection& db);

  sqlite_statement take_due, find_record, has_notification, stats, list_records, find_link;
  sqlite_statement list_links, records_in_flight, due_rereads, due_records, retirements_since;
  sqlite_statement count_links;
};

// Reads of the run history, apart from read_statements: a file that predates it (schema
// version 2) has no runs table to prepare them against.
struct run_read_statements {
  explicit run_read_statements(const sqlite_connection& db);

  std::optional<run_record> find(std::int64_t id, bool with_plan);

  std::vector<run_record> list(std::size_t limit, bool include_dry_runs);

  std::optional<run_record> last();

  // The first unfinished run whose owner is live (owner_is_live).
  std::optional<run_record> first_of_live_owner(const std::string& self,
                                                const std::vector<instance_record>& live);

  sqlite_statement find_run, find_plan, list_runs, last_sync, unfinished_runs;
};

}  // namespace connector::store
