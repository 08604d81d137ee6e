#include "sqlite_statements.hpp"

#include "connector/text/ascii.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace connector::store {

const char* const record_columns =
    "organization_id, record_id, object_type, fields_json, modstamp, version, attempts, "
    "last_error, due_at, state, last_outcome, needs_reread, "
    "coalesce(released_version = version, 0)";

pending_record read_record(const run& row) {
  pending_record record;
  record.organization_id = row.text(0);
  record.record_id = row.text(1);
  record.object_type = row.text(2);
  record.fields_json = row.text(3);
  record.modstamp = row.optional_int64(4);
  record.version = row.int64(5);
  record.attempts = static_cast<int>(row.int64(6));
  record.last_error = row.text(7);
  record.due_at = row.int64(8);
  record.state = parse_state(row.text(9));
  record.last_outcome = row.text(10);
  record.needs_reread = row.int64(11) != 0;
  record.released = row.int64(12) != 0;
  return record;
}

// A field of a record's newest state, as SQL over fields_json ('' when absent). Field names
// are Salesforce API names (the config checks them); anything else would need quoting inside
// a JSON path inside SQL, so it is refused. Guarded by json_valid: a damaged fields_json reads
// as no value instead of failing the statement.
static std::string field_expression(const std::string& field) {
  const bool plain = !field.empty() && std::all_of(field.begin(), field.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  });
  if (!plain)
    throw std::invalid_argument("store: \"" + field + "\" is not a Salesforce field name");
  return "coalesce(CASE WHEN json_valid(fields_json) THEN json_extract(fields_json, '$.\"" + field +
         "\"') END, '')";
}

// The upper bound of a look-up: every text that starts with `text` (prefix) sorts below
// text + U+10FFFF, the largest code point; only `text` itself sorts below text + NUL.
static std::string upper_bound_of(const std::string& text, bool prefix) {
  return prefix ? text + "\xf4\x8f\xbf\xbf" : text + std::string(1, '\0');
}

constexpr const char* run_columns =
    "id, triggered_by, dry_run, status, queued_at, started_at, ended_at, counts_json, message, "
    "owner_pid, owner_instance";

stored_run read_run(const run& row) {
  stored_run stored;
  run_record& r = stored.record;
  r.id = row.int64(0);
  r.trigger = row.text(1);
  r.dry_run = row.int64(2) != 0;
  r.status = row.text(3);
  r.queued_at = row.int64(4);
  r.started_at = row.optional_int64(5);
  r.ended_at = row.optional_int64(6);
  r.counts = counts_from_json(row.text(7));
  r.message = row.text(8);
  stored.owner.pid = row.int64(9);
  stored.owner.instance = row.text(10);
  return stored;
}

// One statement, so the counts come from one read snapshot. The pending/retrying counts
// repeat the partial index's condition so SQLite can answer them from that small index.
const char* const stats_sql = R"sql(
SELECT
  (SELECT value FROM counters WHERE name = 'notifications_received'),
  (SELECT value FROM counters WHERE name = 'duplicates_ignored'),
  (SELECT value FROM counters WHERE name = 'last_received_at'),
  (SELECT count(*) FROM records
    WHERE state IN ('pending', 'retrying') AND state = 'pending'),
  (SELECT count(*) FROM records
    WHERE state IN ('pending', 'retrying') AND state = 'retrying'),
  (SELECT count(*) FROM records WHERE state = 'dead'),
  (SELECT count(*) FROM records WHERE state = 'done' AND last_outcome LIKE 'skipped%'),
  (SELECT min(waiting_since) FROM records WHERE state IN ('pending', 'retrying')),
  (SELECT count(*) FROM records WHERE state = 'held'))sql";

inbox_stats query_stats(sqlite_statement& statement) {
  run row(statement);
  const bool found = row.step();
  assert(found && "a SELECT without FROM always yields one row");
  (void)found;
  inbox_stats stats;
  stats.notifications_received = row.optional_int64(0).value_or(0);
  stats.duplicates_ignored = row.optional_int64(1).value_or(0);
  stats.last_received_at = row.optional_int64(2);
  stats.pending = row.int64(3);
  stats.retrying = row.int64(4);
  stats.dead_letters = row.int64(5);
  stats.skipped = row.int64(6);
  stats.oldest_waiting_since = row.optional_int64(7);
  stats.held = row.int64(8);
  return stats;
}

