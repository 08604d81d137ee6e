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

namespace connector::store {

// One notification as the store sees it: already checked and normalised by the caller.
struct incoming_change {
  std::string notification_id;       // dedupe key within the organization
  std::string record_id;             // 18-character Salesforce id
  std::string object_type;           // "User", "Contact"
  std::optional<epoch_ms> modstamp;  // SystemModstamp, else LastModifiedDate
  std::string fields_json;  // JSON object of the fields sent, e.g. {"Email":"a@b.c","Title":null}
  bool has_data = true;     // false: record deleted before delivery, nothing to apply
  // Salesforce could not send the data (a GAP change event): the record is queued, and the
  // worker reads it over REST before applying it. Implies has_data = false.
  bool reread = false;
};

// Everything one HTTP request delivered: stored in one transaction, or not at all.
struct intake_request {
  std::string organization_id;  // 18-character
  std::string source;           // "outbound_message" or "event"
  epoch_ms received_at = 0;
  std::vector<incoming_change> changes;
};

struct intake_outcome {
  bool committed = false;      // true only once the transaction is durable on disk
  std::size_t stored = 0;      // new notifications
  std::size_t duplicates = 0;  // notification ids seen before: acked, not applied again
  std::string error;           // why the commit failed (disk full, locked, I/O error)
};

// A record's state in the pending queue, as the sync worker takes it.
enum class record_state { pending, retrying, done, dead };

struct pending_record {
  std::string organization_id;
  std::string record_id;
  std::string object_type;
  std::string fields_json;  // newest known state (all fields ever received, newest wins per field)
  std::optional<epoch_ms> modstamp;
  std::int64_t version = 0;  // grows with every newer state; lets the worker finish safely
  int attempts = 0;
  std::string last_error;
  epoch_ms due_at = 0;
  std::string last_outcome;                    // set by mark_done
  record_state state = record_state::pending;  // where it is in the queue (find_record, explain)
  bool needs_reread = false;  // a GAP event: read the record from Salesforce before applying
};

struct inbox_stats {
  std::int64_t notifications_received = 0;  // distinct notifications stored
  std::int64_t duplicates_ignored = 0;
  std::int64_t pending = 0;   // records waiting for their first (or next fresh) attempt
  std::int64_t retrying = 0;  // records backing off after a failure
  std::int64_t dead_letters = 0;
  std::int64_t skipped = 0;  // applied as "nothing to do", e.g. users without a department
  std::optional<epoch_ms> last_received_at;
  // When the change that has waited longest for the worker (pending or retrying) arrived;
  // none when nothing waits. Retries don't reset it, a newer state of a waiting record
  // doesn't either.
  std::optional<epoch_ms> oldest_waiting_since;
};

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
  virtual void save_reread(const std::string& organization_id, const std::string& record_id,
                           std::int64_t version, const std::string& fields_json,
                           std::optional<epoch_ms> modstamp) = 0;

  // Dead letters back into the queue, due now: every one (record_id empty) or one record.
  // Returns how many were re-queued.
  virtual std::size_t requeue_dead(const std::string& record_id, epoch_ms now) = 0;
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
  // The organization's records the worker has yet to apply (pending or retrying): the full
  // reconciliation leaves them to the worker, which holds a newer state than its read.
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

}  // namespace connector::store
