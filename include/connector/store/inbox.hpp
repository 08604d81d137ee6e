#pragma once
// The durable inbox: every notification Salesforce delivers is committed here before it is
// acknowledged, deduplicated by (organization, notification id), and folded into the newest
// known state of its record, which waits as "pending" for the sync worker.
//
// One interface; SQLite behind it now (sqlite_inbox), PostgreSQL later (design.md).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connector/clock.hpp"
#include "connector/store/runs.hpp"
#include "connector/store/types.hpp"

namespace connector::store {

class inbox {
 public:
  virtual ~inbox() = default;

  // Queues `request` for the writer thread, which commits concurrent requests together
  // (group commit). `done` runs on the writer thread once the transaction is durable or
  // has failed; it must not block.
  virtual void submit(intake_request request, std::function<void(intake_outcome)> done) = 0;

  // Synchronous convenience over submit(), for the CLI and tests.
  intake_outcome submit_and_wait(intake_request request);

  // The sync worker's side of the queue. take_due returns up to `limit` records whose
  // state is pending or retrying and whose due time has come, oldest first.
  virtual std::vector<pending_record> take_due(epoch_ms now, std::size_t limit) = 0;
  // Ids of an organization's due records that wait for a re-read (GAP events), oldest
  // first: the worker reads them from Salesforce together, in one query. `every_due`: all
  // due records of the organization (the worker verifies every notification by a read).
  virtual std::vector<std::string> due_rereads(const std::string& organization_id, epoch_ms now,
                                               std::size_t limit, bool every_due = false) {
    (void)organization_id, (void)now, (void)limit, (void)every_due;
    return {};
  }
  // Applied: the record leaves the queue unless a newer state (higher version) arrived
  // meanwhile, in which case it stays pending.
  // `outcome` is what the operator reads: "applied", "skipped: no department".
  virtual void mark_done(const std::string& organization_id, const std::string& record_id,
                         std::int64_t version, const std::string& outcome = {}) = 0;
  // Failed: retried at `retry_at`, or dead-lettered when `dead` is true.
  virtual void mark_failed(const std::string& organization_id, const std::string& record_id,
                           std::int64_t version, const std::string& error, epoch_ms retry_at,
                           bool dead) = 0;

  // What the worker read over REST for a record that needs_reread: merged into the stored
  // fields (newest wins per field, like a notification) and the flag cleared, unless a newer
  // state arrived meanwhile (version differs), which keeps the flag for the next attempt.
  // `replace` (a verified read): the read becomes the stored state, fields and modstamp
  // alike, even a lower modstamp than the notification's (a forged near-future stamp must
  // not make later genuine notifications stale); none read: no modstamp.
  virtual void save_reread(const std::string& organization_id, const std::string& record_id,
                           std::int64_t version, const std::string& fields_json,
                           std::optional<epoch_ms> modstamp, bool replace = false) = 0;
  // The same without waiting for the commit (the worker, on every verified record): it rides
  // along the writer's next group commit, before any write asked for after it, so the
  // mark_done or mark_failed that follows waits for both. A failed commit loses it: the
  // record then stays as it was and is read again.
  virtual void save_reread_soon(const std::string& organization_id, const std::string& record_id,
                                std::int64_t version, const std::string& fields_json,
                                std::optional<epoch_ms> modstamp, bool replace) {
    save_reread(organization_id, record_id, version, fields_json, modstamp, replace);
  }

  // Dead letters back into the queue, due now: every one (record_id empty) or one record.
  // Returns how many were re-queued.
  virtual std::size_t requeue_dead(const std::string& record_id, epoch_ms now) = 0;
  // Held by the safety limit: the record waits for the operator and the worker does not take
  // it, unless a newer state arrived meanwhile (version differs), which stays pending.
  // `reason` is what the operator reads. Returns once durable, like mark_done.
  virtual void mark_held(const std::string& organization_id, const std::string& record_id,
                         std::int64_t version, const std::string& reason) = 0;
  // The operator's release of held records (every one when record_id is empty): due now,
  // and applied even over the safety limit's cap (pending_record::released). Returns how many.
  virtual std::size_t release_held(const std::string& record_id, epoch_ms now) = 0;
  // The worker's deactivations and deletions, kept so the safety limit's hour survives a
  // restart: one is noted once iSpring did it; those at or after `since` are read back,
  // oldest first. Noting prunes what is older than `prune_before`.
  virtual void note_retirement(const std::string& organization_id, const std::string& record_id,
                               epoch_ms at, epoch_ms prune_before) = 0;
  virtual std::vector<epoch_ms> retirements_since(const std::string& organization_id,
                                                  epoch_ms since) = 0;
  // How many users of the organization are linked (the safety limit's share is of them).
  virtual std::size_t count_links(const std::string& organization_id) {
    return list_links(organization_id).size();
  }
  // Records in one state, most recently due first (dead letters and retries for `status`).
  virtual std::vector<pending_record> list_records(record_state state, std::size_t limit) = 0;

