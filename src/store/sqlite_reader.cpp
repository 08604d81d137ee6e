#include "sqlite_reader.hpp"

#include <filesystem>
#include <stdexcept>

#include "sqlite_schema.hpp"

namespace connector::store {

namespace {

// Checked first: SQLite's "unable to open database file" does not say the file is missing.
const std::string& existing(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw std::runtime_error("store: no database at " + path +
                             " (wrong store.sqlite_path, or the service never ran)");
  }
  return path;
}

bool has_table(sqlite_connection& db, const char* name) {
  return db.query_int(std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                                  "name = '") +
                          name + "'",
                      "look for a table") != 0;
}

// Per time bucket: `fill` takes (bucket index, count) rows into `buckets` zeros.
std::vector<std::int64_t> bucket_counts(run& rows, std::size_t buckets) {
  std::vector<std::int64_t> counts(buckets, 0);
  while (rows.step()) {
    const auto bucket = rows.int64(0);
    if (bucket >= 0 && static_cast<std::size_t>(bucket) < buckets) counts[bucket] = rows.int64(1);
  }
  return counts;
}

}  // namespace

sqlite_reader::sqlite_reader(const std::string& path, int busy_timeout_ms)
    : db_(existing(path), SQLITE_OPEN_READONLY) {
  try {
    sqlite3_busy_timeout(db_.handle(), busy_timeout_ms);
    check_readable(db_);
    // A service older than these tables may still be the one writing the file: then there
    // is nothing of them to show, which is no error.
    if (has_table(db_, "runs")) runs_ = std::make_unique<run_read_statements>(db_);
    if (has_table(db_, "user_history")) history_ = std::make_unique<history_read_statements>(db_);
    if (has_table(db_, "department_links"))
      departments_ = std::make_unique<department_link_reads>(db_);
    if (has_table(db_, "instances")) cluster_ = std::make_unique<cluster_reads>(db_);
    if (has_table(db_, "group_additions")) groups_ = std::make_unique<group_queue_reads>(db_);
  } catch (const sqlite_error& e) {
    throw std::runtime_error("store: cannot read " + path + ": " + e.what());
  }
}

// The statements go before their connection.
sqlite_reader::~sqlite_reader() {
  groups_.reset();
  cluster_.reset();
  departments_.reset();
  history_.reset();
  runs_.reset();
  read_.reset();
}

// Prepared at first use: a file older than this binary may lack their columns, and its runs
// are still readable.
read_statements& sqlite_reader::reads() {
  if (!read_) read_ = std::make_unique<read_statements>(db_);
  return *read_;
}

template <class Query>
auto sqlite_reader::locked(Query query) -> decltype(query()) {
  std::lock_guard lock(mutex_);
  try {
    return query();
  } catch (const sqlite_error& e) {
    throw std::runtime_error("store: cannot read " + db_.path() + ": " + e.what());
  }
}

inbox_stats sqlite_reader::stats() {
  return locked([&] { return query_stats(reads().stats); });
}

std::vector<pending_record> sqlite_reader::list_records(record_state state, std::size_t limit) {
  return locked([&] {
    std::vector<pending_record> records;
    run rows(reads().list_records);
    rows.bind(1, std::string_view(to_string(state))).bind(2, as_limit(limit));
    while (rows.step()) records.push_back(read_record(rows));
    return records;
  });
}

std::optional<pending_record> sqlite_reader::find_record(const std::string& organization_id,
                                                         const std::string& record_id) {
  return locked([&]() -> std::optional<pending_record> {
    run row(reads().find_record);
    row.bind(1, organization_id).bind(2, record_id);
    if (!row.step()) return std::nullopt;
    return read_record(row);
  });
}

bool sqlite_reader::has_notification(const std::string& organization_id,
                                     const std::string& notification_id) {
  return locked([&] {
    run row(reads().has_notification);
    row.bind(1, organization_id).bind(2, notification_id);
    return row.step();
  });
}

std::optional<run_record> sqlite_reader::find_run(std::int64_t id, bool with_plan) {
  return locked([&]() -> std::optional<run_record> {
    if (!runs_) return std::nullopt;
    return runs_->find(id, with_plan);
  });
}

