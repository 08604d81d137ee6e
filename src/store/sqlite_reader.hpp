#pragma once
// The SQLite store_reader: one read-only connection, opened once, beside the writer (WAL lets
// it read while the service writes). The engine reads through one too, with the queue's and
// links' reads the worker and the reconciliation need.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connector/store/interfaces.hpp"
#include "sqlite_cluster.hpp"
#include "sqlite_department_links.hpp"
#include "sqlite_group_queue.hpp"
#include "sqlite_statements.hpp"

namespace connector::store {

class sqlite_reader final : public store_reader {
 public:
  // Opens `path` read-only. A file older than this binary reads as empty where it lacks a
  // table. Throws std::runtime_error naming the file when it is missing or unreadable.
  sqlite_reader(const std::string& path, int busy_timeout_ms);
  ~sqlite_reader() override;
  sqlite_reader(const sqlite_reader&) = delete;
  sqlite_reader& operator=(const sqlite_reader&) = delete;

  inbox_stats stats() override;
  std::vector<pending_record> list_records(record_state state, std::size_t limit) override;
  std::optional<pending_record> find_record(const std::string& organization_id,
                                            const std::string& record_id) override;
  bool has_notification(const std::string& organization_id,
                        const std::string& notification_id) override;
  std::optional<run_record> find_run(std::int64_t id, bool with_plan) override;
  std::vector<run_record> list_runs(std::size_t limit, bool include_dry_runs) override;
  std::optional<run_record> last_sync() override;
  std::vector<history_event> read_history(const std::string& organization_id,
                                          const std::string& record_id, std::size_t limit) override;
  std::vector<user_match> search_users(const user_query& query) override;
  std::optional<std::string> find_link(const std::string& organization_id,
                                       const std::string& record_id) override;
  std::optional<std::pair<std::string, std::string>> find_linked_record(
      const std::string& ispring_user_id) override;
  std::optional<department_link> find_department_link(const std::string& organization_id,
                                                      const std::string& key) override;
  std::vector<std::int64_t> notifications_per_bucket(epoch_ms since, epoch_ms bucket_ms,
                                                     std::size_t buckets) override;
  std::vector<std::int64_t> applied_per_bucket(epoch_ms since, epoch_ms bucket_ms,
                                               std::size_t buckets) override;
  std::vector<instance_record> live_instances(epoch_ms now) override;
  group_queue_stats group_stats() override;

  // The engine's other reads (work_queue, user_links, department_links, run_log).
  std::vector<pending_record> take_due(epoch_ms now, std::size_t limit);
  std::vector<std::string> due_rereads(const std::string& organization_id, epoch_ms now,
                                       std::size_t limit, bool every_due);
  std::vector<pending_record> records_in_flight(const std::string& organization_id);
  std::vector<epoch_ms> retirements_since(const std::string& organization_id, epoch_ms since);
  std::vector<std::pair<std::string, std::string>> list_links(const std::string& organization_id);
  void each_link(const std::string& organization_id, const user_links::link_visitor& visit);
  std::size_t count_links(const std::string& organization_id);
  std::vector<department_link> list_department_links(const std::string& organization_id);
  std::optional<run_record> running_run(epoch_ms now, const std::string& self);
  std::string lease_holder(const std::string& name);

 private:
  // Runs `query` under the connection's lock; SQLite's errors name the file.
  template <class Query>
  auto locked(Query query) -> decltype(query());

  read_statements& reads();  // under mutex_

  std::mutex mutex_;
  sqlite_connection db_;
  std::unique_ptr<read_statements> read_;
  // Null while the file predates their tables (runs: version 2, history: 4, departments: 7,
  // instances: 10, the group queue: 10).
  std::unique_ptr<run_read_statements> runs_;
  std::unique_ptr<history_read_statements> history_;
  std::unique_ptr<department_link_reads> departments_;
  std::unique_ptr<cluster_reads> cluster_;     // null before version 10
  std::unique_ptr<group_queue_reads> groups_;  // null before version 10
};

}  // namespace connector::store
