#include "postgres_schema.hpp"

#include <array>
#include <stdexcept>
#include <string>

namespace connector::store {
namespace {

// Append-only: a released step is never edited, a change is a new step. Step i (0-based)
// takes the schema from version i to i + 1. Times are milliseconds since the epoch (BIGINT),
// as on SQLite, so both engines share every computation on them. Keys that are compared or
// ordered as bytes on SQLite (ids, the look-up keys) use COLLATE "C" here, whatever the
// database's locale.
constexpr std::array<const char*, 5> migrations = {
    // 1: everything the SQLite store holds at its version 9.
    R"sql(
-- Every notification id seen, so redeliveries are acked without being applied twice; pruned
-- oldest first after the dedupe window (store.notification_retention_hours).
CREATE TABLE notifications (
  organization_id TEXT NOT NULL,
  notification_id TEXT NOT NULL,
  record_id       TEXT NOT NULL,
  source          TEXT NOT NULL,
  received_at     BIGINT NOT NULL,
  PRIMARY KEY (organization_id, notification_id)
);
CREATE INDEX notifications_by_time ON notifications (received_at);

-- The newest known state of each Salesforce record and its place in the sync queue.
-- version grows with every newer state, so the worker can finish an older one safely.
-- claimed_by and lease_until are for several instances: an instance claims due records
-- (UPDATE … WHERE (organization_id, record_id) IN (SELECT … FOR UPDATE SKIP LOCKED)) for a
-- lease, and a record whose lease ran out is due to any instance again. Unused (NULL) until
-- then.
CREATE TABLE records (
  organization_id  TEXT COLLATE "C" NOT NULL,
  record_id        TEXT COLLATE "C" NOT NULL,
  object_type      TEXT NOT NULL,
  fields_json      TEXT NOT NULL,
  modstamp         BIGINT,
  version          BIGINT NOT NULL,
  state            TEXT NOT NULL
                   CHECK (state IN ('pending', 'retrying', 'done', 'dead', 'held')),
  attempts         INTEGER NOT NULL,
  last_error       TEXT NOT NULL,
  due_at           BIGINT NOT NULL,
  last_outcome     TEXT NOT NULL DEFAULT '',
  waiting_since    BIGINT,
  needs_reread     BOOLEAN NOT NULL DEFAULT false,
  -- The version the operator released from the safety limit (release_held).
  released_version BIGINT,
  claimed_by       TEXT,
  lease_until      BIGINT,
  PRIMARY KEY (organization_id, record_id)
);
-- The worker's queue in due order; partial, so the many done records cost nothing here.
CREATE INDEX records_due ON records (due_at) WHERE state IN ('pending', 'retrying');
CREATE INDEX records_dead ON records (due_at) WHERE state = 'dead';
CREATE INDEX records_held ON records (due_at) WHERE state = 'held';

-- Totals kept across restarts: notifications_received, duplicates_ignored, last_received_at.
CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);

CREATE TABLE links (
  organization_id TEXT COLLATE "C" NOT NULL,
  record_id       TEXT COLLATE "C" NOT NULL,
  ispring_user_id TEXT NOT NULL,
  linked_at       BIGINT NOT NULL,
  PRIMARY KEY (organization_id, record_id)
);
CREATE INDEX links_by_ispring_user ON links (ispring_user_id);

-- Departments the connector owns, per Salesforce department key; keys compare ignoring
-- (ASCII) case, as SQLite's NOCASE does and iSpring compares names.
CREATE TABLE department_links (
  organization_id       TEXT NOT NULL,
  department_key        TEXT NOT NULL,
  ispring_department_id TEXT NOT NULL,
  ispring_name          TEXT NOT NULL,
  linked_at             BIGINT NOT NULL
);
CREATE UNIQUE INDEX department_links_by_key
  ON department_links (organization_id, lower(department_key COLLATE "C"));

-- Run history of the full reconciliation. An identity: an id an operator was given is never
-- reused, even after pruning.
CREATE TABLE runs (
  id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  triggered_by   TEXT NOT NULL,
  dry_run        BOOLEAN NOT NULL,
  status         TEXT NOT NULL
                 CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'expired',
                                   'stopped', 'stopped_by_safety_limit')),
  queued_at      BIGINT NOT NULL,
  started_at     BIGINT,
  ended_at       BIGINT,
  counts_json    TEXT NOT NULL DEFAULT '{}',
  message        TEXT NOT NULL DEFAULT '',
  owner_pid      BIGINT NOT NULL,
  owner_instance TEXT NOT NULL
);
CREATE TABLE run_plans (
  run_id    BIGINT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
  plan_json TEXT NOT NULL
);

