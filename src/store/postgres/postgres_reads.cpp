#include "postgres_reads.hpp"

#include "connector/text/ascii.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

#include <nlohmann/json.hpp>

namespace connector::store::postgres_reads {

using params = postgres_params;

pending_record record_from(const postgres_result& rows, int row) {
  pending_record r;
  r.organization_id = rows.text(row, 0);
  r.record_id = rows.text(row, 1);
  r.object_type = rows.text(row, 2);
  r.fields_json = rows.text(row, 3);
  r.modstamp = rows.optional_int64(row, 4);
  r.version = rows.int64(row, 5);
  r.attempts = static_cast<int>(rows.int64(row, 6));
  r.last_error = rows.text(row, 7);
  r.due_at = rows.int64(row, 8);
  r.state = parse_state(rows.text(row, 9));
  r.last_outcome = rows.text(row, 10);
  r.needs_reread = rows.boolean(row, 11);
  r.released = rows.boolean(row, 12);
  return r;
}

record_row record_row_from(const postgres_result& rows, int row, int first) {
  record_row r;
  r.object_type = rows.text(row, first + 0);
  r.fields_json = rows.text(row, first + 1);
  r.modstamp = rows.optional_int64(row, first + 2);
  r.version = rows.int64(row, first + 3);
  r.state = parse_state(rows.text(row, first + 4));
  r.attempts = static_cast<int>(rows.int64(row, first + 5));
  r.last_error = rows.text(row, first + 6);
  r.due_at = rows.int64(row, first + 7);
  r.waiting_since = rows.optional_int64(row, first + 8);
  r.needs_reread = rows.boolean(row, first + 9);
  return r;
}

namespace {

std::vector<pending_record> records_of(postgres_connection& db, const std::string& sql,
                                       const params& p, std::string_view operation) {
  const auto rows = db.exec(sql, p, operation);
  std::vector<pending_record> records;
  records.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) records.push_back(record_from(rows, i));
  return records;
}

std::string select_records(const char* rest) {
  return std::string("SELECT ") + record_columns + " FROM records " + rest;
}

std::vector<std::string> texts_of(const postgres_result& rows) {
  std::vector<std::string> out;
  for (int i = 0; i < rows.rows(); ++i) out.push_back(rows.text(i, 0));
  return out;
}

// Every text that starts with `text` sorts at or below text + U+10FFFF, the largest code
// point (bytewise, COLLATE "C"); compared with <=, `text` alone is its own upper bound.
std::string upper_bound_of(const std::string& text, bool prefix) {
  return prefix ? text + "\xf4\x8f\xbf\xbf" : text;
}

// (bucket, count) rows into `buckets` zeros.
std::vector<std::int64_t> buckets_of(const postgres_result& rows, std::size_t buckets) {
  std::vector<std::int64_t> counts(buckets, 0);
  for (int i = 0; i < rows.rows(); ++i) {
    const auto bucket = rows.int64(i, 0);
    if (bucket >= 0 && static_cast<std::size_t>(bucket) < buckets)
      counts[bucket] = rows.int64(i, 1);
  }
  return counts;
}

}  // namespace

std::vector<pending_record> take_due(postgres_connection& db, epoch_ms now, std::size_t limit) {
  return records_of(db,
                    select_records("WHERE state IN ('pending', 'retrying') AND due_at <= $1 "
                                   "ORDER BY due_at LIMIT $2"),
                    params().add(now).add(as_limit(limit)), "select due records");
}

std::vector<std::string> due_rereads(postgres_connection& db, const std::string& organization_id,
                                     epoch_ms now, std::size_t limit, bool every_due) {
  return texts_of(
      db.exec(R"sql(
SELECT record_id FROM records
WHERE state IN ('pending', 'retrying') AND due_at <= $2 AND organization_id = $1
  AND (needs_reread OR $4)
ORDER BY due_at LIMIT $3)sql",
              params().add(organization_id).add(now).add(as_limit(limit)).add(every_due),
              "select due records to re-read"));
}

std::vector<pending_record> list_records(postgres_connection& db, record_state state,
                                         std::size_t limit) {
  return records_of(db, select_records("WHERE state = $1 ORDER BY due_at DESC LIMIT $2"),
                    params().add(to_string(state)).add(as_limit(limit)), "list records");
}