// The events of one user_history_new row (see the schema) as history events; `record_id`
// empty: every user's.
std::vector<history_event> staged_events(std::int64_t first_id, const std::string& organization_id,
                                         epoch_ms time, const std::string& details,
                                         const std::string& record_id) {
  std::vector<history_event> events;
  const auto list = nlohmann::json::parse(details, nullptr, false);
  if (!list.is_array()) return events;
  std::int64_t id = first_id;
  for (const auto& item : list) {
    const std::int64_t this_id = id++;
    if (!item.is_object()) continue;
    history_event e;
    e.id = this_id;
    e.organization_id = organization_id;
    e.record_id = item.value("record_id", std::string());
    if (e.record_id.empty() || (!record_id.empty() && e.record_id != record_id)) continue;
    // Each event carries its request's time; the row's is the batch's first.
    const auto at = item.find("time");
    e.time = at != item.end() && at->is_number_integer() ? at->get<epoch_ms>() : time;
    e.kind = item.value("kind", std::string());
    const auto d = item.find("details");
    e.details_json = d != item.end() && d->is_object() ? d->dump() : "{}";
    events.push_back(std::move(e));
  }
  return events;
}

write_statements::write_statements(const sqlite_connection& db, const std::string& login_field,
                                   const std::string& email_field)
    : begin(db, "BEGIN IMMEDIATE", "begin transaction"),
      commit(db, "COMMIT", "commit transaction"),
      rollback(db, "ROLLBACK", "roll back transaction"),
      insert_notification(db, R"sql(
INSERT INTO notifications (organization_id, notification_id, record_id, source, received_at)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT DO NOTHING)sql",
                          "insert notification"),
      // The record's row as newest_wins reads it, in the writer's transaction.
      select_record_row(db, R"sql(
SELECT object_type, fields_json, modstamp, version, state, attempts, last_error, due_at,
       waiting_since, needs_reread
FROM records WHERE organization_id = ?1 AND record_id = ?2)sql",
                        "select record"),
      // No RETURNING on these, on purpose: with it SQLite keeps a statement journal for each
      // notification (a malloc'd copy of every page the statement touches, freed when it
      // ends), and glibc handing that memory back to the kernel after every statement
      // halved intake in the benchmark.
      insert_record(db, R"sql(
INSERT INTO records (organization_id, record_id, object_type, fields_json, modstamp, version,
                     state, attempts, last_error, due_at, waiting_since, needs_reread)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12))sql",
                    "insert record"),
      update_record(db, R"sql(
UPDATE records SET object_type = ?3, fields_json = ?4, modstamp = ?5, version = ?6, state = ?7,
  attempts = ?8, last_error = ?9, due_at = ?10, waiting_since = ?11, needs_reread = ?12
WHERE organization_id = ?1 AND record_id = ?2)sql",
                    "update record"),
      add_counter(db, R"sql(
INSERT INTO counters (name, value) VALUES (?1, ?2)
ON CONFLICT (name) DO UPDATE SET value = value + excluded.value)sql",
                  "add to counter"),
      raise_last_received(db, R"sql(
INSERT INTO counters (name, value) VALUES ('last_received_at', ?1)
ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value))sql",
                          "record last received time"),
      // A version mismatch means a newer state arrived while the worker applied this one:
      // the record stays pending for it.
      finish_record(db, R"sql(
UPDATE records SET state = 'done', attempts = 0, last_error = '', last_outcome = ?4
WHERE organization_id = ?1 AND record_id = ?2 AND version = ?3)sql",
                    "mark record done"),
      fail_record(db, R"sql(
UPDATE records SET attempts = attempts + 1, last_error = ?4,
  state = CASE WHEN ?5 THEN 'dead' ELSE 'retrying' END, due_at = ?6
WHERE organization_id = ?1 AND record_id = ?2 AND version = ?3)sql",
                  "mark record failed"),
      requeue_all_dead(db, R"sql(
UPDATE records SET state = 'pending', attempts = 0, due_at = ?1, waiting_since = ?1
WHERE state = 'dead'
RETURNING organization_id, record_id)sql",
                       "re-queue dead letters"),
      requeue_one_dead(db, R"sql(
UPDATE records SET state = 'pending', attempts = 0, due_at = ?1, waiting_since = ?1
WHERE state = 'dead' AND record_id = ?2
RETURNING organization_id, record_id)sql",
                       "re-queue dead letter"),
      upsert_link(db, R"sql(
INSERT INTO links (organization_id, record_id, ispring_user_id, linked_at)
VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (organization_id, record_id) DO UPDATE SET
  ispring_user_id = excluded.ispring_user_id, linked_at = excluded.linked_at
WHERE links.ispring_user_id <> excluded.ispring_user_id)sql",
                  "store link"),
      delete_link(db, "DELETE FROM links WHERE organization_id = ?1 AND record_id = ?2",
                  "remove link"),
      insert_run(db, R"sql(
INSERT INTO runs (triggered_by, dry_run, status, queued_at, owner_pid, owner_instance)
VALUES (?1, ?2, 'queued', ?3, ?4, ?5))sql",
                 "create run"),
      // The process that starts a run owns it from then on.
      start_run(db, R"sql(
UPDATE runs SET status = 'running', started_at = ?2, owner_pid = ?3, owner_instance = ?4
WHERE id = ?1 AND status = 'queued')sql",
                "start run"),
      update_run_counts(db, R"sql(
UPDATE runs SET counts_json = ?2 WHERE id = ?1 AND status IN ('queued', 'running'))sql",
                        "update run counts"),
      finish_run(db, R"sql(
UPDATE runs SET status = ?2, ended_at = ?3, counts_json = ?4, message = ?5
WHERE id = ?1 AND status IN ('queued', 'running'))sql",
                 "finish run"),
      insert_run_plan(db, "INSERT OR REPLACE INTO run_plans (run_id, plan_json) VALUES (?1, ?2)",
                      "store run plan"),
      // Older than the ?1 newest, and finished: a run still going is never pruned. Their
      // plans go with them (ON DELETE CASCADE).
      prune_runs(db, R"sql(
DELETE FROM runs WHERE status NOT IN ('queued', 'running')
  AND id <= (SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?1))sql",
                 "prune runs"),
      prune_run_plans(db, R"sql(
DELETE FROM run_plans
WHERE run_id <= (SELECT run_id FROM run_plans ORDER BY run_id DESC LIMIT 1 OFFSET ?1))sql",
                      "prune run plans"),
      select_unfinished_runs(
          db,
          std::string("SELECT ") + run_columns + " FROM runs WHERE status IN ('queued', 'running')",
          "select unfinished runs"),
      fail_run(db, R"sql(
UPDATE runs SET status = 'failed', ended_at = ?2, message = ?3
WHERE id = ?1 AND status IN ('queued', 'running'))sql",
               "fail interrupted run"),
      insert_history(db, R"sql(
INSERT INTO user_history (id, organization_id, record_id, time, kind, details)
VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql",
                     "record history"),
      // From the front of the table (ids follow time): the rows older than the retention
      // are there. Only the first few times the batch are looked at, so a table with
      // nothing to prune costs a few pages, not a scan of months of history.
      prune_old_history(db, R"sql(
DELETE FROM user_history WHERE id IN (
  SELECT id FROM (SELECT id, time FROM user_history ORDER BY id LIMIT ?2 * 4)
  WHERE time < ?1 LIMIT ?2))sql",
                        "prune old history"),
      prune_user_history(db, R"sql(
DELETE FROM user_history WHERE id IN (
  SELECT id FROM user_history WHERE organization_id = ?1 AND record_id = ?2
  ORDER BY time DESC, id DESC LIMIT ?4 OFFSET ?3))sql",
                         "prune a user's history"),
      // The dedupe window (store.notification_retention_hours): the oldest ids first, by
      // the index on received_at.
      prune_notifications(db, R"sql(
DELETE FROM notifications WHERE (organization_id, notification_id) IN (
  SELECT organization_id, notification_id FROM notifications
  WHERE received_at < ?1 ORDER BY received_at LIMIT ?2))sql",
                          "prune notification ids"),
      // Settled: applied or skipped, not touched since the cutoff, and linked to no iSpring
      // user (an unknown or forged id, a user out of scope). Linked records stay: explain
      // shows their last state. Dead letters wait for the operator. One scan of records,
      // so the writer runs it rarely (records_prune_interval_ms).
      prune_settled_records(db, R"sql(
DELETE FROM records WHERE (organization_id, record_id) IN (
  SELECT r.organization_id, r.record_id FROM records r
  WHERE r.state = 'done' AND r.due_at < ?1
    AND NOT EXISTS (SELECT 1 FROM links l
                    WHERE l.organization_id = r.organization_id AND l.record_id = r.record_id)
  LIMIT ?2))sql",
                            "prune settled records"),
      prune_orphan_keys(db, R"sql(
DELETE FROM user_keys WHERE (organization_id, record_id) IN (
  SELECT k.organization_id, k.record_id FROM user_keys k
  WHERE NOT EXISTS (SELECT 1 FROM records r
                    WHERE r.organization_id = k.organization_id AND r.record_id = k.record_id)
  LIMIT ?1))sql",
                        "prune keys of pruned records"),
      insert_new_history(db, R"sql(
INSERT INTO user_history_new (id, organization_id, record_id, time, kind, details)
VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql",
                         "record intake history"),
      select_new_history(db, R"sql(
SELECT id, organization_id, time, details FROM user_history_new ORDER BY id LIMIT ?1)sql",
                         "select intake history to move"),
      delete_new_history(db, "DELETE FROM user_history_new WHERE id <= ?1",
                         "remove moved intake history"),
      // A staged row holds its events' ids from its own on (one per element of its array):
      // the last one's are the highest taken.
      max_history_id(db, R"sql(
SELECT max(coalesce((SELECT max(id) FROM user_history), 0),
           coalesce((SELECT id - 1 + CASE WHEN json_valid(details) AND json_type(details) = 'array'
                                          THEN max(json_array_length(details), 1) ELSE 1 END
                     FROM user_history_new ORDER BY id DESC LIMIT 1), 0)))sql",
                     "read history sequence"),
      // Written when the worker is done with a record, and only when they changed, so the
      // lookup indexes cost intake nothing.
      upsert_keys(db,
                  "INSERT INTO user_keys (organization_id, record_id, login_key, email_key, "
                  "login, email)\nSELECT organization_id, record_id, lower(login), lower(email), "
                  "login, email FROM (SELECT organization_id, record_id, " +
                      field_expression(login_field) + " AS login, " +
                      field_expression(email_field) + R"sql( AS email
  FROM records WHERE organization_id = ?1 AND record_id = ?2)