  // The link between a Salesforce record and its iSpring user: matching by it first is what
  // keeps a user from being created twice.
  virtual void set_link(const std::string& organization_id, const std::string& record_id,
                        const std::string& ispring_user_id) = 0;
  virtual std::optional<std::string> find_link(const std::string& organization_id,
                                               const std::string& record_id) = 0;
  // Every link of the organization, record id → iSpring user id, in one query (the full
  // reconciliation matches all users at once).
  virtual std::vector<std::pair<std::string, std::string>> list_links(
      const std::string& organization_id) = 0;
  // Stores or replaces many links in one transaction.
  virtual void set_links(const std::string& organization_id,
                         const std::vector<std::pair<std::string, std::string>>& links) = 0;
  // Forgets a link (its iSpring user was deleted). Unknown records are no error.
  virtual void remove_link(const std::string& organization_id, const std::string& record_id) = 0;
  // Department links (department_link), one per organization and key; keys compare ignoring
  // case, as iSpring compares department names. A store without them (a test fake) keeps
  // none, and departments are then found by name.
  virtual std::vector<department_link> list_department_links(const std::string& organization_id) {
    (void)organization_id;
    return {};
  }
  virtual std::optional<department_link> find_department_link(const std::string& organization_id,
                                                              const std::string& key) {
    (void)organization_id, (void)key;
    return std::nullopt;
  }
  // Stores or replaces (by key) many links in one transaction.
  virtual void set_department_links(const std::string& organization_id,
                                    const std::vector<department_link>& links) {
    (void)organization_id, (void)links;
  }
  // Forgets every link to these iSpring departments (deleted by the connector, or gone).
  virtual void remove_department_links(const std::string& organization_id,
                                       const std::vector<std::string>& department_ids) {
    (void)organization_id, (void)department_ids;
  }
  // The organization's records the worker has yet to apply (pending, retrying or held): the
  // full reconciliation leaves them to the worker, which holds a newer state than its read,
  // and held ones to the operator.
  virtual std::vector<pending_record> records_in_flight(const std::string& organization_id) = 0;

  virtual std::optional<pending_record> find_record(const std::string& organization_id,
                                                    const std::string& record_id) = 0;
  virtual inbox_stats stats() = 0;
  // True when the notification id was stored (for tests and `explain`).
  virtual bool has_notification(const std::string& organization_id,
                                const std::string& notification_id) = 0;

  // Run history (runs.hpp). A run belongs to the process that created it: its pid and a
  // marker of that process's start are stored, so another process (the CLI beside the
  // service) can tell a run of a live process from one left behind by a dead one.
  //
  // Queues a new run; returns its id (ids are never reused).
  virtual std::int64_t create_run(const std::string& trigger, bool dry_run, epoch_ms now) = 0;
  // queued → running. Throws std::runtime_error when the run is unknown or not queued.
  virtual void start_run(std::int64_t id, epoch_ms now) = 0;
  // Progress, cheap enough to call per page or per user: returns at once, and calls that
  // come faster than the writer commits collapse into one write of the newest counts.
  // Ignored once the run has finished.
  virtual void update_run_counts(std::int64_t id,
                                 const std::map<std::string, std::int64_t>& counts) = 0;
  // queued/running → `status` (one of finished_run_statuses, else std::invalid_argument).
  // Only the newest plans are kept (sqlite_options::plans_kept), and finished runs beyond
  // the newest sqlite_options::runs_kept are pruned. Throws std::runtime_error when the
  // run is unknown or already finished.
  virtual void finish_run(std::int64_t id, const std::string& status, epoch_ms now,
                          const std::map<std::string, std::int64_t>& counts,
                          const std::string& message, const std::string& plan_json = {}) = 0;
  virtual std::optional<run_record> find_run(std::int64_t id, bool with_plan = false) = 0;
  // Newest first, without plan_json.
  virtual std::vector<run_record> list_runs(std::size_t limit, bool include_dry_runs = true) = 0;
  // The last run that started and is not a dry run (last_sync_start, last_sync_status).
  virtual std::optional<run_record> last_sync() = 0;
  // The queued or running run of a live process (running before queued, then oldest), if
  // any: callers refuse to start a second reconciliation beside it, across processes.
  virtual std::optional<run_record> running_run() = 0;
  // Runs left queued or running by a process that is gone (crashed, killed, rebooted)
  // become "failed" with interrupted_run_message. Runs of live processes, this one
  // included, are left alone, so the CLI may call it while the service runs. Returns how
  // many were failed.
  virtual std::size_t fail_interrupted_runs(epoch_ms now) = 0;