std::optional<pending_record> find_record(postgres_connection& db,
                                          const std::string& organization_id,
                                          const std::string& record_id) {
  auto found = records_of(db, select_records("WHERE organization_id = $1 AND record_id = $2"),
                          params().add(organization_id).add(record_id), "select record");
  if (found.empty()) return std::nullopt;
  return std::move(found.front());
}

std::vector<pending_record> records_in_flight(postgres_connection& db,
                                              const std::string& organization_id) {
  return records_of(db,
                    select_records("WHERE state IN ('pending', 'retrying', 'held') "
                                   "AND organization_id = $1"),
                    params().add(organization_id), "select records in flight");
}

bool has_notification(postgres_connection& db, const std::string& organization_id,
                      const std::string& notification_id) {
  return db.exec("SELECT 1 FROM notifications WHERE organization_id = $1 AND notification_id = $2",
                 params().add(organization_id).add(notification_id), "select notification")
             .rows() > 0;
}

// One statement, so the counts come from one snapshot.
inbox_stats stats(postgres_connection& db) {
  const auto row = db.exec(R"sql(
SELECT
  (SELECT value FROM counters WHERE name = 'notifications_received'),
  (SELECT value FROM counters WHERE name = 'duplicates_ignored'),
  (SELECT value FROM counters WHERE name = 'last_received_at'),
  (SELECT count(*) FROM records WHERE state IN ('pending', 'retrying') AND state = 'pending'),
  (SELECT count(*) FROM records WHERE state IN ('pending', 'retrying') AND state = 'retrying'),
  (SELECT count(*) FROM records WHERE state = 'dead'),
  (SELECT count(*) FROM records WHERE state = 'done' AND last_outcome LIKE 'skipped%'),
  (SELECT min(waiting_since) FROM records WHERE state IN ('pending', 'retrying')),
  (SELECT count(*) FROM records WHERE state = 'held'))sql",
                           "select stats");
  inbox_stats s;
  s.notifications_received = row.int64(0, 0);
  s.duplicates_ignored = row.int64(0, 1);
  s.last_received_at = row.optional_int64(0, 2);
  s.pending = row.int64(0, 3);
  s.retrying = row.int64(0, 4);
  s.dead_letters = row.int64(0, 5);
  s.skipped = row.int64(0, 6);
  s.oldest_waiting_since = row.optional_int64(0, 7);
  s.held = row.int64(0, 8);
  return s;
}

std::vector<epoch_ms> retirements_since(postgres_connection& db, const std::string& organization_id,
                                        epoch_ms since) {
  const auto rows = db.exec(
      "SELECT time FROM worker_retirements WHERE organization_id = $1 AND time >= $2 ORDER BY time",
      params().add(organization_id).add(since), "select retirements");
  std::vector<epoch_ms> times;
  for (int i = 0; i < rows.rows(); ++i) times.push_back(rows.int64(i, 0));
  return times;
}

std::optional<std::string> find_link(postgres_connection& db, const std::string& organization_id,
                                     const std::string& record_id) {
  const auto row =
      db.exec("SELECT ispring_user_id FROM links WHERE organization_id = $1 AND record_id = $2",
              params().add(organization_id).add(record_id), "select link");
  if (row.rows() == 0) return std::nullopt;
  return row.text(0, 0);
}

std::vector<std::pair<std::string, std::string>> list_links(postgres_connection& db,
                                                            const std::string& organization_id) {
  std::vector<std::pair<std::string, std::string>> links;
  each_link(db, organization_id, [&](std::string_view record_id, std::string_view user_id) {
    links.emplace_back(record_id, user_id);
  });
  return links;
}

void each_link(postgres_connection& db, const std::string& organization_id,
               const user_links::link_visitor& visit) {
  const auto rows =
      db.exec("SELECT record_id, ispring_user_id FROM links WHERE organization_id = $1",
              params().add(organization_id), "list links");
  for (int i = 0; i < rows.rows(); ++i) visit(rows.text(i, 0), rows.text(i, 1));
}

std::size_t count_links(postgres_connection& db, const std::string& organization_id) {
  return static_cast<std::size_t>(db.exec("SELECT count(*) FROM links WHERE organization_id = $1",
                                          params().add(organization_id), "count links")
                                      .int64(0, 0));
}