WHERE true
ON CONFLICT (organization_id, record_id) DO UPDATE SET
  login_key = excluded.login_key, email_key = excluded.email_key,
  login = excluded.login, email = excluded.email
WHERE login <> excluded.login OR email <> excluded.email)sql",
                  "store user keys"),
      // A version mismatch: a newer state arrived while the worker looked at this one; it
      // stays pending and is judged afresh.
      hold_record(db, R"sql(
UPDATE records SET state = 'held', attempts = 0, last_error = '', last_outcome = ?4,
  waiting_since = NULL
WHERE organization_id = ?1 AND record_id = ?2 AND version = ?3)sql",
                  "hold record"),
      release_all_held(db, R"sql(
UPDATE records SET state = 'pending', attempts = 0, due_at = ?1, waiting_since = ?1,
  released_version = version
WHERE state = 'held'
RETURNING organization_id, record_id, version)sql",
                       "release held records"),
      release_one_held(db, R"sql(
UPDATE records SET state = 'pending', attempts = 0, due_at = ?1, waiting_since = ?1,
  released_version = version
WHERE state = 'held' AND record_id = ?2
RETURNING organization_id, record_id, version)sql",
                       "release held record"),
      insert_retirement(db, R"sql(
INSERT INTO worker_retirements (organization_id, record_id, time) VALUES (?1, ?2, ?3))sql",
                        "note retirement"),
      prune_retirements(db, "DELETE FROM worker_retirements WHERE time < ?1", "prune retirements") {
}