std::vector<run_record> sqlite_reader::list_runs(std::size_t limit, bool include_dry_runs) {
  return locked([&]() -> std::vector<run_record> {
    if (!runs_) return {};
    return runs_->list(limit, include_dry_runs);
  });
}

std::optional<run_record> sqlite_reader::last_sync() {
  return locked([&]() -> std::optional<run_record> {
    if (!runs_) return std::nullopt;
    return runs_->last();
  });
}

std::optional<run_record> sqlite_reader::running_run(epoch_ms now, const std::string& self) {
  return locked([&]() -> std::optional<run_record> {
    if (!runs_) return std::nullopt;
    return runs_->first_of_live_owner(
        self, cluster_ ? cluster_->live(now) : std::vector<instance_record>{});
  });
}

std::vector<instance_record> sqlite_reader::live_instances(epoch_ms now) {
  return locked([&]() -> std::vector<instance_record> {
    if (!cluster_) return {};
    return cluster_->live(now);
  });
}

group_queue_stats sqlite_reader::group_stats() {
  return locked(
      [&]() -> group_queue_stats { return groups_ ? groups_->stats() : group_queue_stats{}; });
}

std::string sqlite_reader::lease_holder(const std::string& name) {
  return locked([&]() -> std::string {
    if (!cluster_) return {};
    return cluster_->lease_holder(name);
  });
}

std::vector<history_event> sqlite_reader::read_history(const std::string& organization_id,
                                                       const std::string& record_id,
                                                       std::size_t limit) {
  return locked([&]() -> std::vector<history_event> {
    if (!history_) return {};
    return history_->history(organization_id, record_id, limit);
  });
}

std::vector<user_match> sqlite_reader::search_users(const user_query& query) {
  return locked([&]() -> std::vector<user_match> {
    if (!history_) return {};
    return history_->users(query);
  });
}

std::optional<std::string> sqlite_reader::find_link(const std::string& organization_id,
                                                    const std::string& record_id) {
  return locked([&]() -> std::optional<std::string> {
    run row(reads().find_link);
    row.bind(1, organization_id).bind(2, record_id);
    if (!row.step()) return std::nullopt;
    return row.text(0);
  });
}

std::optional<std::pair<std::string, std::string>> sqlite_reader::find_linked_record(
    const std::string& ispring_user_id) {
  return locked([&]() -> std::optional<std::pair<std::string, std::string>> {
    if (!history_) return std::nullopt;
    return history_->linked_record(ispring_user_id);
  });
}

std::optional<department_link> sqlite_reader::find_department_link(
    const std::string& organization_id, const std::string& key) {
  return locked([&]() -> std::optional<department_link> {
    if (!departments_) return std::nullopt;
    return departments_->find(organization_id, key);
  });
}

std::vector<department_link> sqlite_reader::list_department_links(
    const std::string& organization_id) {
  return locked([&]() -> std::vector<department_link> {
    if (!departments_) return {};
    return departments_->list(organization_id);
  });
}

std::vector<pending_record> sqlite_reader::take_due(epoch_ms now, std::size_t limit) {
  return locked([&] {
    std::vector<pending_record> due;
    run rows(reads().take_due);
    rows.bind(1, now).bind(2, as_limit(limit));
    while (rows.step()) due.push_back(read_record(rows));
    return due;
  });
}

std::vector<std::string> sqlite_reader::due_rereads(const std::string& organization_id,
                                                    epoch_ms now, std::size_t limit,
                                                    bool every_due) {
  return locked([&] {
    std::vector<std::string> ids;
    run rows(every_due ? reads().due_records : reads().due_rereads);
    rows.bind(1, organization_id).bind(2, now).bind(3, as_limit(limit));
    while (rows.step()) ids.push_back(rows.text(0));
    return ids;
  });
}

std::vector<pending_record> sqlite_reader::records_in_flight(const std::string& organization_id) {
  return locked([&] {
    std::vector<pending_record> records;
    run rows(reads().records_in_flight);
    rows.bind(1, organization_id);
    while (rows.step()) records.push_back(read_record(rows));
    return records;
  });
}

