// The SQLite inbox. One writer thread owns the writing connection and commits whatever
// requests are waiting in one transaction (group commit: one fsync acknowledges many HTTP
// requests). Reads use a second, read-only connection: WAL lets them run beside the writer.
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "connector/store/fields_json.hpp"
#include "connector/store/inbox.hpp"
#include "connector/store/sqlite.hpp"
#include "group_commit.hpp"
#include "run_owner.hpp"
#include "sqlite_department_links.hpp"
#include "sqlite_schema.hpp"

namespace connector::store {

const char* to_string(record_state state) {
  switch (state) {
    case record_state::pending:
      return "pending";
    case record_state::retrying:
      return "retrying";
    case record_state::done:
      return "done";
    case record_state::dead:
      return "dead";
    case record_state::held:
      return "held";
  }
  assert(false && "unknown record_state");
  return "pending";
}

namespace {

using run = sqlite_statement::run;

// merge_fields(stored, incoming) for the upsert below: JSON merge in C++, because SQLite's
// json_patch() deletes keys whose new value is null, and a null means "field cleared".
void merge_fields_function(sqlite3_context* context, int argc, sqlite3_value** argv) {
  assert(argc == 2);
  const auto text = [](sqlite3_value* value) {
    const auto* data = reinterpret_cast<const char*>(sqlite3_value_text(value));
    return data == nullptr
               ? std::string_view{}
               : std::string_view(data, static_cast<std::size_t>(sqlite3_value_bytes(value)));
  };
  try {
    const std::string merged = merge_fields_json(text(argv[0]), text(argv[1]));
    sqlite3_result_text64(context, merged.data(), merged.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  } catch (const std::bad_alloc&) {
    sqlite3_result_error_nomem(context);
  } catch (const std::exception& e) {
    sqlite3_result_error(context, e.what(), -1);
  }
  (void)argc;
}

record_state parse_state(const std::string& text) {
  for (auto state : {record_state::pending, record_state::retrying, record_state::done,
                     record_state::dead, record_state::held}) {
    if (text == to_string(state)) return state;
  }
  assert(false && "the CHECK constraint admits no other state");
  return record_state::pending;
}

constexpr const char* record_columns =
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

std::int64_t as_limit(std::size_t limit) {
  return static_cast<std::int64_t>(
      std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
}

// Appends `text` as a JSON string. The writer builds intake's history details by hand: a
// JSON library's document per notification would cost the single writer more than the insert.
void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

// A field of a record's newest state, as SQL over fields_json ('' when absent). Field names
// are Salesforce API names (the config checks them); anything else would need quoting inside
// a JSON path inside SQL, so it is refused. Guarded by json_valid: a damaged fields_json reads
// as no value instead of failing the statement.
std::string field_expression(const std::string& field) {
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
std::string upper_bound_of(const std::string& text, bool prefix) {
  return prefix ? text + "\xf4\x8f\xbf\xbf" : text + std::string(1, '\0');
}

std::string lower_ascii(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string counts_to_json(const std::map<std::string, std::int64_t>& counts) {
  return nlohmann::json(counts).dump();
}

// Written by counts_to_json only; anything else in the column reads as no counts.
std::map<std::string, std::int64_t> counts_from_json(const std::string& text) {
  std::map<std::string, std::int64_t> counts;
  const auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (!parsed.is_object()) return counts;
  for (const auto& [key, value] : parsed.items()) {
    if (value.is_number_integer()) counts[key] = value.get<std::int64_t>();
  }
  return counts;
}

constexpr const char* run_columns =
    "id, triggered_by, dry_run, status, queued_at, started_at, ended_at, counts_json, message, "
    "owner_pid, owner_instance";

struct stored_run {
  run_record record;
  process_identity owner;
};

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
constexpr const char* stats_sql = R"sql(
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

// Statements of the writing connection, prepared once and reused by every batch.
struct write_statements {
  write_statements(const sqlite_connection& db, const std::string& login_field,
                   const std::string& email_field)
      : begin(db, "BEGIN IMMEDIATE", "begin transaction"),
        commit(db, "COMMIT", "commit transaction"),
        rollback(db, "ROLLBACK", "roll back transaction"),
        insert_notification(db, R"sql(
INSERT INTO notifications (organization_id, notification_id, record_id, source, received_at)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT DO NOTHING)sql",
                            "insert notification"),
        // Salesforce redelivers out of order, so the newest SystemModstamp wins; an equal or
        // unknown stamp cannot tell, so arrival order decides (the later arrival wins).
        // No RETURNING here, on purpose: with it SQLite keeps a statement journal for each
        // notification (a malloc'd copy of every page the statement touches, freed when it
        // ends), and glibc handing that memory back to the kernel after every statement
        // halved intake in the benchmark. Whether a change merged into one already waiting
        // is told by `connector explain` from the history (note_merges), not stored here.
        upsert_record(db, R"sql(
INSERT INTO records (organization_id, record_id, object_type, fields_json, modstamp, version,
                     state, attempts, last_error, due_at, waiting_since)
VALUES (?1, ?2, ?3, ?4, ?5, 1, 'pending', 0, '', ?6, ?6)
ON CONFLICT (organization_id, record_id) DO UPDATE SET
  object_type = coalesce(nullif(excluded.object_type, ''), records.object_type),
  fields_json = merge_fields(records.fields_json, excluded.fields_json),
  modstamp = coalesce(excluded.modstamp, records.modstamp),
  version = records.version + 1,
  state = 'pending', attempts = 0, last_error = '', due_at = excluded.due_at,
  waiting_since = CASE WHEN records.state IN ('pending', 'retrying')
                       THEN coalesce(records.waiting_since, excluded.due_at)
                       ELSE excluded.due_at END
WHERE excluded.modstamp IS NULL OR records.modstamp IS NULL
   OR excluded.modstamp >= records.modstamp)sql",
                      "upsert record"),
        // Deleted before delivery, or a GAP event (?5 = 1: Salesforce sent no data, the
        // worker reads the record over REST): nothing to merge, but the worker must look at
        // the record again, so it becomes pending with a new version. A mark to re-read stays
        // until a read is saved.
        upsert_dataless_record(db, R"sql(
INSERT INTO records (organization_id, record_id, object_type, fields_json, modstamp, version,
                     state, attempts, last_error, due_at, waiting_since, needs_reread)
VALUES (?1, ?2, ?3, '{}', NULL, 1, 'pending', 0, '', ?4, ?4, ?5)
ON CONFLICT (organization_id, record_id) DO UPDATE SET
  version = records.version + 1,
  needs_reread = max(records.needs_reread, excluded.needs_reread),
  state = 'pending', attempts = 0, last_error = '', due_at = excluded.due_at,
  waiting_since = CASE WHEN records.state IN ('pending', 'retrying')
                       THEN coalesce(records.waiting_since, excluded.due_at)
                       ELSE excluded.due_at END)sql",
                               "upsert record without data"),
        save_reread(db, R"sql(
UPDATE records SET fields_json = merge_fields(fields_json, ?4),
  modstamp = max(coalesce(modstamp, ?5), coalesce(?5, modstamp)), needs_reread = 0
WHERE organization_id = ?1 AND record_id = ?2 AND version = ?3)sql",
                    "save re-read record"),
        // A verified read is Salesforce's state: nothing a notification said survives.
        save_verified_read(db, R"sql(
UPDATE records SET fields_json = ?4, modstamp = ?5, needs_reread = 0
WHERE organization_id = ?1 AND record_id = ?2 AND version = ?3)sql",
                           "save verified read"),
        // Only when the upsert found the notification stale (sqlite_options).
        requeue_stale(db, R"sql(
UPDATE records SET version = version + 1, state = 'pending', attempts = 0, last_error = '',
  due_at = ?3
WHERE organization_id = ?1 AND record_id = ?2 AND state IN ('pending', 'retrying'))sql",
                      "re-queue waiting record"),
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
        select_unfinished_runs(db,
                               std::string("SELECT ") + run_columns +
                                   " FROM runs WHERE status IN ('queued', 'running')",
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
        max_history_id(db, R"sql(
SELECT max(coalesce((SELECT max(id) FROM user_history), 0),
           coalesce((SELECT max(id) FROM user_history_new), 0)))sql",
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
        prune_retirements(db, "DELETE FROM worker_retirements WHERE time < ?1",
                          "prune retirements") {}

  sqlite_statement begin, commit, rollback;
  sqlite_statement insert_notification, upsert_record, upsert_dataless_record, save_reread;
  sqlite_statement save_verified_read, requeue_stale;
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

// The events of one user_history_new row (see the schema) as history events; `record_id`
// empty: every user's.
std::vector<history_event> staged_events(std::int64_t first_id, const std::string& organization_id,
                                         epoch_ms time, const std::string& details,
                                         const std::string& record_id = {}) {
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

// Reads of the per-user history and the look-ups, apart from read_statements: a file that
// predates them (schema version 4) has no user_history table to prepare them against.
struct history_read_statements {
  explicit history_read_statements(const sqlite_connection& db)
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

  // Both tables, newest first (ids break ties: one sequence for both).
  std::vector<history_event> history(const std::string& organization_id,
                                     const std::string& record_id, std::size_t limit) {
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

  std::vector<user_match> users(const user_query& query) {
    std::vector<user_match> found;
    if (query.text.empty()) return found;
    const std::string organizations = nlohmann::json(query.organization_ids).dump();
    // Record ids compare as typed (they are case-sensitive); logins and e-mails ignoring case.
    const std::string id_high = upper_bound_of(query.text, query.prefix);
    const std::string key = lower_ascii(query.text);
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

  std::optional<std::pair<std::string, std::string>> linked_record(
      const std::string& ispring_user_id) {
    run row(find_linked_record);
    row.bind(1, ispring_user_id);
    if (!row.step()) return std::nullopt;
    return std::make_pair(row.text(0), row.text(1));
  }

  sqlite_statement read_history, read_new_history, search_users, find_linked_record;
};

// Statements of the read-only connection.
struct read_statements {
  explicit read_statements(const sqlite_connection& db)
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

  sqlite_statement take_due, find_record, has_notification, stats, list_records, find_link;
  sqlite_statement list_links, records_in_flight, due_rereads, due_records, retirements_since;
  sqlite_statement count_links;
};

// Reads of the run history, apart from read_statements: a file that predates it (schema
// version 2) has no runs table to prepare them against.
struct run_read_statements {
  explicit run_read_statements(const sqlite_connection& db)
      : find_run(db, std::string("SELECT ") + run_columns + " FROM runs WHERE id = ?1",
                 "select run"),
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

  std::optional<run_record> find(std::int64_t id, bool with_plan) {
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

  std::vector<run_record> list(std::size_t limit, bool include_dry_runs) {
    std::vector<run_record> runs;
    run rows(list_runs);
    rows.bind(1, as_limit(limit)).bind(2, std::int64_t{include_dry_runs ? 1 : 0});
    while (rows.step()) runs.push_back(read_run(rows).record);
    return runs;
  }

  std::optional<run_record> last() {
    run row(last_sync);
    if (!row.step()) return std::nullopt;
    return read_run(row).record;
  }

  std::optional<run_record> first_of_live_owner() {
    run rows(unfinished_runs);
    while (rows.step()) {
      auto stored = read_run(rows);
      if (process_is_alive(stored.owner)) return std::move(stored.record);
    }
    return std::nullopt;
  }

  sqlite_statement find_run, find_plan, list_runs, last_sync, unfinished_runs;
};

class sqlite_inbox final : public inbox, private group_commit_engine {
 public:
  explicit sqlite_inbox(const sqlite_options& options)
      : runs_kept_(as_limit(std::max<std::size_t>(options.runs_kept, 1))),
        plans_kept_(as_limit(options.plans_kept)),
        history_retention_ms_(options.history_retention_ms),
        history_cap_(as_limit(options.history_max_events_per_user)),
        history_prune_interval_(std::max(options.history_prune_interval_ms, 1)),
        history_prune_batch_(std::max<std::size_t>(options.history_prune_batch, 1)),
        notification_retention_ms_(options.notification_retention_ms),
        records_prune_interval_ms_(std::max<std::int64_t>(options.records_prune_interval_ms, 0)),
        requeue_stale_while_waiting_(options.requeue_stale_while_waiting),
        time_(options.time ? *options.time : own_clock_),
        writer_db_(options.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE),
        writer_(*this, {options.max_batch_requests, history_prune_interval_, options.on_commit,
                        "inbox-writer"}) {
    prepare_for_writing(writer_db_, options.busy_timeout_ms);
    if (options.max_page_count > 0) {
      writer_db_.query_int("PRAGMA max_page_count = " + std::to_string(options.max_page_count),
                           "cap page count");
    }
    const int rc = sqlite3_create_function_v2(writer_db_.handle(), "merge_fields", 2,
                                              SQLITE_UTF8 | SQLITE_DIRECTONLY, nullptr,
                                              merge_fields_function, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) throw_sqlite_error(writer_db_.handle(), rc, "register merge_fields");
    write_ =
        std::make_unique<write_statements>(writer_db_, options.login_field, options.email_field);
    department_writes_ = std::make_unique<department_link_writes>(writer_db_);
    {
      run row(write_->max_history_id);
      if (row.step()) next_history_id_ = row.int64(0) + 1;
    }

    // Opened after the writer switched the file to WAL and migrated it.
    reader_db_ = std::make_unique<sqlite_connection>(options.path, SQLITE_OPEN_READONLY);
    sqlite3_busy_timeout(reader_db_->handle(), options.busy_timeout_ms);
    read_ = std::make_unique<read_statements>(*reader_db_);
    run_read_ = std::make_unique<run_read_statements>(*reader_db_);
    history_read_ = std::make_unique<history_read_statements>(*reader_db_);
    department_read_ = std::make_unique<department_link_reads>(*reader_db_);

    // Checkpoints copy the WAL back into the database file and fsync it. SQLite would run
    // them inside the writer's COMMIT, in front of the acks; a second connection runs them
    // beside the writer instead. synchronous=FULL there too: the WAL may only be reused
    // once the copied pages are on disk.
    checkpoint_db_ = std::make_unique<sqlite_connection>(options.path, SQLITE_OPEN_READWRITE);
    checkpoint_db_->exec("PRAGMA synchronous = FULL", "set checkpoint connection pragmas");
    sqlite3_wal_hook(writer_db_.handle(), &sqlite_inbox::on_wal_commit, this);

    // Named for `top -H` and for the benchmark, which reads the writer's CPU time.
    writer_.start();
    checkpointer_ = std::thread([this] { checkpoint_loop(); });
    pthread_setname_np(checkpointer_.native_handle(), "inbox-ckpt");
  }

  // Graceful: the writer finishes every request accepted before this point.
  ~sqlite_inbox() override {
    writer_.stop();
    {
      std::lock_guard lock(checkpoint_mutex_);
      checkpoint_stopping_ = true;
    }
    checkpoint_wanted_.notify_one();
    checkpointer_.join();
    // The other connections go first, so the writer's close can checkpoint the WAL and
    // remove it.
    department_read_.reset();
    history_read_.reset();
    run_read_.reset();
    read_.reset();
    reader_db_.reset();
    checkpoint_db_.reset();
  }

  sqlite_inbox(const sqlite_inbox&) = delete;
  sqlite_inbox& operator=(const sqlite_inbox&) = delete;

  void submit(intake_request request, std::function<void(intake_outcome)> done) override {
    // Checked here, on the caller's thread, to keep the single writer busy with SQLite only.
    for (auto& change : request.changes) {
      if (change.has_data && !is_json_object(change.fields_json)) change.fields_json = "{}";
    }
    writer_.submit(std::move(request), std::move(done));
  }

  // Reads only: the single sync worker moves records on with mark_*, so taking them needs
  // no claim here.
  std::vector<pending_record> take_due(epoch_ms now, std::size_t limit) override {
    std::vector<pending_record> due;
    std::lock_guard lock(reader_mutex_);
    run rows(read_->take_due);
    rows.bind(1, now).bind(2, as_limit(limit));
    while (rows.step()) due.push_back(read_record(rows));
    return due;
  }

  std::vector<std::string> due_rereads(const std::string& organization_id, epoch_ms now,
                                       std::size_t limit, bool every_due) override {
    std::vector<std::string> ids;
    std::lock_guard lock(reader_mutex_);
    run rows(every_due ? read_->due_records : read_->due_rereads);
    rows.bind(1, organization_id).bind(2, now).bind(3, as_limit(limit));
    while (rows.step()) ids.push_back(rows.text(0));
    return ids;
  }

  // mark_* are writes, so they go through the writer's queue like intake: one writer means
  // no SQLITE_BUSY between two connections of ours (a second writing connection would make
  // intake wait on the worker's locks), and they ride along intake's group commits. No
  // deadlock: the writer never waits for a caller (calling mark_* from a `done` callback
  // would, so that asserts). They return once the change is durable and throw
  // std::runtime_error when its transaction failed.
  void mark_done(const std::string& organization_id, const std::string& record_id,
                 std::int64_t version, const std::string& outcome) override {
    run_write([&] {
      run(write_->finish_record)
          .bind(1, organization_id)
          .bind(2, record_id)
          .bind(3, version)
          .bind(4, outcome)
          .execute();
      after_apply(organization_id, record_id, version);
    });
  }

  void mark_failed(const std::string& organization_id, const std::string& record_id,
                   std::int64_t version, const std::string& error, epoch_ms retry_at,
                   bool dead) override {
    run_write([&] {
      run(write_->fail_record)
          .bind(1, organization_id)
          .bind(2, record_id)
          .bind(3, version)
          .bind(4, error)
          .bind(5, std::int64_t{dead ? 1 : 0})
          .bind(6, retry_at)
          .execute();
      after_apply(organization_id, record_id, version);
    });
  }

  void save_reread(const std::string& organization_id, const std::string& record_id,
                   std::int64_t version, const std::string& fields_json,
                   std::optional<epoch_ms> modstamp, bool replace) override {
    run_write(reread_writer(organization_id, record_id, version, fields_json, modstamp, replace));
  }

  void save_reread_soon(const std::string& organization_id, const std::string& record_id,
                        std::int64_t version, const std::string& fields_json,
                        std::optional<epoch_ms> modstamp, bool replace) override {
    if (!writer_.post(
            reread_writer(organization_id, record_id, version, fields_json, modstamp, replace)))
      throw std::runtime_error("store: the inbox is shutting down");
  }

  // The write of a read from Salesforce, for the writer thread: merged into the stored fields
  // (a GAP or partial event), or replacing them (a verified read).
  std::function<void()> reread_writer(std::string organization_id, std::string record_id,
                                      std::int64_t version, std::string fields_json,
                                      std::optional<epoch_ms> modstamp, bool replace) {
    return [this, organization_id = std::move(organization_id), record_id = std::move(record_id),
            version, fields_json = std::move(fields_json), modstamp, replace] {
      run(replace ? write_->save_verified_read : write_->save_reread)
          .bind(1, organization_id)
          .bind(2, record_id)
          .bind(3, version)
          .bind(4, fields_json)
          .bind(5, modstamp)
          .execute();
    };
  }

  std::size_t requeue_dead(const std::string& record_id, epoch_ms now) override {
    std::size_t changed = 0;
    run_write([&] {
      std::vector<std::pair<std::string, std::string>> requeued;
      {
        run rows(record_id.empty() ? write_->requeue_all_dead : write_->requeue_one_dead);
        rows.bind(1, now);
        if (!record_id.empty()) rows.bind(2, record_id);
        while (rows.step()) requeued.emplace_back(rows.text(0), rows.text(1));
      }
      for (const auto& [organization_id, id] : requeued)
        insert_history(organization_id, id, now, history_kinds::requeued, "{}");
      changed = requeued.size();
    });
    return changed;
  }

  void mark_held(const std::string& organization_id, const std::string& record_id,
                 std::int64_t version, const std::string& reason) override {
    run_write([&] {
      run(write_->hold_record)
          .bind(1, organization_id)
          .bind(2, record_id)
          .bind(3, version)
          .bind(4, reason)
          .execute();
      after_apply(organization_id, record_id, version);
    });
  }

  std::size_t release_held(const std::string& record_id, epoch_ms now) override {
    std::size_t changed = 0;
    run_write([&] {
      struct released_row {
        std::string organization_id, record_id;
        std::int64_t version;
      };
      std::vector<released_row> released;
      {
        run rows(record_id.empty() ? write_->release_all_held : write_->release_one_held);
        rows.bind(1, now);
        if (!record_id.empty()) rows.bind(2, record_id);
        while (rows.step()) released.push_back({rows.text(0), rows.text(1), rows.int64(2)});
      }
      for (const auto& r : released)
        insert_history(r.organization_id, r.record_id, now, history_kinds::released,
                       R"({"version":)" + std::to_string(r.version) + "}");
      changed = released.size();
    });
    return changed;
  }

  void note_retirement(const std::string& organization_id, const std::string& record_id,
                       epoch_ms at, epoch_ms prune_before) override {
    run_write([&] {
      run(write_->prune_retirements).bind(1, prune_before).execute();
      run(write_->insert_retirement)
          .bind(1, organization_id)
          .bind(2, record_id)
          .bind(3, at)
          .execute();
    });
  }

  std::vector<epoch_ms> retirements_since(const std::string& organization_id,
                                          epoch_ms since) override {
    std::vector<epoch_ms> times;
    std::lock_guard lock(reader_mutex_);
    run rows(read_->retirements_since);
    rows.bind(1, organization_id).bind(2, since);
    while (rows.step()) times.push_back(rows.int64(0));
    return times;
  }

  std::size_t count_links(const std::string& organization_id) override {
    std::lock_guard lock(reader_mutex_);
    run row(read_->count_links);
    row.bind(1, organization_id);
    return row.step() ? static_cast<std::size_t>(row.int64(0)) : 0;
  }

  std::vector<pending_record> list_records(record_state state, std::size_t limit) override {
    std::vector<pending_record> records;
    std::lock_guard lock(reader_mutex_);
    run rows(read_->list_records);
    rows.bind(1, std::string_view(to_string(state))).bind(2, as_limit(limit));
    while (rows.step()) records.push_back(read_record(rows));
    return records;
  }

  void set_link(const std::string& organization_id, const std::string& record_id,
                const std::string& ispring_user_id) override {
    set_links(organization_id, {{record_id, ispring_user_id}});
  }

  void set_links(const std::string& organization_id,
                 const std::vector<std::pair<std::string, std::string>>& links) override {
    if (links.empty()) return;
    const epoch_ms now = system_clock().now();
    run_write([&] {
      for (const auto& [record_id, ispring_user_id] : links) {
        run(write_->upsert_link)
            .bind(1, organization_id)
            .bind(2, record_id)
            .bind(3, ispring_user_id)
            .bind(4, now)
            .execute();
      }
    });
  }

  void remove_link(const std::string& organization_id, const std::string& record_id) override {
    run_write(
        [&] { run(write_->delete_link).bind(1, organization_id).bind(2, record_id).execute(); });
  }

  std::vector<std::pair<std::string, std::string>> list_links(
      const std::string& organization_id) override {
    std::vector<std::pair<std::string, std::string>> links;
    std::lock_guard lock(reader_mutex_);
    run rows(read_->list_links);
    rows.bind(1, organization_id);
    while (rows.step()) links.emplace_back(rows.text(0), rows.text(1));
    return links;
  }

  std::vector<department_link> list_department_links(const std::string& organization_id) override {
    std::lock_guard lock(reader_mutex_);
    return department_read_->list(organization_id);
  }

  std::optional<department_link> find_department_link(const std::string& organization_id,
                                                      const std::string& key) override {
    std::lock_guard lock(reader_mutex_);
    return department_read_->find(organization_id, key);
  }

  void set_department_links(const std::string& organization_id,
                            const std::vector<department_link>& links) override {
    if (links.empty()) return;
    const epoch_ms now = system_clock().now();
    run_write([&] { department_writes_->set(organization_id, links, now); });
  }

  void remove_department_links(const std::string& organization_id,
                               const std::vector<std::string>& department_ids) override {
    if (department_ids.empty()) return;
    run_write([&] { department_writes_->remove(organization_id, department_ids); });
  }

  std::vector<pending_record> records_in_flight(const std::string& organization_id) override {
    std::vector<pending_record> records;
    std::lock_guard lock(reader_mutex_);
    run rows(read_->records_in_flight);
    rows.bind(1, organization_id);
    while (rows.step()) records.push_back(read_record(rows));
    return records;
  }

  std::optional<std::string> find_link(const std::string& organization_id,
                                       const std::string& record_id) override {
    std::lock_guard lock(reader_mutex_);
    run row(read_->find_link);
    row.bind(1, organization_id).bind(2, record_id);
    if (!row.step()) return std::nullopt;
    return row.text(0);
  }

  std::optional<pending_record> find_record(const std::string& organization_id,
                                            const std::string& record_id) override {
    std::lock_guard lock(reader_mutex_);
    run row(read_->find_record);
    row.bind(1, organization_id).bind(2, record_id);
    if (!row.step()) return std::nullopt;
    return read_record(row);
  }

  inbox_stats stats() override {
    std::lock_guard lock(reader_mutex_);
    return query_stats(read_->stats);
  }

  bool has_notification(const std::string& organization_id,
                        const std::string& notification_id) override {
    std::lock_guard lock(reader_mutex_);
    run row(read_->has_notification);
    row.bind(1, organization_id).bind(2, notification_id);
    return row.step();
  }

  std::int64_t create_run(const std::string& trigger, bool dry_run, epoch_ms now) override {
    std::int64_t id = 0;
    run_write([&] {
      const auto owner = current_process();
      run(write_->insert_run)
          .bind(1, trigger)
          .bind(2, std::int64_t{dry_run ? 1 : 0})
          .bind(3, now)
          .bind(4, owner.pid)
          .bind(5, owner.instance)
          .execute();
      id = sqlite3_last_insert_rowid(writer_db_.handle());
    });
    return id;
  }

  void start_run(std::int64_t id, epoch_ms now) override {
    bool started = false;
    run_write([&] {
      const auto owner = current_process();
      run(write_->start_run)
          .bind(1, id)
          .bind(2, now)
          .bind(3, owner.pid)
          .bind(4, owner.instance)
          .execute();
      started = sqlite3_changes(writer_db_.handle()) != 0;
    });
    if (!started) {
      throw std::runtime_error("store: run " + std::to_string(id) +
                               " cannot start: it is unknown or no longer queued");
    }
  }

  // Not waited for: the newest counts of each run wait in progress_ for the writer, and
  // one queued job per run writes whatever is newest when its turn comes.
  void update_run_counts(std::int64_t id,
                         const std::map<std::string, std::int64_t>& counts) override {
    {
      std::lock_guard lock(progress_mutex_);
      auto& progress = progress_[id];
      progress.counts = counts;
      if (progress.write_queued) return;
      progress.write_queued = true;
    }
    // Refused while stopping: finish_run, or fail_interrupted_runs after restart, settles it.
    writer_.post([this, id] { write_progress(id); });
  }

  void finish_run(std::int64_t id, const std::string& status, epoch_ms now,
                  const std::map<std::string, std::int64_t>& counts, const std::string& message,
                  const std::string& plan_json) override {
    // Checked here: a bad status failing the CHECK constraint would roll back the whole
    // group commit, intake included.
    if (!is_finished_run_status(status)) {
      throw std::invalid_argument("store: \"" + status + "\" is not a status a run ends with");
    }
    const std::string counts_json = counts_to_json(counts);
    bool finished = false;
    run_write([&] {
      // Progress jobs queued before this one have run; a later one must not find counts.
      forget_progress(id);
      run(write_->finish_run)
          .bind(1, id)
          .bind(2, status)
          .bind(3, now)
          .bind(4, counts_json)
          .bind(5, message)
          .execute();
      finished = sqlite3_changes(writer_db_.handle()) != 0;
      if (!finished) return;
      if (!plan_json.empty()) run(write_->insert_run_plan).bind(1, id).bind(2, plan_json).execute();
      run(write_->prune_runs).bind(1, runs_kept_).execute();
      run(write_->prune_run_plans).bind(1, plans_kept_).execute();
    });
    if (!finished) {
      throw std::runtime_error("store: run " + std::to_string(id) +
                               " cannot finish: it is unknown or already finished");
    }
  }

  std::optional<run_record> find_run(std::int64_t id, bool with_plan) override {
    std::lock_guard lock(reader_mutex_);
    return run_read_->find(id, with_plan);
  }

  std::vector<run_record> list_runs(std::size_t limit, bool include_dry_runs) override {
    std::lock_guard lock(reader_mutex_);
    return run_read_->list(limit, include_dry_runs);
  }

  std::optional<run_record> last_sync() override {
    std::lock_guard lock(reader_mutex_);
    return run_read_->last();
  }

  std::optional<run_record> running_run() override {
    std::lock_guard lock(reader_mutex_);
    return run_read_->first_of_live_owner();
  }

  // Decided inside the write transaction, so no run starts or finishes between the look
  // and the update.
  std::size_t fail_interrupted_runs(epoch_ms now) override {
    std::size_t failed = 0;
    run_write([&] {
      std::vector<std::int64_t> orphans;
      {
        run rows(write_->select_unfinished_runs);
        while (rows.step()) {
          const auto stored = read_run(rows);
          if (!process_is_alive(stored.owner)) orphans.push_back(stored.record.id);
        }
      }
      for (const auto id : orphans) {
        run(write_->fail_run).bind(1, id).bind(2, now).bind(3, interrupted_run_message).execute();
      }
      failed = orphans.size();
    });
    return failed;
  }

  void record_history(std::vector<history_event> events) override {
    if (events.empty()) return;
    for (auto& e : events)
      if (!is_json_object(e.details_json)) e.details_json = "{}";
    writer_.post([this, events = std::move(events)] {
      for (const auto& e : events)
        insert_history(e.organization_id, e.record_id, e.time, e.kind.c_str(), e.details_json);
    });
  }

  std::vector<history_event> read_history(const std::string& organization_id,
                                          const std::string& record_id,
                                          std::size_t limit) override {
    std::lock_guard lock(reader_mutex_);
    return history_read_->history(organization_id, record_id, limit);
  }

  std::size_t prune_history(epoch_ms now, std::size_t max_rows) override {
    std::size_t removed = 0;
    run_write([&] {
      move_new_history(max_rows);
      removed = prune_history_locked(now, max_rows);
    });
    return removed;
  }

  std::size_t prune_expired(epoch_ms now, std::size_t max_rows) override {
    std::size_t removed = 0;
    run_write([&] { removed = prune_expired_locked(now, max_rows, true); });
    return removed;
  }

  std::vector<user_match> search_users(const user_query& query) override {
    std::lock_guard lock(reader_mutex_);
    return history_read_->users(query);
  }

  std::optional<std::pair<std::string, std::string>> find_linked_record(
      const std::string& ispring_user_id) override {
    std::lock_guard lock(reader_mutex_);
    return history_read_->linked_record(ispring_user_id);
  }

  std::size_t commits_so_far() const override { return writer_.commits(); }

 private:
  void insert_history(const std::string& organization_id, const std::string& record_id,
                      epoch_ms time, const char* kind, std::string_view details) {
    run(write_->insert_history)
        .bind(1, next_history_id_++)
        .bind(2, organization_id)
        .bind(3, record_id)
        .bind(4, time)
        .bind(5, std::string_view(kind))
        .bind(6, details)
        .execute();
    if (history_cap_ > 0) touched_.emplace(organization_id, record_id);
  }

  // After mark_done/mark_failed, in their transaction (right after the finishing UPDATE): the
  // lookup keys follow the record, and no row changed means a newer state arrived while the worker
  // applied this one (it stays pending and is applied next).
  void after_apply(const std::string& organization_id, const std::string& record_id,
                   std::int64_t version) {
    const bool superseded = sqlite3_changes(writer_db_.handle()) == 0;
    run(write_->upsert_keys).bind(1, organization_id).bind(2, record_id).execute();
    if (superseded) {
      insert_history(organization_id, record_id, time_.now(), history_kinds::superseded,
                     R"({"applied_version":)" + std::to_string(version) + "}");
    }
  }

  // Moves intake's staged rows into user_history, whole rows (one per group commit), until
  // about `max_events` events moved; returns how many events.
  std::size_t move_new_history(std::size_t max_events) {
    std::vector<history_event> events;
    std::optional<std::int64_t> last;
    {
      run rows(write_->select_new_history);
      rows.bind(1, as_limit(max_events));
      while (events.size() < max_events && rows.step()) {
        last = rows.int64(0);
        for (auto& e : staged_events(rows.int64(0), rows.text(1), rows.int64(2), rows.text(3)))
          events.push_back(std::move(e));
      }
    }
    if (!last) return 0;
    for (const auto& e : events) {
      run(write_->insert_history)
          .bind(1, e.id)
          .bind(2, e.organization_id)
          .bind(3, e.record_id)
          .bind(4, e.time)
          .bind(5, e.kind)
          .bind(6, e.details_json)
          .execute();
      if (history_cap_ > 0) touched_.emplace(e.organization_id, e.record_id);
    }
    run(write_->delete_new_history).bind(1, *last).execute();
    return std::max<std::size_t>(events.size(), 1);  // a row of events all unreadable: 1
  }

  // On the writer thread, inside a transaction.
  std::size_t prune_history_locked(epoch_ms now, std::size_t max_rows) {
    std::size_t removed = 0;
    if (history_retention_ms_ > 0) {
      run(write_->prune_old_history)
          .bind(1, now - history_retention_ms_)
          .bind(2, as_limit(max_rows))
          .execute();
      removed += static_cast<std::size_t>(sqlite3_changes(writer_db_.handle()));
    }
    // Users who gained events since the last look, a bounded number per step.
    constexpr std::size_t users_per_step = 200;
    for (std::size_t looked = 0; looked < users_per_step && removed < max_rows && !touched_.empty();
         ++looked) {
      const auto user = touched_.extract(touched_.begin()).value();
      run(write_->prune_user_history)
          .bind(1, user.first)
          .bind(2, user.second)
          .bind(3, history_cap_)
          .bind(4, as_limit(max_rows - removed))
          .execute();
      removed += static_cast<std::size_t>(sqlite3_changes(writer_db_.handle()));
    }
    return removed;
  }

  // On the writer thread, inside a transaction: at most `max_rows` notification ids past the
  // dedupe window, then, when due (or `force`), settled records past it and their keys.
  std::size_t prune_expired_locked(epoch_ms now, std::size_t max_rows, bool force) {
    if (notification_retention_ms_ <= 0) return 0;
    const epoch_ms cutoff = now - notification_retention_ms_;
    run(write_->prune_notifications).bind(1, cutoff).bind(2, as_limit(max_rows)).execute();
    auto removed = static_cast<std::size_t>(sqlite3_changes(writer_db_.handle()));
    const bool records_due = force || records_backlog_ || !last_records_prune_ ||
                             now - *last_records_prune_ >= records_prune_interval_ms_;
    if (records_due && removed < max_rows) {
      last_records_prune_ = now;
      const auto budget = max_rows - removed;
      run(write_->prune_settled_records).bind(1, cutoff).bind(2, as_limit(budget)).execute();
      const auto records = static_cast<std::size_t>(sqlite3_changes(writer_db_.handle()));
      records_backlog_ = records >= budget;
      if (records > 0) {
        run(write_->prune_orphan_keys).bind(1, as_limit(budget)).execute();
        removed += static_cast<std::size_t>(sqlite3_changes(writer_db_.handle()));
      }
      removed += records;
    }
    return removed;
  }

  // Events in one staged row (stage): the writer moves whole rows, so this bounds a busy step.
  static constexpr std::int64_t staged_row_events = 200;
  // Events moved per step, whole rows (so a step may take a little more): while idle, batch
  // after batch; while busy, a couple of hundred a second (a few hundred random index pages
  // at most; the rest waits for a quiet moment).
  static constexpr std::size_t history_move_batch = 5000;
  static constexpr std::size_t history_move_batch_busy = 200;

  // One small transaction of its own, after the acks, that moves intake's events into
  // user_history and prunes: a failure here never fails
  // intake, and intake waits at most for one batch. More to do keeps the writer at it while
  // it has nothing else to do.
  bool maintain(bool idle) override {
    std::size_t moved = 0, removed = 0;
    try {
      run(write_->begin).execute();
      moved = move_new_history(idle ? history_move_batch : history_move_batch_busy);
      removed = prune_history_locked(time_.now(), history_prune_batch_);
      removed += prune_expired_locked(time_.now(), history_prune_batch_, false);
      run(write_->commit).execute();
    } catch (const std::exception&) {
      // Disk full or I/O error: intake reports it; pruning tries again later.
      if (writer_db_.in_transaction()) {
        try {
          run(write_->rollback).execute();
        } catch (const sqlite_error&) {
        }
      }
      return false;
    }
    return moved >= (idle ? history_move_batch : history_move_batch_busy) ||
           removed >= history_prune_batch_ || !touched_.empty() || records_backlog_;
  }

  // Runs `apply` on the writer thread in its next transaction; returns once durable.
  void run_write(std::function<void()> apply) { writer_.run(std::move(apply)); }

  // What a batch adds to the persistent counters, written once per transaction.
  struct batch_totals {
    std::int64_t received = 0;
    std::int64_t duplicates = 0;
    std::optional<epoch_ms> last_received_at;
  };

  // group_commit_engine: the writer's transaction around a batch.
  void begin() override {
    run(write_->begin).execute();
    drop_staged();  // nothing of a batch that failed
    totals_ = {};
  }

  void before_commit() override {
    flush_staged();
    write_totals(totals_);
  }

  void commit() override { run(write_->commit).execute(); }

  void rollback() noexcept override {
    if (!writer_db_.in_transaction()) return;
    try {
      run(write_->rollback).execute();
    } catch (const sqlite_error&) {  // a failing ROLLBACK changes nothing we report
    }
  }

  // Under sustained intake the background checkpoint never catches up completely, and
  // SQLite reuses the WAL only then; so past a hard size the writer checkpoints itself,
  // between transactions and after the acks, which lets the next commit restart the WAL.
  void after_batch() override {
    if (wal_frames_.load(std::memory_order_relaxed) >= writer_checkpoint_frames) {
      sqlite3_wal_checkpoint_v2(writer_db_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                nullptr);
      wal_frames_.store(0, std::memory_order_relaxed);
    }
  }

  // SQLite calls this in the writer thread after every commit, with the WAL's size in pages.
  // Replacing the default hook turns off SQLite's own checkpoint-in-COMMIT.
  static int on_wal_commit(void* self, sqlite3*, const char*, int frames) {
    auto& inbox = *static_cast<sqlite_inbox*>(self);
    inbox.wal_frames_.store(frames, std::memory_order_relaxed);
    if (frames >= background_checkpoint_frames) {
      {
        std::lock_guard lock(inbox.checkpoint_mutex_);
        inbox.checkpoint_pending_ = true;
      }
      inbox.checkpoint_wanted_.notify_one();
    }
    return SQLITE_OK;
  }

  void checkpoint_loop() {
    for (;;) {
      {
        std::unique_lock lock(checkpoint_mutex_);
        checkpoint_wanted_.wait(lock,
                                [this] { return checkpoint_pending_ || checkpoint_stopping_; });
        if (checkpoint_stopping_) return;
        checkpoint_pending_ = false;
      }
      // PASSIVE never waits for the writer. A failure (I/O error) only leaves frames in the
      // WAL for the next try: durability comes from the WAL, not from checkpoints.
      sqlite3_wal_checkpoint_v2(checkpoint_db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                nullptr, nullptr);
    }
  }

  // Adds one event (details in intake_details_, still open) to the batch's row of this
  // organization's events.
  void stage(const std::string& organization_id, epoch_ms time, const std::string& record_id,
             const char* kind) {
    // Rows of at most staged_row_events: the writer moves whole rows while intake is busy.
    if (staged_count_ > 0 &&
        (organization_id != staged_organization_ || staged_count_ >= staged_row_events))
      flush_staged();
    if (staged_count_ == 0) {
      staged_organization_ = organization_id;
      staged_time_ = time;
    }
    staged_ += staged_count_++ == 0 ? R"([{"record_id":)" : R"(,{"record_id":)";
    append_json_string(staged_, record_id);
    staged_ += R"(,"time":)";
    staged_ += std::to_string(time);
    staged_ += R"(,"kind":")";
    staged_ += kind;
    staged_ += R"(","details":)";
    staged_ += intake_details_;
    staged_ += "}}";
  }

  // One row for the staged events (see user_history_new): one insert per group commit
  // (and organization), not per request.
  void flush_staged() {
    if (staged_count_ == 0) return;
    staged_ += ']';
    run(write_->insert_new_history)
        .bind(1, next_history_id_)
        .bind(2, staged_organization_)
        .bind(3, std::string_view(""))  // several users: see the events
        .bind(4, staged_time_)
        .bind(5, std::string_view("intake"))
        .bind(6, staged_)
        .execute();
    next_history_id_ += staged_count_;
    drop_staged();
  }

  void drop_staged() {
    staged_.clear();
    staged_count_ = 0;
  }

  void apply_intake(const intake_request& request, intake_outcome& outcome) override {
    batch_totals& totals = totals_;
    std::string& details = intake_details_;
    for (const incoming_change& change : request.changes) {
      // What the user's history tells about this notification, built by hand to keep the
      // writer lean (closed by the caller).
      const auto describe = [&] {
        details = R"({"source":)";
        append_json_string(details, request.source);
        if (!change.notification_id.empty()) {
          details += R"(,"notification_id":)";
          append_json_string(details, change.notification_id);
        }
        if (change.modstamp) details += R"(,"modstamp":)" + std::to_string(*change.modstamp);
      };
      // Salesforce retries unacked (and sometimes acked) messages: a known id is acked again
      // but not applied twice. An id-less change cannot be deduplicated, so it is applied.
      if (!change.notification_id.empty()) {
        run(write_->insert_notification)
            .bind(1, request.organization_id)
            .bind(2, change.notification_id)
            .bind(3, change.record_id)
            .bind(4, request.source)
            .bind(5, request.received_at)
            .execute();
        if (sqlite3_changes(writer_db_.handle()) == 0) {
          ++outcome.duplicates;
          if (!change.record_id.empty()) {
            describe();
            stage(request.organization_id, request.received_at, change.record_id,
                  history_kinds::duplicate);
          }
          continue;
        }
      }
      ++outcome.stored;
      if (change.record_id.empty()) continue;  // nothing to sync, only the id to remember
      // A change older than the state held updates nothing (stale).
      if (change.has_data) {
        run(write_->upsert_record)
            .bind(1, request.organization_id)
            .bind(2, change.record_id)
            .bind(3, change.object_type)
            .bind(4, change.fields_json)
            .bind(5, change.modstamp)
            .bind(6, request.received_at)
            .execute();
      } else {
        run(write_->upsert_dataless_record)
            .bind(1, request.organization_id)
            .bind(2, change.record_id)
            .bind(3, change.object_type)
            .bind(4, request.received_at)
            .bind(5, std::int64_t{change.reread ? 1 : 0})
            .execute();
      }
      const bool upserted = sqlite3_changes(writer_db_.handle()) > 0;
      bool read_again = false;
      if (!upserted && requeue_stale_while_waiting_) {
        run(write_->requeue_stale)
            .bind(1, request.organization_id)
            .bind(2, change.record_id)
            .bind(3, request.received_at)
            .execute();
        read_again = sqlite3_changes(writer_db_.handle()) > 0;
      }
      describe();
      if (change.reread) details += R"(,"reread":true)";
      else if (!change.has_data) details += R"(,"no_data":true)";
      if (read_again) details += R"(,"read_again":true)";
      stage(request.organization_id, request.received_at, change.record_id,
            upserted ? history_kinds::received : history_kinds::stale);
    }
    totals.received += static_cast<std::int64_t>(outcome.stored);
    totals.duplicates += static_cast<std::int64_t>(outcome.duplicates);
    totals.last_received_at =
        std::max(totals.last_received_at.value_or(request.received_at), request.received_at);
  }

  // A run's newest progress counts (update_run_counts), on the writer thread.
  void write_progress(std::int64_t run_id) {
    std::string counts_json;
    {
      std::lock_guard lock(progress_mutex_);
      const auto progress = progress_.find(run_id);
      if (progress == progress_.end()) return;  // finished meanwhile
      counts_json = counts_to_json(progress->second.counts);
      // Newer counts from here on need a job of their own.
      progress->second.write_queued = false;
    }
    run(write_->update_run_counts).bind(1, run_id).bind(2, counts_json).execute();
    if (sqlite3_changes(writer_db_.handle()) == 0) {
      // Unknown or finished (by another process, or after finish_run): nothing to keep.
      std::lock_guard lock(progress_mutex_);
      const auto progress = progress_.find(run_id);
      if (progress != progress_.end() && !progress->second.write_queued) progress_.erase(progress);
    }
  }

  void forget_progress(std::int64_t id) {
    std::lock_guard lock(progress_mutex_);
    progress_.erase(id);
  }

  void write_totals(const batch_totals& totals) {
    if (totals.received != 0) {
      run(write_->add_counter).bind(1, "notifications_received").bind(2, totals.received).execute();
    }
    if (totals.duplicates != 0) {
      run(write_->add_counter).bind(1, "duplicates_ignored").bind(2, totals.duplicates).execute();
    }
    if (totals.last_received_at) {
      run(write_->raise_last_received).bind(1, *totals.last_received_at).execute();
    }
  }

  const std::int64_t runs_kept_;
  const std::int64_t plans_kept_;
  const std::int64_t history_retention_ms_;
  const std::int64_t history_cap_;
  const std::chrono::milliseconds history_prune_interval_;
  const std::size_t history_prune_batch_;
  const std::int64_t notification_retention_ms_;
  const std::int64_t records_prune_interval_ms_;
  const bool requeue_stale_while_waiting_;
  const system_clock own_clock_;
  const connector::clock& time_;

  // Writer side: used by the writer thread only, once the constructor has started it.
  sqlite_connection writer_db_;
  group_commit writer_;
  std::unique_ptr<write_statements> write_;
  std::unique_ptr<department_link_writes> department_writes_;

  // Reader side: take_due, find_record, stats, has_notification from any thread.
  std::mutex reader_mutex_;
  std::unique_ptr<sqlite_connection> reader_db_;
  std::unique_ptr<read_statements> read_;
  std::unique_ptr<run_read_statements> run_read_;
  std::unique_ptr<history_read_statements> history_read_;
  std::unique_ptr<department_link_reads> department_read_;

  // The newest progress counts per run, until the writer takes them (update_run_counts).
  struct run_progress {
    std::map<std::string, std::int64_t> counts;
    bool write_queued = false;
  };
  std::mutex progress_mutex_;
  std::map<std::int64_t, run_progress> progress_;


  // Writer thread only: users whose history grew since pruning last looked at them (only
  // with a per-user cap), and when it last ran.
  std::set<std::pair<std::string, std::string>> touched_;
  std::string intake_details_;  // reused for each notification's history details
  std::string staged_;          // the batch's intake events (stage), as a JSON array
  std::int64_t staged_count_ = 0;
  std::string staged_organization_;
  epoch_ms staged_time_ = 0;
  std::int64_t next_history_id_ = 1;  // one sequence for user_history and user_history_new
  batch_totals totals_;
  // When settled records were last looked for (the store's clock), and whether that look
  // left more behind.
  std::optional<epoch_ms> last_records_prune_;
  bool records_backlog_ = false;

  // WAL pages (4 KiB) after which the checkpoint thread copies them back (SQLite's default
  // auto-checkpoint size), and after which the writer does it itself.
  static constexpr int background_checkpoint_frames = 1000;
  static constexpr int writer_checkpoint_frames = 16000;
  std::unique_ptr<sqlite_connection> checkpoint_db_;
  std::atomic<int> wal_frames_{0};
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wanted_;
  bool checkpoint_pending_ = false;
  bool checkpoint_stopping_ = false;

  std::thread checkpointer_;
};

}  // namespace

std::unique_ptr<inbox> open_sqlite_inbox(const sqlite_options& options) {
  try {
    return std::make_unique<sqlite_inbox>(options);
  } catch (const sqlite_error& e) {
    // Per-batch errors leave the path out (they reach Salesforce in faults); here the
    // operator needs it.
    throw std::runtime_error("store: cannot open " + options.path + ": " + e.what());
  }
}

namespace {

// Opens `path` read-only for one query; what the operator sees when that is impossible
// names the file.
template <class Query>
auto read_only(const std::string& path, Query query) {
  // Checked first: SQLite's "unable to open database file" does not say the file is missing.
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw std::runtime_error("store: no database at " + path +
                             " (wrong store.sqlite_path, or the service never ran)");
  }
  try {
    sqlite_connection db(path, SQLITE_OPEN_READONLY);
    sqlite3_busy_timeout(db.handle(), 5000);
    check_readable(db);
    return query(db);
  } catch (const sqlite_error& e) {
    throw std::runtime_error("store: cannot read " + path + ": " + e.what());
  }
}

}  // namespace

inbox_stats read_sqlite_stats(const std::string& path) {
  return read_only(path, [](sqlite_connection& db) {
    sqlite_statement statement(db, stats_sql, "select stats");
    return query_stats(statement);
  });
}

std::vector<pending_record> read_sqlite_records(const std::string& path, record_state state,
                                                std::size_t limit) {
  return read_only(path, [&](sqlite_connection& db) {
    read_statements statements(db);
    std::vector<pending_record> records;
    run rows(statements.list_records);
    rows.bind(1, std::string_view(to_string(state))).bind(2, as_limit(limit));
    while (rows.step()) records.push_back(read_record(rows));
    return records;
  });
}

namespace {

// A service older than run history may still be the one writing the file: then there are
// no runs to show, which is no error.
template <class Query>
auto read_runs(const std::string& path, Query query) {
  return read_only(path, [&](sqlite_connection& db) {
    using result = decltype(query(std::declval<run_read_statements&>()));
    if (db.query_int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'runs'",
                     "look for run history") == 0) {
      return result{};
    }
    run_read_statements statements(db);
    return query(statements);
  });
}

}  // namespace

std::vector<run_record> read_sqlite_runs(const std::string& path, std::size_t limit) {
  return read_runs(path, [&](run_read_statements& runs) { return runs.list(limit, true); });
}

std::optional<run_record> read_sqlite_run(const std::string& path, std::int64_t id,
                                          bool with_plan) {
  return read_runs(path, [&](run_read_statements& runs) { return runs.find(id, with_plan); });
}

std::optional<run_record> read_sqlite_last_sync(const std::string& path) {
  return read_runs(path, [](run_read_statements& runs) { return runs.last(); });
}

namespace {

// Like read_runs: a service older than the history may still be the one writing the file.
template <class Query>
auto read_history_tables(const std::string& path, Query query) {
  return read_only(path, [&](sqlite_connection& db) {
    using result = decltype(query(std::declval<history_read_statements&>()));
    if (db.query_int(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'user_history'",
            "look for user history") == 0) {
      return result{};
    }
    history_read_statements statements(db);
    return query(statements);
  });
}

}  // namespace

std::vector<history_event> read_sqlite_history(const std::string& path,
                                               const std::string& organization_id,
                                               const std::string& record_id, std::size_t limit) {
  return read_history_tables(path, [&](history_read_statements& history) {
    return history.history(organization_id, record_id, limit);
  });
}

std::vector<user_match> read_sqlite_users(const std::string& path, const user_query& query) {
  return read_history_tables(
      path, [&](history_read_statements& history) { return history.users(query); });
}

std::optional<pending_record> read_sqlite_record(const std::string& path,
                                                 const std::string& organization_id,
                                                 const std::string& record_id) {
  return read_only(path, [&](sqlite_connection& db) -> std::optional<pending_record> {
    read_statements statements(db);
    run row(statements.find_record);
    row.bind(1, organization_id).bind(2, record_id);
    if (!row.step()) return std::nullopt;
    return read_record(row);
  });
}

std::optional<std::string> read_sqlite_link(const std::string& path,
                                            const std::string& organization_id,
                                            const std::string& record_id) {
  return read_only(path, [&](sqlite_connection& db) -> std::optional<std::string> {
    read_statements statements(db);
    run row(statements.find_link);
    row.bind(1, organization_id).bind(2, record_id);
    if (!row.step()) return std::nullopt;
    return row.text(0);
  });
}

std::optional<std::pair<std::string, std::string>> read_sqlite_linked_record(
    const std::string& path, const std::string& ispring_user_id) {
  return read_history_tables(path, [&](history_read_statements& history) {
    return history.linked_record(ispring_user_id);
  });
}

std::optional<department_link> read_sqlite_department_link(const std::string& path,
                                                           const std::string& organization_id,
                                                           const std::string& key) {
  return read_only(path, [&](sqlite_connection& db) -> std::optional<department_link> {
    // A service older than department links may still be the one writing the file.
    if (db.query_int("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = "
                     "'department_links'",
                     "look for department links") == 0)
      return std::nullopt;
    department_link_reads statements(db);
    return statements.find(organization_id, key);
  });
}

}  // namespace connector::store