history_read_statements::history_read_statements(const sqlite_connection& db)
    : read_history(db, R"sql(
SELECT id, organization_id, record_id, time, kind, details FROM user_history
WHERE organization_id = ?1 AND record_id = ?2 ORDER BY time DESC, id DESC LIMIT ?3)sql",
                   "read history"),
      // Not indexed (see user_history_new): small, as the writer moves it on.
      read_new_history(db, R"sql(
SELECT id, organization_id, time, details FROM user_history_new
WHERE organization_id = ?1 AND instr(details, ?2) > 0)sql",
                       "read intake history"),
      // Each OR term has an index (the primary key, the two key indexes), so SQLite answers
      // with a union of index ranges instead of a scan; the unary + keeps the outer
      // organization filter from steering it to the primary key alone.
      search_users(db, R"sql(
SELECT k.organization_id, k.record_id, k.login, k.email, r.state
FROM user_keys AS k LEFT JOIN records AS r USING (organization_id, record_id)
WHERE +k.organization_id IN (SELECT value FROM json_each(?1))
  AND ((k.organization_id IN (SELECT value FROM json_each(?1))
        AND k.record_id >= ?2 AND k.record_id < ?3)
    OR (k.login_key >= ?4 AND k.login_key < ?5)
    OR (k.email_key >= ?4 AND k.email_key < ?5))
ORDER BY k.record_id, k.organization_id LIMIT ?6 OFFSET ?7)sql",
                   "search users"),
      find_linked_record(
          db, "SELECT organization_id, record_id FROM links WHERE ispring_user_id = ?1 LIMIT 1",
          "select linked record") {}