  // Per-user history (history_event). record_history returns at once: the events ride along
  // the writer's next group commit, so nobody waits for an fsync on their account, and a
  // failed commit loses them (the history tells what happened; the queue is the truth).
  // Intake and the store's own moves (superseded applies, re-queued dead letters) are
  // recorded by the store inside their own transactions; intake's into an unindexed table
  // that the writer empties into the indexed one off the hot path. A store without history (a test
  // fake) records nothing and reads nothing.
  virtual void record_history(std::vector<history_event> events) { (void)events; }
  // One user's events, newest first.
  virtual std::vector<history_event> read_history(const std::string& organization_id,
                                                  const std::string& record_id, std::size_t limit) {
    (void)organization_id, (void)record_id, (void)limit;
    return {};
  }
  // Removes at most `max_rows` events: those older than the retention, then those beyond the
  // per-user cap (sqlite_options), after moving up to `max_rows` of intake's newest events to
  // where the cap sees them. The writer does the same in small batches on its own; tests and
  // `connector` tools may call it with their clock. Returns how many were removed.
  virtual std::size_t prune_history(epoch_ms now, std::size_t max_rows) {
    (void)now, (void)max_rows;
    return 0;
  }
  // Removes at most `max_rows` of what has outlived the dedupe window
  // (sqlite_options::notification_retention_ms): notification ids, then settled records
  // (done, linked to no iSpring user) and their look-up keys. The writer does the same in
  // small batches on its own; tests and tools may call it with their clock. Returns how many
  // rows were removed.
  virtual std::size_t prune_expired(epoch_ms now, std::size_t max_rows) {
    (void)now, (void)max_rows;
    return 0;
  }
  // Records the worker has applied, by id, login or e-mail (see user_query), by record id.
  virtual std::vector<user_match> search_users(const user_query& query) {
    (void)query;
    return {};
  }
  // The record linked to an iSpring user id, if any: (organization id, record id).
  virtual std::optional<std::pair<std::string, std::string>> find_linked_record(
      const std::string& ispring_user_id) {
    (void)ispring_user_id;
    return std::nullopt;
  }

  // Transactions committed by this instance since it opened: with group commit it grows
  // slower than the number of requests (tests, metrics). Not pure, so fakes need not care.
  virtual std::size_t commits_so_far() const { return 0; }
};

struct sqlite_options {
  std::string path;
  std::size_t max_batch_requests = 256;  // upper bound of requests per group commit
  int busy_timeout_ms = 5000;
  // Test hook: caps the file at this many pages (PRAGMA max_page_count) so tests reach the
  // real SQLITE_FULL path of a full disk. 0 = no cap.
  std::int64_t max_page_count = 0;
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
  // long. Longer than Salesforce's 24 hours of redelivery, so a redelivered message is still
  // known; 0 keeps everything.
  std::int64_t notification_retention_ms = 72LL * 60 * 60 * 1000;
  // Settled records take one scan of the records table: at most this often (store clock).
  std::int64_t records_prune_interval_ms = 10LL * 60 * 1000;
  // The writer moves intake's events into the indexed history and prunes at most this often
  // while busy (one small transaction after the acks: up to 2000 events moved, at most
  // history_prune_batch removed), and in a row while idle until caught up.
  int history_prune_interval_ms = 1000;
  std::size_t history_prune_batch = 500;
  // A notification older than the state held (stale) still makes a waiting record
  // (pending, retrying) due again with a new version, its fields left as they are: when
  // every apply reads the record from Salesforce first (sync.verify_notifications), a read
  // made before the notification arrived must not be the last one.
  bool requeue_stale_while_waiting = false;
  // The Salesforce fields the mapping reads login and e-mail from (mapping.login,
  // mapping.email): when the worker is done with a record (mark_done, mark_failed) their
  // values become the indexed keys search_users finds a user by among 100k.
  std::string login_field = "Username";
  std::string email_field = "Email";
  // The clock of history times the store stamps itself (superseded, re-queued) and of
  // pruning; null: the system clock.
  const connector::clock* time = nullptr;
};

// Opens (creating and migrating) the SQLite inbox. Throws std::runtime_error with the path
// and SQLite's message when the file cannot be opened or migrated.
std::unique_ptr<inbox> open_sqlite_inbox(const sqlite_options& options);

// Read-only access for `connector status` while the service runs (WAL allows it).
inbox_stats read_sqlite_stats(const std::string& path);
std::vector<pending_record> read_sqlite_records(const std::string& path, record_state state,
                                                std::size_t limit);
// Run history, read-only; empty while the file predates run history (an older service).
std::vector<run_record> read_sqlite_runs(const std::string& path, std::size_t limit);
std::optional<run_record> read_sqlite_run(const std::string& path, std::int64_t id, bool with_plan);
std::optional<run_record> read_sqlite_last_sync(const std::string& path);
// Per-user history and look-ups, read-only (`connector explain` beside the service); empty
// while the file predates history (an older service).
std::vector<history_event> read_sqlite_history(const std::string& path,
                                               const std::string& organization_id,
                                               const std::string& record_id, std::size_t limit);
std::vector<user_match> read_sqlite_users(const std::string& path, const user_query& query);
std::optional<pending_record> read_sqlite_record(const std::string& path,
                                                 const std::string& organization_id,
                                                 const std::string& record_id);
std::optional<std::string> read_sqlite_link(const std::string& path,
                                            const std::string& organization_id,
                                            const std::string& record_id);
std::optional<std::pair<std::string, std::string>> read_sqlite_linked_record(
    const std::string& path, const std::string& ispring_user_id);
// A department key's link, read-only; none while the file predates department links.
std::optional<department_link> read_sqlite_department_link(const std::string& path,
                                                           const std::string& organization_id,
                                                           const std::string& key);

}  // namespace connector::store
