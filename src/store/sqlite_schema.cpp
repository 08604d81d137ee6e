#include "sqlite_schema.hpp"

#include <array>
#include <stdexcept>
#include <string>

namespace connector::store {
namespace {

// Append-only: a released step is never edited, a change is a new step. Step i (0-based)
// takes the schema from version i to i + 1.
constexpr std::array<const char*, 13> migrations = {
    // 1: the durable inbox.
    R"sql(
-- Every notification id seen, so redeliveries are acked without being applied twice.
CREATE TABLE notifications (
  organization_id TEXT NOT NULL,
  notification_id TEXT NOT NULL,
  record_id       TEXT NOT NULL,
  source          TEXT NOT NULL,
  received_at     INTEGER NOT NULL,
  PRIMARY KEY (organization_id, notification_id)
) WITHOUT ROWID;

-- The newest known state of each Salesforce record and its place in the sync queue.
-- version grows with every newer state, so the worker can finish an older one safely.
CREATE TABLE records (
  organization_id TEXT NOT NULL,
  record_id       TEXT NOT NULL,
  object_type     TEXT NOT NULL,
  fields_json     TEXT NOT NULL,
  modstamp        INTEGER,
  version         INTEGER NOT NULL,
  -- ORs, not IN: SQLite evaluates a CHECK's IN list through a temporary table on every
  -- write, which costs more than the rest of the upsert.
  state           TEXT NOT NULL
                  CHECK (state = 'pending' OR state = 'retrying' OR state = 'done' OR state = 'dead'),
  attempts        INTEGER NOT NULL,
  last_error      TEXT NOT NULL,
  due_at          INTEGER NOT NULL,
  PRIMARY KEY (organization_id, record_id)
) WITHOUT ROWID;

-- The worker's queue in due order. Partial, so the many done records cost nothing here.
CREATE INDEX records_due ON records (due_at, state) WHERE state IN ('pending', 'retrying');
CREATE INDEX records_dead ON records (state) WHERE state = 'dead';

-- Totals kept across restarts: notifications_received, duplicates_ignored, last_received_at.
CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 2: links to iSpring users, and what the worker last did with each record.
    R"sql(
CREATE TABLE links (
  organization_id TEXT NOT NULL,
  record_id       TEXT NOT NULL,
  ispring_user_id TEXT NOT NULL,
  linked_at       INTEGER NOT NULL,
  PRIMARY KEY (organization_id, record_id)
) WITHOUT ROWID;
CREATE INDEX links_by_ispring_user ON links (ispring_user_id);

ALTER TABLE records ADD COLUMN last_outcome TEXT NOT NULL DEFAULT '';
)sql",
    // 3: run history of the full reconciliation.
    R"sql(
-- AUTOINCREMENT: an id an operator was given (GET /admin/runs/{id}) never names another
-- run, even after pruning. Pruning keeps the table small, so it needs no other index.
CREATE TABLE runs (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  triggered_by   TEXT NOT NULL,
  dry_run        INTEGER NOT NULL,
  status         TEXT NOT NULL
                 CHECK (status = 'queued' OR status = 'running' OR status = 'succeeded'
                        OR status = 'failed' OR status = 'expired' OR status = 'stopped'
                        OR status = 'stopped_by_safety_limit'),
  queued_at      INTEGER NOT NULL,
  started_at     INTEGER,
  ended_at       INTEGER,
  counts_json    TEXT NOT NULL DEFAULT '{}',
  message        TEXT NOT NULL DEFAULT '',
  -- The owning process: its pid and a marker of that process's start (boot id and start
  -- time), so a reused pid is not mistaken for the owner.
  owner_pid      INTEGER NOT NULL,
  owner_instance TEXT NOT NULL
);

-- Dry-run plans apart from the runs, so listing runs never reads megabytes of plan.
CREATE TABLE run_plans (
  run_id    INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
  plan_json TEXT NOT NULL
);
)sql",
    // 4: since when a record has waited for the worker (pending or retrying), so the age of
    // the oldest waiting change can be told (metrics, alerts) however often it was retried.
    R"sql(