std::vector<history_event> history_read_statements::history(const std::string& organization_id,
                                                            const std::string& record_id,
                                                            std::size_t limit) {
  std::vector<history_event> events;
  {
    run rows(read_new_history);
    rows.bind(1, organization_id).bind(2, record_id);
    while (rows.step()) {
      for (auto& e :
           staged_events(rows.int64(0), rows.text(1), rows.int64(2), rows.text(3), record_id))
        events.push_back(std::move(e));
    }
  }
  {
    run rows(read_history);
    rows.bind(1, organization_id).bind(2, record_id).bind(3, as_limit(limit));
    while (rows.step()) {
      history_event e;
      e.id = rows.int64(0);
      e.organization_id = rows.text(1);
      e.record_id = rows.text(2);
      e.time = rows.int64(3);
      e.kind = rows.text(4);
      e.details_json = rows.text(5);
      events.push_back(std::move(e));
    }
  }
  std::sort(events.begin(), events.end(), [](const history_event& a, const history_event& b) {
    return a.time != b.time ? a.time > b.time : a.id > b.id;
  });
  if (events.size() > limit) events.resize(limit);
  return events;
}

std::vector<user_match> history_read_statements::users(const user_query& query) {
  std::vector<user_match> found;
  if (query.text.empty()) return found;
  const std::string organizations = nlohmann::json(query.organization_ids).dump();
  // Record ids compare as typed (they are case-sensitive); logins and e-mails ignoring case.
  const std::string id_high = upper_bound_of(query.text, query.prefix);
  const std::string key = text::ascii_lower(query.text);
  const std::string key_high = upper_bound_of(key, query.prefix);
  run rows(search_users);
  rows.bind(1, organizations)
      .bind(2, query.text)
      .bind(3, id_high)
      .bind(4, key)
      .bind(5, key_high)
      .bind(6, as_limit(query.limit))
      .bind(7, as_limit(query.offset));
  while (rows.step()) {
    user_match m;
    m.organization_id = rows.text(0);
    m.record_id = rows.text(1);
    m.login = rows.text(2);
    m.email = rows.text(3);
    m.state = rows.is_null(4) ? record_state::done : parse_state(rows.text(4));
    found.push_back(std::move(m));
  }
  return found;
}

std::optional<std::pair<std::string, std::string>> history_read_statements::linked_record(
    const std::string& ispring_user_id) {
  run row(find_linked_record);
  row.bind(1, ispring_user_id);
  if (!row.step()) return std::nullopt;
  return std::make_pair(row.text(0), row.text(1));
}

