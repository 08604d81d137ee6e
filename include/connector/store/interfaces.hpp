#pragma once
// The store as its callers see it: narrow interfaces, one per job (design.md "Store engines
// and several instances"). A caller takes only the ones it uses, so a test fake of intake
// implements submit and nothing else. Every engine (SQLite, PostgreSQL) implements them all,
// behind `store`, and passes one conformance suite.
//
// A method named in two interfaces (find_run in run_log and store_reader, …) is one method:
// an engine overrides it once.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connector/clock.hpp"
#include "connector/store/cluster.hpp"
#include "connector/store/group_queue.hpp"
#include "connector/store/runs.hpp"
#include "connector/store/types.hpp"

namespace connector::store {

// Where intake commits what Salesforce delivered, before it is acknowledged.
class intake_sink {
 public:
  virtual ~intake_sink() = default;

  // Queues `request` for the writer, which commits concurrent requests together (group
  // commit). `done` runs on the writer thread once the transaction is durable or has failed;
  // it must not block. An outcome that is not committed must never be acknowledged.
  virtual void submit(intake_request request, std::function<void(intake_outcome)> done) = 0;

  // Synchronous convenience over submit(), for the CLI and tests.
  intake_outcome submit_and_wait(intake_request request);
};

// The sync worker's side of the queue, and the safety limit's ledger.
class work_queue {
 public:
  virtual ~work_queue() = default;

  // Returns up to `limit` records whose state is pending or retrying and whose due time has
  // come, oldest first, claimed for this store's instance (cluster.hpp). A claimed record is
  // due for nobody, this instance included, until mark_done/failed/held clears the claim,
  // its claimer retires, or its claimer stops beating: so it is never handed out twice.
  virtual std::vector<pending_record> take_due(epoch_ms now, std::size_t limit) = 0;
  // One record the worker took before but could not record the outcome of (the store away),
  // read again as a write: its CURRENT state (maybe newer than what was applied) when it is
  // pending or retrying and still claimed by this store's instance — or due by `now` and
  // unclaimed or claimed by an instance that stopped beating, and then claimed for this one.
  // Nullopt when it is done, held, dead, someone else's and not yet due, or another live
  // instance holds it.
  virtual std::optional<pending_record> take_claimed(const std::string& organization_id,
                                                     const std::string& record_id,
                                                     epoch_ms now) = 0;
  // Ids of an organization's due records that wait for a re-read (GAP events), oldest
  // first: the worker reads them from Salesforce together, in one query. `every_due`: all
  // due records of the organization (the worker verifies every notification by a read).
  virtual std::vector<std::string> due_rereads(const std::string& organization_id, epoch_ms now,
                                               std::size_t limit, bool every_due = false) = 0;
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
  // The organization's records the worker has yet to apply (pending, retrying or held): the
  // full reconciliation leaves them to the worker, which holds a newer state than its read,
  // and held ones to the operator.
  virtual std::vector<pending_record> records_in_flight(const std::string& organization_id) = 0;
};

// The link between a Salesforce record and its iSpring user: matching by it first is what
// keeps a user from being created twice.
class user_links {
 public:
  virtual ~user_links() = default;

  virtual void set_link(const std::string& organization_id, const std::string& record_id,
                        const std::string& ispring_user_id) = 0;
  virtual std::optional<std::string> find_link(const std::string& organization_id,
                                               const std::string& record_id) = 0;
  // Every link of the organization, record id → iSpring user id, in one query (the full
  // reconciliation matches all users at once).
  virtual std::vector<std::pair<std::string, std::string>> list_links(
      const std::string& organization_id) = 0;
  // The same, a link at a time, the views valid during the call: a million links as a vector
  // of string pairs are 150 MB.
  using link_visitor =
      std::function<void(std::string_view record_id, std::string_view ispring_user_id)>;
  virtual void each_link(const std::string& organization_id, const link_visitor& visit) = 0;
  // Stores or replaces many links in one transaction.
  virtual void set_links(const std::string& organization_id,
                         const std::vector<std::pair<std::string, std::string>>& links) = 0;
  // Forgets a link (its iSpring user was deleted). Unknown records are no error.
  virtual void remove_link(const std::string& organization_id, const std::string& record_id) = 0;
  // How many users of the organization are linked (the safety limit's share is of them).
  virtual std::size_t count_links(const std::string& organization_id) = 0;
  // The record linked to an iSpring user id, if any: (organization id, record id).
  virtual std::optional<std::pair<std::string, std::string>> find_linked_record(
      const std::string& ispring_user_id) = 0;
};

// Department links (department_link), one per organization and key; keys compare ignoring
// case, as iSpring compares department names.
class department_links {
 public:
  virtual ~department_links() = default;

