// The SQLite engine: every store interface on one file. One writer thread (group_commit)
// owns the writing connection and commits whatever writes are waiting in one transaction;
// reads use a read-only connection of their own (sqlite_reader), which WAL lets run beside
// the writer; a third connection checkpoints the WAL off the writer's path.
#include "sqlite_store.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "connector/store/fields_json.hpp"
#include "connector/store/newest_wins.hpp"
#include "group_commit.hpp"
#include "run_owner.hpp"
#include "run_progress.hpp"
#include "sqlite_cluster.hpp"
#include "sqlite_department_links.hpp"
#include "sqlite_group_queue.hpp"
#include "sqlite_history.hpp"
#include "sqlite_reader.hpp"
#include "sqlite_schema.hpp"
#include "sqlite_statements.hpp"

namespace connector::store {

namespace {

class sqlite_store final : public store, private group_commit_engine {
 public:
  explicit sqlite_store(const store_settings& options)
      : runs_kept_(as_limit(std::max<std::size_t>(options.runs_kept, 1))),
        plans_kept_(as_limit(options.plans_kept)),
        history_prune_interval_(std::max(options.history_prune_interval_ms, 1)),
        history_prune_batch_(std::max<std::size_t>(options.history_prune_batch, 1)),
        notification_retention_ms_(options.notification_retention_ms),
        records_prune_interval_ms_(std::max<std::int64_t>(options.records_prune_interval_ms, 0)),
        requeue_stale_while_waiting_(options.requeue_stale_while_waiting),
        time_(options.time ? *options.time : own_clock_),
        owner_(run_owner(options.instance_id)),
        writer_db_(options.sqlite_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE),
        writer_(*this, {options.max_batch_requests, history_prune_interval_, options.on_commit,
                        "inbox-writer"}) {
    prepare_for_writing(writer_db_, options.busy_timeout_ms);
    if (options.max_page_count > 0) {
      writer_db_.query_int("PRAGMA max_page_count = " + std::to_string(options.max_page_count),
                           "cap page count");
    }
    write_ =
        std::make_unique<write_statements>(writer_db_, options.login_field, options.email_field);
    department_writes_ = std::make_unique<department_link_writes>(writer_db_);
    group_writes_ = std::make_unique<group_queue_writes>(writer_db_);
    group_reads_ = std::make_unique<group_queue_reads>(writer_db_);
    cluster_writes_ = std::make_unique<cluster_writes>(writer_db_);
    cluster_reads_ = std::make_unique<cluster_reads>(writer_db_);
    history_ = std::make_unique<sqlite_history>(writer_db_, *write_, options.history_retention_ms,
                                                options.history_max_events_per_user);
    // Opened after the writer switched the file to WAL and migrated it.
    reader_ = std::make_unique<sqlite_reader>(options.sqlite_path, options.busy_timeout_ms);

    // Checkpoints copy the WAL back into the database file and fsync it. SQLite would run
    // them inside the writer's COMMIT, in front of the acks; a second connection runs them
    // beside the writer instead. synchronous=FULL there too: the WAL may only be reused
    // once the copied pages are on disk.
    checkpoint_db_ =
        std::make_unique<sqlite_connection>(options.sqlite_path, SQLITE_OPEN_READWRITE);
    checkpoint_db_->exec("PRAGMA synchronous = FULL", "set checkpoint connection pragmas");
    sqlite3_wal_hook(writer_db_.handle(), &sqlite_store::on_wal_commit, this);

    // Named for `top -H` and for the benchmark, which reads the writer's CPU time.
    writer_.start();
    checkpointer_ = std::thread([this] { checkpoint_loop(); });
    pthread_setname_np(checkpointer_.native_handle(), "inbox-ckpt");
  }

  // Graceful: the writer finishes every request accepted before this point.
  ~sqlite_store() override {
    writer_.stop();
    {
      std::lock_guard lock(checkpoint_mutex_);
      checkpoint_stopping_ = true;
    }
    checkpoint_wanted_.notify_one();
    checkpointer_.join();
    // The other connections go first, so the writer's close can checkpoint the WAL and
    // remove it.
    reader_.reset();
    checkpoint_db_.reset();
  }

  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  void submit(intake_request request, std::function<void(intake_outcome)> done) override {
    writer_.submit(std::move(request), std::move(done));
  }