ALTER TABLE records ADD COLUMN waiting_since INTEGER;
UPDATE records SET waiting_since = due_at WHERE state IN ('pending', 'retrying');
)sql",
    // 5: Salesforce could not send a record's data (a GAP change event): the worker reads the
    // record over REST before applying it.
    R"sql(
ALTER TABLE records ADD COLUMN needs_reread INTEGER NOT NULL DEFAULT 0;
)sql",
    // 6: each Salesforce user's history (`connector explain`), and the keys to find a user by.
    R"sql(
-- A rowid table: rows are appended in time order, so pruning by age deletes from the
-- front; the index serves one user's timeline, newest first (the rowid breaks ties).
CREATE TABLE user_history (
  id              INTEGER PRIMARY KEY,
  organization_id TEXT NOT NULL,
  record_id       TEXT NOT NULL,
  time            INTEGER NOT NULL,
  kind            TEXT NOT NULL,
  details         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX user_history_by_user ON user_history (organization_id, record_id, time);

-- Intake's events land here first, one row per group commit and organization (details: a
-- JSON array of events, each with its record_id, time, kind and details; the events' ids are
-- id, id + 1, …): one append per commit costs intake little, where the index above would
-- cost a random page per notification. The writer moves them into user_history off the hot path (when idle,
-- else a few rows a second); both tables share one id sequence, so order is kept.
CREATE TABLE user_history_new (
  id              INTEGER PRIMARY KEY,
  organization_id TEXT NOT NULL,
  record_id       TEXT NOT NULL,
  time            INTEGER NOT NULL,
  kind            TEXT NOT NULL,
  details         TEXT NOT NULL DEFAULT '{}'
);

-- The mapping's login and e-mail of each user the worker applied, lower-cased, to find a user
-- among 100k by them; written only when they change, off intake's path.
CREATE TABLE user_keys (
  organization_id TEXT NOT NULL,
  record_id       TEXT NOT NULL,
  login_key       TEXT NOT NULL,
  email_key       TEXT NOT NULL,
  login           TEXT NOT NULL,
  email           TEXT NOT NULL,
  PRIMARY KEY (organization_id, record_id)
) WITHOUT ROWID;
CREATE INDEX user_keys_by_login ON user_keys (login_key);
CREATE INDEX user_keys_by_email ON user_keys (email_key);
)sql",
    // 7: a bounded store. Notification ids are kept for a dedupe window
    // (store.notification_retention_hours), pruned oldest first through this index: its
    // entries are appended at the right edge (arrival order), so intake pays little for it.
    R"sql(
CREATE INDEX notifications_by_time ON notifications (received_at);
)sql",
    // 8: departments the connector owns (created, or adopted by name) per Salesforce
    // department key, with the name it last gave each: renames and deletions touch only these.
    R"sql(
-- NOCASE: keys compare ignoring case, as iSpring compares department names.
CREATE TABLE department_links (
  organization_id       TEXT NOT NULL,
  department_key        TEXT NOT NULL COLLATE NOCASE,
  ispring_department_id TEXT NOT NULL,
  ispring_name          TEXT NOT NULL,
  linked_at             INTEGER NOT NULL,
  PRIMARY KEY (organization_id, department_key)
) WITHOUT ROWID;
)sql",
    // 9: the worker's safety limit (sync.max_deactivations_per_hour): a record whose
    // deactivation or deletion it keeps back is 'held', and what the worker retired is kept
    // so the hour survives a restart.
    //
    // SQLite cannot alter a CHECK constraint, so records is rebuilt with 'held' in it rather
    // than given a "held" column: a state of its own keeps every query on state (the queue,
    // its partial index, the counts) right without knowing about holding. The rebuild copies
    // the columns by name; a column added to records by another step must be added here too.
    R"sql(