  virtual std::vector<department_link> list_department_links(
      const std::string& organization_id) = 0;
  virtual std::optional<department_link> find_department_link(const std::string& organization_id,
                                                              const std::string& key) = 0;
  // Stores or replaces (by key) many links in one transaction.
  virtual void set_department_links(const std::string& organization_id,
                                    const std::vector<department_link>& links) = 0;
  // Forgets every link to these iSpring departments (deleted by the connector, or gone).
  virtual void remove_department_links(const std::string& organization_id,
                                       const std::vector<std::string>& department_ids) = 0;
};

// Run history (runs.hpp), and who may run a reconciliation now.
class run_log {
 public:
  virtual ~run_log() = default;

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
  // Only the newest plans are kept (store_settings::plans_kept), and finished runs beyond
  // the newest store_settings::runs_kept are pruned. Throws std::runtime_error when the
  // run is unknown or already finished.
  virtual void finish_run(std::int64_t id, const std::string& status, epoch_ms now,
                          const std::map<std::string, std::int64_t>& counts,
                          const std::string& message, const std::string& plan_json = {}) = 0;
  virtual std::optional<run_record> find_run(std::int64_t id, bool with_plan = false) = 0;
  // Newest first, without plan_json.
  virtual std::vector<run_record> list_runs(std::size_t limit, bool include_dry_runs = true) = 0;
  // The last run that started and is not a dry run (last_sync_start, last_sync_status).
  virtual std::optional<run_record> last_sync() = 0;
  // The queued or running run of a live owner instance (running before queued, then oldest),
  // if any: callers refuse to start a second reconciliation beside it. Liveness is the
  // owner's heartbeat (cluster.hpp) at the store's clock; this store's own instance is live.
  virtual std::optional<run_record> running_run() = 0;
  // Runs left queued or running by an owner instance that is gone (no heartbeat for
  // instance_stale_after_ms before `now`: crashed, killed, its host down) become
  // "failed" with interrupted_run_message. Runs of live owners, this one included, are left
  // alone, so the CLI may call it while the service runs. Returns how many were failed.
  virtual std::size_t fail_interrupted_runs(epoch_ms now) = 0;
};

// Per-user history (history_event), what `connector explain` tells.
class history_log {
 public:
  virtual ~history_log() = default;

  // Returns at once: the events ride along the writer's next group commit, so nobody waits
  // for an fsync on their account, and a failed commit loses them (the history tells what
  // happened; the queue is the truth). Intake and the store's own moves (superseded
  // applies, re-queued dead letters) are recorded by the store itself.
  virtual void record_history(std::vector<history_event> events) = 0;
  // One user's events, newest first.
  virtual std::vector<history_event> read_history(const std::string& organization_id,
                                                  const std::string& record_id,
                                                  std::size_t limit) = 0;
};

// Read-only answers for `connector status`, `runs`, `explain`, the admin page and metrics.
// Opened beside a running service (open_store_reader) or taken from the open store.
class store_reader {
 public:
  virtual ~store_reader() = default;

  virtual inbox_stats stats() = 0;
  // Records in one state, most recently due first (dead letters and retries for `status`).
  virtual std::vector<pending_record> list_records(record_state state, std::size_t limit) = 0;
  virtual std::optional<pending_record> find_record(const std::string& organization_id,
                                                    const std::string& record_id) = 0;
  // True when the notification id was stored (for tests and `explain`).
  virtual bool has_notification(const std::string& organization_id,
                                const std::string& notification_id) = 0;
  virtual std::optional<run_record> find_run(std::int64_t id, bool with_plan = false) = 0;
  // Newest first, without plan_json.
  virtual std::vector<run_record> list_runs(std::size_t limit, bool include_dry_runs = true) = 0;
  virtual std::optional<run_record> last_sync() = 0;
  virtual std::vector<history_event> read_history(const std::string& organization_id,
                                                  const std::string& record_id,
                                                  std::size_t limit) = 0;
  // Records the worker has applied, by id, login or e-mail (see user_query), by record id.
  virtual std::vector<user_match> search_users(const user_query& query) = 0;
  virtual std::optional<std::string> find_link(const std::string& organization_id,
                                               const std::string& record_id) = 0;
  virtual std::optional<std::pair<std::string, std::string>> find_linked_record(
      const std::string& ispring_user_id) = 0;
  virtual std::optional<department_link> find_department_link(const std::string& organization_id,
                                                              const std::string& key) = 0;
  // The admin page's chart. Notifications stored per time bucket: `buckets` counts, the
  // first for [since, since + bucket_ms).
  virtual std::vector<std::int64_t> notifications_per_bucket(epoch_ms since, epoch_ms bucket_ms,
                                                             std::size_t buckets) = 0;
  // Users applied to iSpring per time bucket, from the per-user history: the worker's
  // applies and the users a reconciliation run changed successfully.
  virtual std::vector<std::int64_t> applied_per_bucket(epoch_ms since, epoch_ms bucket_ms,
                                                       std::size_t buckets) = 0;
  // The instances live at `now` (cluster::live_instances), for `status` and the page.
  virtual std::vector<instance_record> live_instances(epoch_ms now) = 0;
  // Users waiting to join their groups (group_queue::group_stats), for `status` and the page:
  // zeros beside a store older than the queue.
  virtual group_queue_stats group_stats() = 0;
};

// An open store: every interface, from one engine (the group queue too: no caller asks an
// engine whether it has one).
class store : public intake_sink,
              public work_queue,
              public user_links,
              public department_links,
              public run_log,
              public history_log,
              public cluster,
              public group_queue,
              public store_reader {
 public:
  // One method, reachable through either interface.
  using cluster::live_instances;
  using department_links::find_department_link;
  using group_queue::group_stats;
  using history_log::read_history;
  using run_log::find_run;
  using run_log::last_sync;
  using run_log::list_runs;
  using user_links::find_link;
  using user_links::find_linked_record;

  // Removes at most `max_rows` events: those older than the retention, then those beyond the
  // per-user cap (store_settings). The writer does the same in small batches on its own;
  // tests and tools may call it with their clock. Returns how many were removed.
  virtual std::size_t prune_history(epoch_ms now, std::size_t max_rows) = 0;
  // Removes at most `max_rows` of what has outlived the dedupe window
  // (store_settings::notification_retention_ms): notification ids, then settled records
  // (done, linked to no iSpring user) and their look-up keys. Returns how many rows.
  virtual std::size_t prune_expired(epoch_ms now, std::size_t max_rows) = 0;
  // Transactions committed by this instance since it opened: with group commit it grows
  // slower than the number of requests (tests, metrics).
  virtual std::size_t commits_so_far() const = 0;
};

}  // namespace connector::store
