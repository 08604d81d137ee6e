#pragma once
// The PostgreSQL engine's reads, as functions of a connection: the engine runs them on its
// read connection, the read-only reader (the CLI beside running services) on its own.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../row_values.hpp"
#include "../run_owner.hpp"
#include "connector/store/interfaces.hpp"
#include "connector/store/newest_wins.hpp"
#include "connector/store/postgres.hpp"
#include "connector/store/runs.hpp"
#include "connector/store/types.hpp"

namespace connector::store::postgres_reads {

// A record from record_columns (row_values.hpp, shared with SQLite).
using connector::store::record_columns;
pending_record record_from(const postgres_result& rows, int row);

struct stored_run {
  run_record record;
  process_identity owner;
};
extern const char* const run_columns;
stored_run run_from(const postgres_result& rows, int row);

std::vector<pending_record> take_due(postgres_connection& db, epoch_ms now, std::size_t limit);
std::vector<std::string> due_rereads(postgres_connection& db, const std::string& organization_id,
                                     epoch_ms now, std::size_t limit, bool every_due);
std::vector<pending_record> list_records(postgres_connection& db, record_state state,
                                         std::size_t limit);
std::optional<pending_record> find_record(postgres_connection& db,
                                          const std::string& organization_id,
                                          const std::string& record_id);
std::vector<pending_record> records_in_flight(postgres_connection& db,
                                              const std::string& organization_id);
bool has_notification(postgres_connection& db, const std::string& organization_id,
                      const std::string& notification_id);
inbox_stats stats(postgres_connection& db);
std::vector<epoch_ms> retirements_since(postgres_connection& db, const std::string& organization_id,
                                        epoch_ms since);

std::optional<std::string> find_link(postgres_connection& db, const std::string& organization_id,
                                     const std::string& record_id);
std::vector<std::pair<std::string, std::string>> list_links(postgres_connection& db,
                                                            const std::string& organization_id);
void each_link(postgres_connection& db, const std::string& organization_id,
               const user_links::link_visitor& visit);
std::size_t count_links(postgres_connection& db, const std::string& organization_id);
std::optional<std::pair<std::string, std::string>> find_linked_record(
    postgres_connection& db, const std::string& ispring_user_id);
std::vector<department_link> list_department_links(postgres_connection& db,
                                                   const std::string& organization_id);
std::optional<department_link> find_department_link(postgres_connection& db,
                                                    const std::string& organization_id,
                                                    const std::string& key);

std::optional<run_record> find_run(postgres_connection& db, std::int64_t id, bool with_plan);
std::vector<run_record> list_runs(postgres_connection& db, std::size_t limit,
                                  bool include_dry_runs);
std::optional<run_record> last_sync(postgres_connection& db);
// Queued or running runs, running first, then oldest.
std::vector<stored_run> unfinished_runs(postgres_connection& db);

std::vector<history_event> read_history(postgres_connection& db, const std::string& organization_id,
                                        const std::string& record_id, std::size_t limit);
std::vector<user_match> search_users(postgres_connection& db, const user_query& query);
std::vector<std::int64_t> notifications_per_bucket(postgres_connection& db, epoch_ms since,
                                                   epoch_ms bucket_ms, std::size_t buckets);
std::vector<std::int64_t> applied_per_bucket(postgres_connection& db, epoch_ms since,
                                             epoch_ms bucket_ms, std::size_t buckets);

// The columns newest_wins rules over (record_row_columns, row_values.hpp), from `first` on.
record_row record_row_from(const postgres_result& rows, int row, int first);

}  // namespace connector::store::postgres_reads