read_statements::read_statements(const sqlite_connection& db)
    : take_due(db, std::string("SELECT ") + record_columns + R"sql( FROM records
WHERE state IN ('pending', 'retrying') AND due_at <= ?1
ORDER BY due_at LIMIT ?2)sql",
               "select due records"),
      find_record(db,
                  std::string("SELECT ") + record_columns +
                      " FROM records WHERE organization_id = ?1 AND record_id = ?2",
                  "select record"),
      has_notification(
          db, "SELECT 1 FROM notifications WHERE organization_id = ?1 AND notification_id = ?2",
          "select notification"),
      stats(db, stats_sql, "select stats"),
      list_records(db,
                   std::string("SELECT ") + record_columns +
                       " FROM records WHERE state = ?1 ORDER BY due_at DESC LIMIT ?2",
                   "list records"),
      find_link(db,
                "SELECT ispring_user_id FROM links WHERE organization_id = ?1 AND record_id = ?2",
                "select link"),
      list_links(db, "SELECT record_id, ispring_user_id FROM links WHERE organization_id = ?1",
                 "list links"),
      // Through the small partial index of the queue: left to itself, SQLite prefers the
      // primary key's organization prefix, which with one organization reads every record.
      records_in_flight(db, std::string("SELECT ") + record_columns + R"sql(
FROM records INDEXED BY records_due
WHERE state IN ('pending', 'retrying') AND organization_id = ?1
UNION ALL
SELECT )sql" + record_columns + R"sql( FROM records INDEXED BY records_held
WHERE state = 'held' AND organization_id = ?1)sql",
                        "select records in flight"),
      due_rereads(db, R"sql(
SELECT record_id FROM records INDEXED BY records_due
WHERE state IN ('pending', 'retrying') AND due_at <= ?2 AND organization_id = ?1
  AND needs_reread = 1
ORDER BY due_at LIMIT ?3)sql",
                  "select due records to re-read"),
      due_records(db, R"sql(
SELECT record_id FROM records INDEXED BY records_due
WHERE state IN ('pending', 'retrying') AND due_at <= ?2 AND organization_id = ?1
ORDER BY due_at LIMIT ?3)sql",
                  "select due records to verify"),
      retirements_since(db, R"sql(
SELECT time FROM worker_retirements WHERE organization_id = ?1 AND time >= ?2 ORDER BY time)sql",
                        "select retirements"),
      count_links(db, "SELECT count(*) FROM links WHERE organization_id = ?1", "count links") {}

run_read_statements::run_read_statements(const sqlite_connection& db)
    : find_run(db, std::string("SELECT ") + run_columns + " FROM runs WHERE id = ?1", "select run"),
      find_plan(db, "SELECT plan_json FROM run_plans WHERE run_id = ?1", "select run plan"),
      list_runs(db,
                std::string("SELECT ") + run_columns +
                    " FROM runs WHERE ?2 OR dry_run = 0 ORDER BY id DESC LIMIT ?1",
                "list runs"),
      last_sync(db, std::string("SELECT ") + run_columns + R"sql( FROM runs
WHERE dry_run = 0 AND started_at IS NOT NULL ORDER BY started_at DESC, id DESC LIMIT 1)sql",
                "select last sync"),
      unfinished_runs(db, std::string("SELECT ") + run_columns + R"sql( FROM runs
WHERE status IN ('queued', 'running') ORDER BY status = 'running' DESC, id)sql",
                      "select unfinished runs") {}

std::optional<run_record> run_read_statements::find(std::int64_t id, bool with_plan) {
  std::optional<run_record> found;
  {
    run row(find_run);
    row.bind(1, id);
    if (!row.step()) return std::nullopt;
    found = read_run(row).record;
  }
  if (with_plan) {
    run row(find_plan);
    row.bind(1, id);
    if (row.step()) found->plan_json = row.text(0);
  }
  return found;
}

std::vector<run_record> run_read_statements::list(std::size_t limit, bool include_dry_runs) {
  std::vector<run_record> runs;
  run rows(list_runs);
  rows.bind(1, as_limit(limit)).bind(2, std::int64_t{include_dry_runs ? 1 : 0});
  while (rows.step()) runs.push_back(read_run(rows).record);
  return runs;
}

std::optional<run_record> run_read_statements::last() {
  run row(last_sync);
  if (!row.step()) return std::nullopt;
  return read_run(row).record;
}

std::optional<run_record> run_read_statements::first_of_live_owner(
    const std::string& self, const std::vector<instance_record>& live) {
  run rows(unfinished_runs);
  while (rows.step()) {
    auto stored = read_run(rows);
    if (owner_is_live(stored.owner.instance, self, live)) return std::move(stored.record);
  }
  return std::nullopt;
}

}  // namespace connector::store