std::vector<epoch_ms> sqlite_reader::retirements_since(const std::string& organization_id,
                                                       epoch_ms since) {
  return locked([&] {
    std::vector<epoch_ms> times;
    run rows(reads().retirements_since);
    rows.bind(1, organization_id).bind(2, since);
    while (rows.step()) times.push_back(rows.int64(0));
    return times;
  });
}

std::vector<std::pair<std::string, std::string>> sqlite_reader::list_links(
    const std::string& organization_id) {
  std::vector<std::pair<std::string, std::string>> links;
  links.reserve(count_links(organization_id));  // a vector that doubles writes it all again
  each_link(organization_id, [&](std::string_view record_id, std::string_view user_id) {
    links.emplace_back(record_id, user_id);
  });
  return links;
}

void sqlite_reader::each_link(const std::string& organization_id,
                              const user_links::link_visitor& visit) {
  locked([&] {
    run rows(reads().list_links);
    rows.bind(1, organization_id);
    while (rows.step()) visit(rows.text_view(0), rows.text_view(1));
  });
}

std::size_t sqlite_reader::count_links(const std::string& organization_id) {
  return locked([&]() -> std::size_t {
    run row(reads().count_links);
    row.bind(1, organization_id);
    return row.step() ? static_cast<std::size_t>(row.int64(0)) : 0;
  });
}

std::vector<std::int64_t> sqlite_reader::notifications_per_bucket(epoch_ms since,
                                                                  epoch_ms bucket_ms,
                                                                  std::size_t buckets) {
  if (bucket_ms <= 0 || buckets == 0) return std::vector<std::int64_t>(buckets, 0);
  const epoch_ms until = since + bucket_ms * static_cast<epoch_ms>(buckets);
  return locked([&] {
    // notifications_by_time serves the window (the ids are kept for the dedupe window only,
    // so the chart reaches back no further than store.notification_retention_hours).
    sqlite_statement statement(db_, R"sql(
SELECT (received_at - ?1) / ?2, COUNT(*) FROM notifications
WHERE received_at >= ?1 AND received_at < ?3 GROUP BY 1)sql",
                               "count notifications per bucket");
    run rows(statement);
    rows.bind(1, since).bind(2, bucket_ms).bind(3, until);
    return bucket_counts(rows, buckets);
  });
}

std::vector<std::int64_t> sqlite_reader::applied_per_bucket(epoch_ms since, epoch_ms bucket_ms,
                                                            std::size_t buckets) {
  if (bucket_ms <= 0 || buckets == 0 || !history_) return std::vector<std::int64_t>(buckets, 0);
  const epoch_ms until = since + bucket_ms * static_cast<epoch_ms>(buckets);
  return locked([&] {
    // user_history's ids follow time (one sequence, stamped as written) and it has no index
    // on time: the first event of the window is found by bisecting the ids, a couple of
    // dozen look-ups, and only the window is read (not 30 days of every user's events).
    sqlite_statement bounds(db_, "SELECT min(id), max(id) FROM user_history", "history bounds");
    sqlite_statement time_at(db_,
                             "SELECT time FROM user_history WHERE id >= ?1 ORDER BY id LIMIT 1",
                             "history time at id");
    std::int64_t low = 0, high = -1;
    {
      run row(bounds);
      if (row.step() && row.optional_int64(0)) {
        low = row.int64(0);
        high = row.int64(1) + 1;  // [low, high): the first id at or after `since`
      }
    }
    while (low < high) {
      const std::int64_t middle = low + (high - low) / 2;
      run row(time_at);
      row.bind(1, middle);
      if (row.step() && row.int64(0) < since) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    // A user applied: by the worker (kind 'applied', nothing to change included) or by a
    // reconciliation run, when its change went through.
    sqlite_statement statement(db_, R"sql(
SELECT (time - ?1) / ?2, COUNT(*) FROM user_history
WHERE id >= ?4 AND time >= ?1 AND time < ?3
  AND (kind = 'applied' OR (kind = 'reconciled' AND json_extract(details, '$.ok') = 1))
GROUP BY 1)sql",
                               "count applied users per bucket");
    run rows(statement);
    rows.bind(1, since).bind(2, bucket_ms).bind(3, until).bind(4, low);
    return bucket_counts(rows, buckets);
  });
}

}  // namespace connector::store
