#pragma once
// Opening the store, whichever engine holds it: SQLite (store.sqlite_path, the embedded
// default) or PostgreSQL (store.postgresql_url, several instances on one database).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "connector/clock.hpp"
#include "connector/store/interfaces.hpp"

namespace connector::store {

struct store_settings {
  // Exactly one engine: a SQLite file, or a PostgreSQL URL
  // (postgresql://user:password@host:port/db, a secret: never logged, never in an error).
  std::string sqlite_path;
  std::string postgresql_url;

  std::size_t max_batch_requests = 256;  // upper bound of requests per group commit
  // Run history kept: finishing a run prunes the finished runs older than the newest
  // `runs_kept` (at least 1), and the plans (several MB each for 100k users) older than
  // the newest `plans_kept`.
  std::size_t runs_kept = 1000;
  std::size_t plans_kept = 50;
  // Runs on the writer thread after each successful group commit, with the number of
  // writes (intake requests, worker outcomes, …) it made durable together (metrics).
  // Must be quick and must not throw.
  std::function<void(std::size_t writes)> on_commit;
  // Per-user history: events older than this are pruned (store.history_retention_days), and
  // beyond the newest `history_max_events_per_user` of a user (0: no cap).
  std::int64_t history_retention_ms = 30LL * 24 * 60 * 60 * 1000;
  std::size_t history_max_events_per_user = 0;
  // The dedupe window (store.notification_retention_hours): notification ids older than this
  // are pruned, and so are settled records (done, linked to no iSpring user) untouched for as
  // long. Longer than Salesforce's 24 hours of redelivery; 0 keeps everything.
  std::int64_t notification_retention_ms = 72LL * 60 * 60 * 1000;
  // Settled records take one scan of the records table: at most this often (store clock).
  std::int64_t records_prune_interval_ms = 10LL * 60 * 1000;
  // The writer moves intake's events into the indexed history and prunes at most this often
  // while busy, at most history_prune_batch rows at a time, and in a row while idle.
  int history_prune_interval_ms = 1000;
  std::size_t history_prune_batch = 500;
  // A notification older than the state held (stale) still makes a waiting record
  // (pending, retrying) due again with a new version, its fields left as they are
  // (sync.verify_notifications: a read made before the notification arrived must not be the
  // last one).
  bool requeue_stale_while_waiting = false;
  // The Salesforce fields the mapping reads login and e-mail from: their values become the
  // indexed keys search_users finds a user by.
  std::string login_field = "Username";
  std::string email_field = "Email";
  // The instance this store acts for: it owns the runs it creates and starts. Empty: this
  // process's (this_instance_id()); tests give two stores in one process two instances.
  std::string instance_id;
  // The clock of history times the store stamps itself and of pruning; null: the system clock.
  const connector::clock* time = nullptr;

  // SQLite only.
  int busy_timeout_ms = 5000;
  // Test hook: caps the file at this many pages (PRAGMA max_page_count) so tests reach the
  // real SQLITE_FULL path of a full disk. 0 = no cap.
  std::int64_t max_page_count = 0;
};

// Opens (creating and migrating) the store. Throws std::runtime_error naming the engine and
// the cause (never the PostgreSQL password) when it cannot be opened or migrated.
std::unique_ptr<store> open_store(const store_settings& settings);

// Read-only, beside a running service (the CLI's status, runs, explain). Never migrates:
// a store older than this binary reads as empty where it lacks a table.
std::unique_ptr<store_reader> open_store_reader(const store_settings& settings);

}  // namespace connector::store