CREATE TABLE records_rebuilt (
  organization_id TEXT NOT NULL,
  record_id       TEXT NOT NULL,
  object_type     TEXT NOT NULL,
  fields_json     TEXT NOT NULL,
  modstamp        INTEGER,
  version         INTEGER NOT NULL,
  state           TEXT NOT NULL
                  CHECK (state = 'pending' OR state = 'retrying' OR state = 'done' OR state = 'dead'
                         OR state = 'held'),
  attempts        INTEGER NOT NULL,
  last_error      TEXT NOT NULL,
  due_at          INTEGER NOT NULL,
  last_outcome    TEXT NOT NULL DEFAULT '',
  waiting_since   INTEGER,
  needs_reread    INTEGER NOT NULL DEFAULT 0,
  -- The version the operator released from the safety limit: that state is applied even
  -- over the cap; a newer version is not (it is a new change, judged afresh).
  released_version INTEGER,
  PRIMARY KEY (organization_id, record_id)
) WITHOUT ROWID;
INSERT INTO records_rebuilt (organization_id, record_id, object_type, fields_json, modstamp,
                             version, state, attempts, last_error, due_at, last_outcome,
                             waiting_since, needs_reread)
SELECT organization_id, record_id, object_type, fields_json, modstamp, version, state,
       attempts, last_error, due_at, last_outcome, waiting_since, needs_reread
FROM records;
DROP TABLE records;
ALTER TABLE records_rebuilt RENAME TO records;
CREATE INDEX records_due ON records (due_at, state) WHERE state IN ('pending', 'retrying');
CREATE INDEX records_dead ON records (state) WHERE state = 'dead';
CREATE INDEX records_held ON records (state) WHERE state = 'held';

-- Deactivations and deletions the worker made, pruned beyond a few hours as it adds.
CREATE TABLE worker_retirements (
  organization_id TEXT NOT NULL,
  record_id       TEXT NOT NULL,
  time            INTEGER NOT NULL
);
CREATE INDEX worker_retirements_by_time ON worker_retirements (organization_id, time);
)sql",
    // 10: group additions wait for their group (group_queue.hpp), which one owner at a time
    // claims with a lease.
    R"sql(
CREATE TABLE group_additions (
  id              INTEGER PRIMARY KEY,  -- the queue's order: a batch removes up to its last
  group_id        TEXT NOT NULL,
  group_name      TEXT NOT NULL,
  ispring_user_id TEXT NOT NULL,
  organization_id TEXT NOT NULL,
  record_id       TEXT NOT NULL,
  queued_at       INTEGER NOT NULL
);
CREATE INDEX group_additions_by_group ON group_additions (group_id, id);
CREATE INDEX group_additions_by_user ON group_additions (group_id, ispring_user_id);

-- One row per group ever drained: who holds it until when, and its back-off after failures.
CREATE TABLE group_claims (
  group_id    TEXT PRIMARY KEY,
  owner       TEXT NOT NULL DEFAULT '',  -- '': nobody
  lease_until INTEGER NOT NULL DEFAULT 0,
  due_at      INTEGER NOT NULL DEFAULT 0,
  attempts    INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
)sql",
    // 11: several instances (cluster.hpp). Instances and their heartbeats; leases held while
    // the holder lives (one reconciliation at a time); the schedule's claimed due times; and
    // the claim on a record an instance's worker took (claimed_by until lease_until).
    R"sql(