std::optional<std::pair<std::string, std::string>> find_linked_record(
    postgres_connection& db, const std::string& ispring_user_id) {
  const auto row =
      db.exec("SELECT organization_id, record_id FROM links WHERE ispring_user_id = $1 LIMIT 1",
              params().add(ispring_user_id), "select linked record");
  if (row.rows() == 0) return std::nullopt;
  return std::make_pair(row.text(0, 0), row.text(0, 1));
}

namespace {

std::vector<department_link> department_links_of(const postgres_result& rows) {
  std::vector<department_link> links;
  for (int i = 0; i < rows.rows(); ++i)
    links.push_back({rows.text(i, 0), rows.text(i, 1), rows.text(i, 2)});
  return links;
}

}  // namespace

std::vector<department_link> list_department_links(postgres_connection& db,
                                                   const std::string& organization_id) {
  return department_links_of(db.exec(R"sql(
SELECT department_key, ispring_department_id, ispring_name FROM department_links
WHERE organization_id = $1 ORDER BY lower(department_key COLLATE "C"))sql",
                                     params().add(organization_id), "list department links"));
}

std::optional<department_link> find_department_link(postgres_connection& db,
                                                    const std::string& organization_id,
                                                    const std::string& key) {
  auto links = department_links_of(db.exec(R"sql(
SELECT department_key, ispring_department_id, ispring_name FROM department_links
WHERE organization_id = $1 AND lower(department_key COLLATE "C") = lower($2 COLLATE "C"))sql",
                                           params().add(organization_id).add(key),
                                           "select department link"));
  if (links.empty()) return std::nullopt;
  return std::move(links.front());
}

const char* const run_columns =
    "id, triggered_by, dry_run, status, queued_at, started_at, ended_at, counts_json, message, "
    "owner_pid, owner_instance";

stored_run run_from(const postgres_result& rows, int row) {
  stored_run stored;
  run_record& r = stored.record;
  r.id = rows.int64(row, 0);
  r.trigger = rows.text(row, 1);
  r.dry_run = rows.boolean(row, 2);
  r.status = rows.text(row, 3);
  r.queued_at = rows.int64(row, 4);
  r.started_at = rows.optional_int64(row, 5);
  r.ended_at = rows.optional_int64(row, 6);
  r.counts = counts_from_json(rows.text(row, 7));
  r.message = rows.text(row, 8);
  stored.owner.pid = rows.int64(row, 9);
  stored.owner.instance = rows.text(row, 10);
  return stored;
}

namespace {

std::vector<stored_run> runs_of(postgres_connection& db, const std::string& rest, const params& p,
                                std::string_view operation) {
  const auto rows =
      db.exec(std::string("SELECT ") + run_columns + " FROM runs " + rest, p, operation);
  std::vector<stored_run> runs;
  for (int i = 0; i < rows.rows(); ++i) runs.push_back(run_from(rows, i));
  return runs;
}

}  // namespace

std::optional<run_record> find_run(postgres_connection& db, std::int64_t id, bool with_plan) {
  auto runs = runs_of(db, "WHERE id = $1", params().add(id), "select run");
  if (runs.empty()) return std::nullopt;
  run_record found = std::move(runs.front().record);
  if (with_plan) {
    const auto plan = db.exec("SELECT plan_json FROM run_plans WHERE run_id = $1", params().add(id),
                              "select run plan");
    if (plan.rows() > 0) found.plan_json = plan.text(0, 0);
  }
  return found;
}

std::vector<run_record> list_runs(postgres_connection& db, std::size_t limit,
                                  bool include_dry_runs) {
  std::vector<run_record> runs;
  for (auto& stored : runs_of(db, "WHERE $2 OR NOT dry_run ORDER BY id DESC LIMIT $1",
                              params().add(as_limit(limit)).add(include_dry_runs), "list runs"))
    runs.push_back(std::move(stored.record));
  return runs;
}

std::optional<run_record> last_sync(postgres_connection& db) {
  auto runs = runs_of(db,
                      "WHERE NOT dry_run AND started_at IS NOT NULL "
                      "ORDER BY started_at DESC, id DESC LIMIT 1",
                      params(), "select last sync");
  if (runs.empty()) return std::nullopt;
  return std::move(runs.front().record);
}