-- Each user's history. Intake's events are inserted a batch at a time (one statement per
-- group commit), so unlike SQLite no staging table is needed. ids come from one sequence
-- and order events of the same millisecond; the BRIN index serves pruning by age and the
-- admin page's chart at a few pages' cost, as rows are appended in time order.
CREATE TABLE user_history (
  id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  organization_id TEXT COLLATE "C" NOT NULL,
  record_id       TEXT COLLATE "C" NOT NULL,
  time            BIGINT NOT NULL,
  kind            TEXT NOT NULL,
  details         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX user_history_by_user ON user_history (organization_id, record_id, time);
CREATE INDEX user_history_by_time ON user_history USING brin (time);

-- The mapping's login and e-mail of each user the worker applied, lower-cased, to find a user
-- among 100k by them; written only when they change, off intake's path.
CREATE TABLE user_keys (
  organization_id TEXT COLLATE "C" NOT NULL,
  record_id       TEXT COLLATE "C" NOT NULL,
  login_key       TEXT COLLATE "C" NOT NULL,
  email_key       TEXT COLLATE "C" NOT NULL,
  login           TEXT NOT NULL,
  email           TEXT NOT NULL,
  PRIMARY KEY (organization_id, record_id)
);
CREATE INDEX user_keys_by_login ON user_keys (login_key);
CREATE INDEX user_keys_by_email ON user_keys (email_key);

-- Deactivations and deletions the worker made (the safety limit's hour survives a restart).
CREATE TABLE worker_retirements (
  organization_id TEXT NOT NULL,
  record_id       TEXT NOT NULL,
  time            BIGINT NOT NULL
);
CREATE INDEX worker_retirements_by_time ON worker_retirements (organization_id, time);
)sql",
    // 2: several instances (cluster.hpp). Instances and their heartbeats; leases held while
    // the holder lives (one reconciliation at a time); the schedule's claimed due times.
    R"sql(
CREATE TABLE instances (
  id         TEXT PRIMARY KEY,
  host       TEXT NOT NULL,
  pid        BIGINT NOT NULL,
  role       TEXT NOT NULL,
  version    TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  last_seen  BIGINT NOT NULL
);
CREATE TABLE leases (
  name     TEXT PRIMARY KEY,
  holder   TEXT NOT NULL,
  taken_at BIGINT NOT NULL
);
CREATE TABLE schedule_slots (
  name       TEXT PRIMARY KEY,
  due_at     BIGINT NOT NULL,
  claimed_by TEXT NOT NULL,
  claimed_at BIGINT NOT NULL
);
)sql",
    // 3: group additions wait for their group (group_queue.hpp), which one owner at a time
    // across every instance claims with a lease. Unlike SQLite's, a group has its claims row
    // from its first addition on, so a claim locks an existing row (FOR UPDATE SKIP LOCKED),
    // and an addition read into a claim is marked with its claimant (claimed_by): ids come
    // from a sequence and commit out of order across instances, so "up to id N" alone could
    // remove an addition that committed after the claim read the queue.
    R"sql(
CREATE TABLE group_additions (
  id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  group_id        TEXT COLLATE "C" NOT NULL,
  group_name      TEXT NOT NULL,
  ispring_user_id TEXT COLLATE "C" NOT NULL,
  organization_id TEXT NOT NULL,
  record_id       TEXT NOT NULL,
  queued_at       BIGINT NOT NULL,
  claimed_by      TEXT
);
CREATE INDEX group_additions_by_group ON group_additions (group_id, id);
-- A user waits for a group once, also when two instances queue them at the same moment.
CREATE UNIQUE INDEX group_additions_by_user ON group_additions (group_id, ispring_user_id);

CREATE TABLE group_claims (
  group_id    TEXT COLLATE "C" PRIMARY KEY,
  owner       TEXT NOT NULL DEFAULT '',  -- '': nobody
  lease_until BIGINT NOT NULL DEFAULT 0,
  due_at      BIGINT NOT NULL DEFAULT 0,
  attempts    INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT NOT NULL DEFAULT ''
);
)sql",
    // 4: settings edited in the page (settings_log.hpp), as on SQLite's step 12.
    R"sql(
CREATE TABLE settings_revisions (
  revision      BIGINT PRIMARY KEY,
  saved_at      BIGINT NOT NULL,
  saved_by      TEXT NOT NULL,
  sections      TEXT NOT NULL,
  settings_json TEXT NOT NULL
);
)sql",
    // 5: the iSpring organization the links belong to, as on SQLite's step 13.
    R"sql(
CREATE TABLE organization_binding (
  name     TEXT PRIMARY KEY,
  identity TEXT NOT NULL,
  bound_at BIGINT NOT NULL
);
)sql",
};

// Any 64-bit number of our own: instances starting together take turns on it.
constexpr std::int64_t migration_lock = 0x636f6e6e6d696772;  // "connmigr"

constexpr const char* schema_migrations_table = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
))sql";

}  // namespace

std::int64_t latest_postgres_schema_version() {
  return static_cast<std::int64_t>(migrations.size());
}

std::int64_t postgres_schema_version(postgres_connection& connection) {
  const auto exists =
      connection.exec("SELECT to_regclass('schema_migrations') IS NOT NULL", "look for schema");
  if (!exists.boolean(0, 0)) return 0;
  return connection
      .exec("SELECT coalesce(max(version), 0) FROM schema_migrations", "read schema version")
      .int64(0, 0);
}

void migrate_postgres(postgres_connection& connection) {
  postgres_transaction transaction(connection);
  connection.exec("SELECT pg_advisory_xact_lock(" + std::to_string(migration_lock) + ")",
                  "take the migration lock");
  connection.exec(schema_migrations_table, "create schema_migrations");
  const std::int64_t current = postgres_schema_version(connection);
  if (current > latest_postgres_schema_version()) {
    throw std::runtime_error("store: the PostgreSQL database has schema version " +
                             std::to_string(current) + " but this connector knows versions up to " +
                             std::to_string(latest_postgres_schema_version()) +
                             ": it was written by a newer connector; run that one instead of "
                             "downgrading");
  }
  for (auto step = current; step < latest_postgres_schema_version(); ++step) {
    const std::string version = std::to_string(step + 1);
    connection.exec(migrations[static_cast<std::size_t>(step)],
                    "migrate schema to version " + version);
    connection.exec("INSERT INTO schema_migrations (version) VALUES (" + version + ")",
                    "record schema version");
  }
  transaction.commit();
}

}  // namespace connector::store