  // A write: what it returns is claimed for this store's instance (cluster.hpp), so a
  // second instance on the file, or the CLI's sync-user, does not take it meanwhile.
  std::vector<pending_record> take_due(epoch_ms now, std::size_t limit) override {
    std::vector<pending_record> due;
    run_write([&] { due = cluster_writes_->claim_due(owner_.instance, now, limit); });
    return due;
  }

  std::optional<pending_record> take_claimed(const std::string& organization_id,
                                             const std::string& record_id, epoch_ms now) override {
    std::optional<pending_record> record;
    run_write([&] {
      record = cluster_writes_->claim_one(organization_id, record_id, owner_.instance, now);
    });
    return record;
  }

  std::vector<std::string> due_rereads(const std::string& organization_id, epoch_ms now,
                                       std::size_t limit, bool every_due) override {
    return reader_->due_rereads(organization_id, now, limit, every_due);
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
      // After: after_apply reads the mark's own change count.
      after_apply(organization_id, record_id, version);
      cluster_writes_->release_claim(organization_id, record_id, owner_.instance);
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
      // After: after_apply reads the mark's own change count.
      after_apply(organization_id, record_id, version);
      cluster_writes_->release_claim(organization_id, record_id, owner_.instance);
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
      const auto stored = read_row(organization_id, record_id);
      if (!stored) return;
      const auto saved = decide_reread(*stored, version, fields_json, modstamp, replace);
      if (saved) write_row(write_->update_record, organization_id, record_id, *saved);
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
      // After: after_apply reads the mark's own change count.
      after_apply(organization_id, record_id, version);
      cluster_writes_->release_claim(organization_id, record_id, owner_.instance);
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
    return reader_->retirements_since(organization_id, since);
  }

  std::size_t count_links(const std::string& organization_id) override {
    return reader_->count_links(organization_id);
  }

  std::vector<pending_record> list_records(record_state state, std::size_t limit) override {
    return reader_->list_records(state, limit);
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
    return reader_->list_links(organization_id);
  }

  void each_link(const std::string& organization_id, const link_visitor& visit) override {
    reader_->each_link(organization_id, visit);
  }

  std::vector<department_link> list_department_links(const std::string& organization_id) override {
    return reader_->list_department_links(organization_id);
  }