std::vector<stored_run> unfinished_runs(postgres_connection& db) {
  return runs_of(db, "WHERE status IN ('queued', 'running') ORDER BY status = 'running' DESC, id",
                 params(), "select unfinished runs");
}

std::vector<history_event> read_history(postgres_connection& db, const std::string& organization_id,
                                        const std::string& record_id, std::size_t limit) {
  const auto rows =
      db.exec(R"sql(
SELECT id, organization_id, record_id, time, kind, details FROM user_history
WHERE organization_id = $1 AND record_id = $2 ORDER BY time DESC, id DESC LIMIT $3)sql",
              params().add(organization_id).add(record_id).add(as_limit(limit)), "read history");
  std::vector<history_event> events;
  for (int i = 0; i < rows.rows(); ++i) {
    history_event e;
    e.id = rows.int64(i, 0);
    e.organization_id = rows.text(i, 1);
    e.record_id = rows.text(i, 2);
    e.time = rows.int64(i, 3);
    e.kind = rows.text(i, 4);
    e.details_json = rows.text(i, 5);
    events.push_back(std::move(e));
  }
  return events;
}

// Record ids compare as typed (they are case-sensitive); logins and e-mails ignoring case.
std::vector<user_match> search_users(postgres_connection& db, const user_query& query) {
  std::vector<user_match> found;
  if (query.text.empty()) return found;
  const std::string key = text::ascii_lower(query.text);
  const auto rows = db.exec(R"sql(
SELECT k.organization_id, k.record_id, k.login, k.email, r.state
FROM user_keys AS k LEFT JOIN records AS r USING (organization_id, record_id)
WHERE k.organization_id = ANY ($1::text[])
  AND ((k.record_id >= $2 AND k.record_id <= $3)
    OR (k.login_key >= $4 AND k.login_key <= $5)
    OR (k.email_key >= $4 AND k.email_key <= $5))
ORDER BY k.record_id, k.organization_id LIMIT $6 OFFSET $7)sql",
                            params()
                                .add_array(query.organization_ids)
                                .add(query.text)
                                .add(upper_bound_of(query.text, query.prefix))
                                .add(key)
                                .add(upper_bound_of(key, query.prefix))
                                .add(as_limit(query.limit))
                                .add(as_limit(query.offset)),
                            "search users");
  for (int i = 0; i < rows.rows(); ++i) {
    user_match m;
    m.organization_id = rows.text(i, 0);
    m.record_id = rows.text(i, 1);
    m.login = rows.text(i, 2);
    m.email = rows.text(i, 3);
    m.state = rows.is_null(i, 4) ? record_state::done : parse_state(rows.text(i, 4));
    found.push_back(std::move(m));
  }
  return found;
}

std::vector<std::int64_t> notifications_per_bucket(postgres_connection& db, epoch_ms since,
                                                   epoch_ms bucket_ms, std::size_t buckets) {
  if (bucket_ms <= 0 || buckets == 0) return std::vector<std::int64_t>(buckets, 0);
  const epoch_ms until = since + bucket_ms * static_cast<epoch_ms>(buckets);
  return buckets_of(
      db.exec(R"sql(
SELECT (received_at - $1) / $2, count(*) FROM notifications
WHERE received_at >= $1 AND received_at < $3 GROUP BY 1)sql",
              params().add(since).add(bucket_ms).add(until), "count notifications per bucket"),
      buckets);
}

// A user applied: by the worker (kind 'applied') or by a reconciliation run, when its change
// went through. The BRIN index on time finds the window.
std::vector<std::int64_t> applied_per_bucket(postgres_connection& db, epoch_ms since,
                                             epoch_ms bucket_ms, std::size_t buckets) {
  if (bucket_ms <= 0 || buckets == 0) return std::vector<std::int64_t>(buckets, 0);
  const epoch_ms until = since + bucket_ms * static_cast<epoch_ms>(buckets);
  return buckets_of(
      db.exec(R"sql(
SELECT (time - $1) / $2, count(*) FROM user_history
WHERE time >= $1 AND time < $3
  AND (kind = 'applied'
       OR (kind = 'reconciled' AND (details::jsonb -> 'ok') IN ('true'::jsonb, '1'::jsonb)))
GROUP BY 1)sql",
              params().add(since).add(bucket_ms).add(until), "count applied users per bucket"),
      buckets);
}

}  // namespace connector::store::postgres_reads