CREATE TABLE instances (
  id         TEXT PRIMARY KEY,
  host       TEXT NOT NULL,
  pid        INTEGER NOT NULL,
  role       TEXT NOT NULL,
  version    TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL
);
CREATE TABLE leases (
  name     TEXT PRIMARY KEY,
  holder   TEXT NOT NULL,
  taken_at INTEGER NOT NULL
);
CREATE TABLE schedule_slots (
  name       TEXT PRIMARY KEY,
  due_at     INTEGER NOT NULL,
  claimed_by TEXT NOT NULL,
  claimed_at INTEGER NOT NULL
);
ALTER TABLE records ADD COLUMN claimed_by TEXT;
ALTER TABLE records ADD COLUMN lease_until INTEGER;
)sql",
    // 12: settings edited in the page (settings_log.hpp): numbered revisions of the whole
    // set, who saved each, when, and the sections it changed.
    R"sql(
CREATE TABLE settings_revisions (
  revision      INTEGER PRIMARY KEY,
  saved_at      INTEGER NOT NULL,
  saved_by      TEXT NOT NULL,
  sections      TEXT NOT NULL,  -- changed sections, joined by ','
  settings_json TEXT NOT NULL
);
)sql",
    // 13: the iSpring organization the links belong to (organization_binding.hpp): one row,
    // its identity (api_url and client_id, or the legacy account_url; never a secret).
    R"sql(
CREATE TABLE organization_binding (
  name     TEXT PRIMARY KEY,  -- 'ispring'
  identity TEXT NOT NULL,
  bound_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
};

[[noreturn]] void throw_newer_schema(const std::string& path, std::int64_t found) {
  throw std::runtime_error("store: " + path + " has schema version " + std::to_string(found) +
                           " but this connector knows versions up to " +
                           std::to_string(migrations.size()) +
                           ": it was written by a newer connector; run that one (or restore a "
                           "backup) instead of downgrading");
}

}  // namespace

std::int64_t latest_schema_version() {
  return static_cast<std::int64_t>(migrations.size());
}

void prepare_for_writing(sqlite_connection& connection, int busy_timeout_ms) {
  sqlite3_busy_timeout(connection.handle(), busy_timeout_ms);
  // WAL: readers (status, the worker) never block the writer, and a commit is one append
  // plus one fsync. synchronous=FULL makes that fsync happen before COMMIT returns, which
  // is what lets us acknowledge to Salesforce.
  const std::string mode = connection.query_text("PRAGMA journal_mode = WAL", "set WAL mode");
  if (mode != "wal") {
    throw std::runtime_error("store: " + connection.path() +
                             " cannot use write-ahead logging (journal_mode is " + mode + ")");
  }
  connection.exec(
      "PRAGMA synchronous = FULL;"
      "PRAGMA foreign_keys = ON;"
      // The records and notifications B-trees are hit at random keys: a larger page
      // cache keeps their inner pages in memory (32 MiB, writer connection only).
      "PRAGMA cache_size = -32768;"
      // A burst can grow the WAL; once it restarts, give the disk space back beyond 64 MiB.
      "PRAGMA journal_size_limit = 67108864;",
      "set connection pragmas");

  connection.exec("BEGIN IMMEDIATE", "begin migration");
  try {
    const std::int64_t current = connection.query_int("PRAGMA user_version", "read schema version");
    if (current > latest_schema_version()) throw_newer_schema(connection.path(), current);
    for (auto step = current; step < latest_schema_version(); ++step) {
      connection.exec(migrations[static_cast<std::size_t>(step)],
                      "migrate schema to version " + std::to_string(step + 1));
    }
    if (current != latest_schema_version()) {
      connection.exec("PRAGMA user_version = " + std::to_string(latest_schema_version()),
                      "record schema version");
    }
    connection.exec("COMMIT", "commit migration");
  } catch (...) {
    if (connection.in_transaction())
      sqlite3_exec(connection.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void check_readable(sqlite_connection& connection) {
  const std::int64_t current = connection.query_int("PRAGMA user_version", "read schema version");
  if (current == 0) {
    throw std::runtime_error("store: " + connection.path() +
                             " holds no connector data (schema version 0); run `connector serve` "
                             "once to create it");
  }
  if (current > latest_schema_version()) throw_newer_schema(connection.path(), current);
}

}  // namespace connector::store