  std::optional<department_link> find_department_link(const std::string& organization_id,
                                                      const std::string& key) override {
    return reader_->find_department_link(organization_id, key);
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
  // The group queue (sqlite_group_queue.cpp): writes through the writer, like the rest.
  void queue_group_additions(const std::vector<group_addition>& additions) override {
    if (!additions.empty()) run_write([&] { group_writes_->queue(additions); });
  }
  std::optional<group_claim> claim_next_group(const std::string& owner, epoch_ms now,
                                              epoch_ms lease_until, std::size_t limit) override {
    std::optional<group_claim> claimed;
    run_write([&] { claimed = group_writes_->claim_next(owner, now, lease_until, limit); });
    return claimed;
  }
  bool claim_group(const std::string& group_id, const std::string& owner, epoch_ms now,
                   epoch_ms lease_until) override {
    bool claimed = false;
    run_write([&] { claimed = group_writes_->claim(group_id, owner, now, lease_until); });
    return claimed;
  }
  void finish_group(const std::string& group_id, const std::string& owner, std::int64_t up_to,
                    epoch_ms due_again_at) override {
    run_write([&] { group_writes_->finish(group_id, owner, up_to, due_again_at); });
  }
  void release_group(const std::string& group_id, const std::string& owner, epoch_ms retry_at,
                     const std::string& error) override {
    run_write([&] { group_writes_->release(group_id, owner, retry_at, error); });
  }
  // Read on the writer's connection, in its turn: status asks rarely.
  group_queue_stats group_stats() override {
    group_queue_stats stats;
    run_write([&] { stats = group_reads_->stats(); });
    return stats;
  }

  std::vector<pending_record> records_in_flight(const std::string& organization_id) override {
    return reader_->records_in_flight(organization_id);
  }

  std::optional<std::string> find_link(const std::string& organization_id,
                                       const std::string& record_id) override {
    return reader_->find_link(organization_id, record_id);
  }

  std::optional<pending_record> find_record(const std::string& organization_id,
                                            const std::string& record_id) override {
    return reader_->find_record(organization_id, record_id);
  }

  inbox_stats stats() override { return reader_->stats(); }

  bool has_notification(const std::string& organization_id,
                        const std::string& notification_id) override {
    return reader_->has_notification(organization_id, notification_id);
  }

  std::int64_t create_run(const std::string& trigger, bool dry_run, epoch_ms now) override {
    std::int64_t id = 0;
    run_write([&] {
      run(write_->insert_run)
          .bind(1, trigger)
          .bind(2, std::int64_t{dry_run ? 1 : 0})
          .bind(3, now)
          .bind(4, owner_.pid)
          .bind(5, owner_.instance)
          .execute();
      id = sqlite3_last_insert_rowid(writer_db_.handle());
    });
    return id;
  }

  void start_run(std::int64_t id, epoch_ms now) override {
    bool started = false;
    run_write([&] {
      run(write_->start_run)
          .bind(1, id)
          .bind(2, now)
          .bind(3, owner_.pid)
          .bind(4, owner_.instance)
          .execute();
      started = sqlite3_changes(writer_db_.handle()) != 0;
    });
    if (!started) {
      throw std::runtime_error("store: run " + std::to_string(id) +
                               " cannot start: it is unknown or no longer queued");
    }
  }

  // Not waited for (run_progress.hpp).
  void update_run_counts(std::int64_t id,
                         const std::map<std::string, std::int64_t>& counts) override {
    if (!progress_.offer(id, counts)) return;
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
      progress_.forget(id);
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
    return reader_->find_run(id, with_plan);
  }

  std::vector<run_record> list_runs(std::size_t limit, bool include_dry_runs) override {
    return reader_->list_runs(limit, include_dry_runs);
  }

  std::optional<run_record> last_sync() override { return reader_->last_sync(); }

  std::optional<run_record> running_run() override {
    return reader_->running_run(time_.now(), owner_.instance);
  }

  // Decided inside the write transaction, so no run starts or finishes between the look
  // and the update.
  std::size_t fail_interrupted_runs(epoch_ms now) override {
    std::size_t failed = 0;
    run_write([&] {
      std::vector<std::int64_t> orphans;
      const auto live = cluster_reads_->live(now);
      {
        run rows(write_->select_unfinished_runs);
        while (rows.step()) {
          const auto stored = read_run(rows);
          if (!owner_is_live(stored.owner.instance, owner_.instance, live))
            orphans.push_back(stored.record.id);
        }
      }
      for (const auto id : orphans) {
        run(write_->fail_run).bind(1, id).bind(2, now).bind(3, interrupted_run_message).execute();
      }
      failed = orphans.size();
    });
    return failed;
  }

  // --- cluster ----------------------------------------------------------------------------

  void heartbeat(const instance_record& self) override {
    run_write([&] { cluster_writes_->heartbeat(self); });
  }

  void retire_instance(const std::string& id) override {
    run_write([&] { cluster_writes_->retire(id); });
  }

  std::vector<instance_record> live_instances(epoch_ms now) override {
    return reader_->live_instances(now);
  }

  bool take_lease(const std::string& name, const std::string& holder, epoch_ms now) override {
    bool taken = false;
    run_write([&] { taken = cluster_writes_->take_lease(name, holder, now); });
    return taken;
  }

  void release_lease(const std::string& name, const std::string& holder) override {
    run_write([&] { cluster_writes_->release_lease(name, holder); });
  }

  std::string lease_holder(const std::string& name) override { return reader_->lease_holder(name); }

  bool claim_slot(const std::string& name, epoch_ms due, const std::string& holder,
                  epoch_ms now) override {
    bool claimed = false;
    run_write([&] { claimed = cluster_writes_->claim_slot(name, due, holder, now); });
    return claimed;
  }

  void record_history(std::vector<history_event> events) override {
    if (events.empty()) return;
    for (auto& e : events)
      if (!is_json_object(e.details_json)) e.details_json = "{}";
    writer_.post([this, events = std::move(events)] {
      for (const auto& e : events)
        history_->insert(e.organization_id, e.record_id, e.time, e.kind, e.details_json);
    });
  }

  std::vector<history_event> read_history(const std::string& organization_id,
                                          const std::string& record_id,
                                          std::size_t limit) override {
    return reader_->read_history(organization_id, record_id, limit);
  }

  std::size_t prune_history(epoch_ms now, std::size_t max_rows) override {
    std::size_t removed = 0;
    run_write([&] {
      history_->move_staged(max_rows);
      removed = history_->prune(now, max_rows);
    });
    return removed;
  }

  std::size_t prune_expired(epoch_ms now, std::size_t max_rows) override {
    std::size_t removed = 0;
    run_write([&] { removed = prune_expired_locked(now, max_rows, true); });
    return removed;
  }

  std::vector<user_match> search_users(const user_query& query) override {
    return reader_->search_users(query);
  }

  std::optional<std::pair<std::string, std::string>> find_linked_record(
      const std::string& ispring_user_id) override {
    return reader_->find_linked_record(ispring_user_id);
  }

  std::size_t commits_so_far() const override { return writer_.commits(); }

  std::vector<std::int64_t> notifications_per_bucket(epoch_ms since, epoch_ms bucket_ms,
                                                     std::size_t buckets) override {
    return reader_->notifications_per_bucket(since, bucket_ms, buckets);
  }

  std::vector<std::int64_t> applied_per_bucket(epoch_ms since, epoch_ms bucket_ms,
                                               std::size_t buckets) override {
    return reader_->applied_per_bucket(since, bucket_ms, buckets);
  }

 private:
  void insert_history(const std::string& organization_id, const std::string& record_id,
                      epoch_ms time, const char* kind, std::string_view details) {
    history_->insert(organization_id, record_id, time, kind, details);
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
      moved = history_->move_staged(idle ? history_move_batch : history_move_batch_busy);
      removed = history_->prune(time_.now(), history_prune_batch_);
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
           removed >= history_prune_batch_ || history_->users_to_look_at() || records_backlog_;
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
    history_->resume_sequence();  // a CLI beside the service may have written history
    history_->drop_staged();      // nothing of a batch that failed
    totals_ = {};
  }

  void before_commit() override {
    history_->flush_staged();
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
    auto& inbox = *static_cast<sqlite_store*>(self);
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

  void apply_intake(const intake_request& request, intake_outcome& outcome) override {
    for (const incoming_change& change : request.changes) {
      // Salesforce retries unacked (and sometimes acked) messages: a known id is acked again
      // but not applied twice. An id-less change cannot be deduplicated, so it is applied.
      if (!change.notification_id.empty() && !insert_notification(request, change)) {
        ++outcome.duplicates;
        if (!change.record_id.empty()) stage(request, change, history_kinds::duplicate, {});
        continue;
      }
      ++outcome.stored;
      if (change.record_id.empty()) continue;  // nothing to sync, only the id to remember
      const auto verdict = store_change(request, change);
      stage(request, change,
            verdict == intake_verdict::applied ? history_kinds::received : history_kinds::stale,
            verdict);
    }
    totals_.received += static_cast<std::int64_t>(outcome.stored);
    totals_.duplicates += static_cast<std::int64_t>(outcome.duplicates);
    totals_.last_received_at =
        std::max(totals_.last_received_at.value_or(request.received_at), request.received_at);
  }

  // False when the notification id was stored before (a duplicate).
  bool insert_notification(const intake_request& request, const incoming_change& change) {
    run(write_->insert_notification)
        .bind(1, request.organization_id)
        .bind(2, change.notification_id)
        .bind(3, change.record_id)
        .bind(4, request.source)
        .bind(5, request.received_at)
        .execute();
    return sqlite3_changes(writer_db_.handle()) != 0;
  }

  // Newest wins (newest_wins.hpp), decided on the row as this transaction sees it.
  intake_verdict store_change(const intake_request& request, const incoming_change& change) {
    const auto stored = read_row(request.organization_id, change.record_id);
    auto decision =
        decide_intake(stored, change, request.received_at, requeue_stale_while_waiting_);
    if (decision.row) {
      write_row(stored ? write_->update_record : write_->insert_record, request.organization_id,
                change.record_id, *decision.row);
    }
    return decision.verdict;
  }

  // The user's history of this notification, built by hand to keep the writer lean.
  void stage(const intake_request& request, const incoming_change& change, const char* kind,
             std::optional<intake_verdict> verdict) {
    std::string& details = intake_details_;
    details = R"({"source":)";
    append_json_string(details, request.source);
    if (!change.notification_id.empty()) {
      details += R"(,"notification_id":)";
      append_json_string(details, change.notification_id);
    }
    if (change.modstamp) details += R"(,"modstamp":)" + std::to_string(*change.modstamp);
    if (verdict) {
      if (change.reread)
        details += R"(,"reread":true)";
      else if (!change.has_data)
        details += R"(,"no_data":true)";
      if (*verdict == intake_verdict::stale_requeued) details += R"(,"read_again":true)";
    }
    details += '}';
    history_->stage(request.organization_id, request.received_at, change.record_id, kind, details);
  }

  std::optional<record_row> read_row(const std::string& organization_id,
                                     const std::string& record_id) {
    run row(write_->select_record_row);
    row.bind(1, organization_id).bind(2, record_id);
    if (!row.step()) return std::nullopt;
    record_row r;
    r.object_type = row.text(0);
    r.fields_json = row.text(1);
    r.modstamp = row.optional_int64(2);
    r.version = row.int64(3);
    r.state = parse_state(row.text(4));
    r.attempts = static_cast<int>(row.int64(5));
    r.last_error = row.text(6);
    r.due_at = row.int64(7);
    r.waiting_since = row.optional_int64(8);
    r.needs_reread = row.int64(9) != 0;
    return r;
  }

  // insert_record or update_record: the same parameters.
  static void write_row(sqlite_statement& statement, const std::string& organization_id,
                        const std::string& record_id, const record_row& r) {
    run(statement)
        .bind(1, organization_id)
        .bind(2, record_id)
        .bind(3, r.object_type)
        .bind(4, r.fields_json)
        .bind(5, r.modstamp)
        .bind(6, r.version)
        .bind(7, std::string_view(to_string(r.state)))
        .bind(8, std::int64_t{r.attempts})
        .bind(9, r.last_error)
        .bind(10, r.due_at)
        .bind(11, r.waiting_since)
        .bind(12, std::int64_t{r.needs_reread ? 1 : 0})
        .execute();
  }

  // A run's newest progress counts (update_run_counts), on the writer thread.
  void write_progress(std::int64_t run_id) {
    const auto counts = progress_.take(run_id);
    if (!counts) return;  // finished meanwhile
    const std::string counts_json = counts_to_json(*counts);
    run(write_->update_run_counts).bind(1, run_id).bind(2, counts_json).execute();
    if (sqlite3_changes(writer_db_.handle()) == 0) progress_.wrote_nothing(run_id);
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
  const std::chrono::milliseconds history_prune_interval_;
  const std::size_t history_prune_batch_;
  const std::int64_t notification_retention_ms_;
  const std::int64_t records_prune_interval_ms_;
  const bool requeue_stale_while_waiting_;
  const system_clock own_clock_;
  const connector::clock& time_;
  const process_identity owner_;  // of the runs this store creates and starts

  // Writer side: used by the writer thread only, once the constructor has started it.
  sqlite_connection writer_db_;
  group_commit writer_;
  std::unique_ptr<write_statements> write_;
  std::unique_ptr<department_link_writes> department_writes_;
  std::unique_ptr<group_queue_writes> group_writes_;
  std::unique_ptr<group_queue_reads> group_reads_;
  std::unique_ptr<cluster_writes> cluster_writes_;
  std::unique_ptr<cluster_reads> cluster_reads_;  // inside the writer's transactions
  std::unique_ptr<sqlite_history> history_;

  // Every read, from any thread, on a read-only connection of its own.
  std::unique_ptr<sqlite_reader> reader_;

  // The newest progress counts per run, until the writer takes them (update_run_counts).
  run_progress progress_;

  // Writer thread only.
  std::string intake_details_;  // reused for each notification's history details
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

std::unique_ptr<store> open_sqlite_store(const store_settings& settings) {
  const std::filesystem::path path(settings.sqlite_path);
  std::error_code ec;  // a folder that cannot be made: SQLite's error below says so
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  try {
    return std::make_unique<sqlite_store>(settings);
  } catch (const sqlite_error& e) {
    // Per-batch errors leave the path out (they reach Salesforce in faults); here the
    // operator needs it.
    throw std::runtime_error("store: cannot open " + settings.sqlite_path + ": " + e.what());
  }
}

std::unique_ptr<store_reader> open_sqlite_reader(const store_settings& settings) {
  try {
    return std::make_unique<sqlite_reader>(settings.sqlite_path, settings.busy_timeout_ms);
  } catch (const sqlite_error& e) {
    throw std::runtime_error("store: cannot read " + settings.sqlite_path + ": " + e.what());
  }
}

}  // namespace connector::store
