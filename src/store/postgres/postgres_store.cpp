// The PostgreSQL engine. One writer thread owns the writing connection and commits whatever
// writes are waiting in one transaction (group commit: one WAL flush acknowledges many HTTP
// requests); an outcome reports committed only after COMMIT returned. Reads use a second
// connection. A lost connection fails the batch in flight (never acked) and is reconnected,
// with a back-off, by the next batch or read.
#include "postgres_store.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "../group_commit.hpp"
#include "../run_progress.hpp"
#include "connector/store/fields_json.hpp"
#include "connector/store/newest_wins.hpp"
#include "connector/text/ascii.hpp"
#include "postgres_cluster.hpp"
#include "postgres_group_queue.hpp"
#include "postgres_intake.hpp"
#include "postgres_reads.hpp"
#include "postgres_schema.hpp"
#include "postgres_session.hpp"

namespace connector::store {
namespace {

using params = postgres_params;

// The reads of both the engine and the reader: one connection, one caller at a time, a lost
// connection reconnected and the read tried once more.
class read_side {
 public:
  explicit read_side(std::string url) : session_(std::move(url)) {}

  template <typename Read>
  auto operator()(Read read) {
    std::lock_guard lock(mutex_);
    return session_.retrying(read);
  }

 private:
  std::mutex mutex_;
  postgres_session session_;
};

// A field of a record's newest state as the look-up keys hold it ('' when absent), the way
// SQLite's json_extract gives it: text as is, true/false as 1/0, other values as JSON.
std::string field_text(const nlohmann::json& fields, const std::string& name) {
  const auto found = fields.find(name);
  if (found == fields.end() || found->is_null()) return {};
  if (found->is_string()) return found->get<std::string>();
  if (found->is_boolean()) return found->get<bool>() ? "1" : "0";
  return found->dump();
}

// The look-up keys' fields are Salesforce API names (the config checks them); anything else
// is refused at open, as on SQLite, where the name ends up inside SQL.
const std::string& salesforce_field(const std::string& field) {
  const bool plain = !field.empty() && std::all_of(field.begin(), field.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  });
  if (!plain)
    throw std::invalid_argument("store: \"" + field + "\" is not a Salesforce field name");
  return field;
}

void throw_unless_changed(std::int64_t changed, const std::string& what) {
  if (changed == 0) throw std::runtime_error(what);
}

// Every store_reader method, read on one connection, for the engine (`store`) and the
// read-only reader alike: written once, whatever the interface set it completes. A method
// store_reader shares with another interface (find_run, …) is overridden here for both.
template <class Interfaces>
class reads_through : public Interfaces {
 public:
  explicit reads_through(std::string url) : read_(std::move(url)) {}

  inbox_stats stats() override {
    return read_([&](auto& db) { return postgres_reads::stats(db); });
  }
  std::vector<pending_record> list_records(record_state state, std::size_t limit) override {
    return read_([&](auto& db) { return postgres_reads::list_records(db, state, limit); });
  }
  std::optional<pending_record> find_record(const std::string& organization_id,
                                            const std::string& record_id) override {
    return read_(
        [&](auto& db) { return postgres_reads::find_record(db, organization_id, record_id); });
  }
  bool has_notification(const std::string& organization_id,
                        const std::string& notification_id) override {
    return read_([&](auto& db) {
      return postgres_reads::has_notification(db, organization_id, notification_id);
    });
  }
  std::optional<run_record> find_run(std::int64_t id, bool with_plan) override {
    return read_([&](auto& db) { return postgres_reads::find_run(db, id, with_plan); });
  }
  std::vector<run_record> list_runs(std::size_t limit, bool include_dry_runs) override {
    return read_([&](auto& db) { return postgres_reads::list_runs(db, limit, include_dry_runs); });
  }
  std::optional<run_record> last_sync() override {
    return read_([&](auto& db) { return postgres_reads::last_sync(db); });
  }
  std::vector<history_event> read_history(const std::string& organization_id,
                                          const std::string& record_id,
                                          std::size_t limit) override {
    return read_([&](auto& db) {
      return postgres_reads::read_history(db, organization_id, record_id, limit);
    });
  }
  std::vector<user_match> search_users(const user_query& query) override {
    return read_([&](auto& db) { return postgres_reads::search_users(db, query); });
  }
  std::optional<std::string> find_link(const std::string& organization_id,
                                       const std::string& record_id) override {
    return read_(
        [&](auto& db) { return postgres_reads::find_link(db, organization_id, record_id); });
  }
  std::optional<std::pair<std::string, std::string>> find_linked_record(
      const std::string& ispring_user_id) override {
    return read_([&](auto& db) { return postgres_reads::find_linked_record(db, ispring_user_id); });
  }
  std::optional<department_link> find_department_link(const std::string& organization_id,
                                                      const std::string& key) override {
    return read_(
        [&](auto& db) { return postgres_reads::find_department_link(db, organization_id, key); });
  }
  std::vector<std::int64_t> notifications_per_bucket(epoch_ms since, epoch_ms bucket_ms,
                                                     std::size_t buckets) override {
    return read_([&](auto& db) {
      return postgres_reads::notifications_per_bucket(db, since, bucket_ms, buckets);
    });
  }
  std::vector<std::int64_t> applied_per_bucket(epoch_ms since, epoch_ms bucket_ms,
                                               std::size_t buckets) override {
    return read_([&](auto& db) {
      return postgres_reads::applied_per_bucket(db, since, bucket_ms, buckets);
    });
  }
  // Empty beside a service older than the instances table (schema version 2).
  std::vector<instance_record> live_instances(epoch_ms now) override {
    if (schema_version_ < 2) return {};
    return read_([&](auto& db) { return postgres_cluster::live_instances(db, now); });
  }
  // Zeros beside a service older than the group queue (schema version 3).
  group_queue_stats group_stats() override {
    if (schema_version_ < 3) return {};
    return read_([&](auto& db) { return postgres_group_queue::stats(db); });
  }

 protected:
  read_side read_;
  // Of the database read: the engine migrated it to the newest; the reader finds it.
  std::int64_t schema_version_ = latest_postgres_schema_version();
};

}  // namespace

namespace {

// Statements of the writer that are more than one line of C++.
namespace sql {
constexpr const char* finish_record = R"sql(
UPDATE records SET state = 'done', attempts = 0, last_error = '', last_outcome = $4
WHERE organization_id = $1 AND record_id = $2 AND version = $3)sql";
constexpr const char* fail_record = R"sql(
UPDATE records SET attempts = attempts + 1, last_error = $4,
  state = CASE WHEN $5 THEN 'dead' ELSE 'retrying' END, due_at = $6
WHERE organization_id = $1 AND record_id = $2 AND version = $3)sql";
constexpr const char* hold_record = R"sql(
UPDATE records SET state = 'held', attempts = 0, last_error = '', last_outcome = $4,
  waiting_since = NULL
WHERE organization_id = $1 AND record_id = $2 AND version = $3)sql";
constexpr const char* requeue_dead = R"sql(
UPDATE records SET state = 'pending', attempts = 0, due_at = $1, waiting_since = $1
WHERE state = 'dead' AND ($2 = '' OR record_id = $2)
RETURNING organization_id, record_id)sql";
constexpr const char* release_held = R"sql(
UPDATE records SET state = 'pending', attempts = 0, due_at = $1, waiting_since = $1,
  released_version = version
WHERE state = 'held' AND ($2 = '' OR record_id = $2)
RETURNING organization_id, record_id, version)sql";
const std::string record_for_reread = std::string("SELECT ") + record_row_columns + R"sql(
FROM records WHERE organization_id = $1 AND record_id = $2 FOR UPDATE)sql";
constexpr const char* upsert_keys = R"sql(
INSERT INTO user_keys (organization_id, record_id, login_key, email_key, login, email)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (organization_id, record_id) DO UPDATE SET
  login_key = excluded.login_key, email_key = excluded.email_key,
  login = excluded.login, email = excluded.email
WHERE user_keys.login <> excluded.login OR user_keys.email <> excluded.email)sql";
constexpr const char* upsert_link = R"sql(
INSERT INTO links (organization_id, record_id, ispring_user_id, linked_at)
SELECT $1, * FROM unnest($2::text[], $3::text[]), (VALUES ($4::bigint)) AS now (linked_at)
ON CONFLICT (organization_id, record_id) DO UPDATE SET
  ispring_user_id = excluded.ispring_user_id, linked_at = excluded.linked_at
WHERE links.ispring_user_id <> excluded.ispring_user_id)sql";
// The key's spelling follows the newest writer: a key matched ignoring case keeps one row.
constexpr const char* upsert_department_link = R"sql(
INSERT INTO department_links
  (organization_id, department_key, ispring_department_id, ispring_name, linked_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (organization_id, lower(department_key COLLATE "C")) DO UPDATE SET
  department_key = excluded.department_key,
  ispring_department_id = excluded.ispring_department_id,
  ispring_name = excluded.ispring_name, linked_at = excluded.linked_at
WHERE department_links.ispring_department_id <> excluded.ispring_department_id
   OR department_links.ispring_name <> excluded.ispring_name
   OR department_links.department_key <> excluded.department_key)sql";
constexpr const char* finish_run = R"sql(
UPDATE runs SET status = $2, ended_at = $3, counts_json = $4, message = $5
WHERE id = $1 AND status IN ('queued', 'running'))sql";
// Older than the $1 newest, and finished: a run still going is never pruned. Their plans go
// with them (ON DELETE CASCADE).
constexpr const char* prune_runs = R"sql(
DELETE FROM runs WHERE status NOT IN ('queued', 'running')
  AND id <= (SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET $1))sql";
constexpr const char* prune_run_plans = R"sql(
DELETE FROM run_plans
WHERE run_id <= (SELECT run_id FROM run_plans ORDER BY run_id DESC LIMIT 1 OFFSET $1))sql";
// From the front of the table (ids follow time): only the first few are looked at.
constexpr const char* prune_old_history = R"sql(
DELETE FROM user_history WHERE id IN (
  SELECT id FROM (SELECT id, time FROM user_history ORDER BY id LIMIT $2 * 4) AS front
  WHERE time < $1 LIMIT $2))sql";
constexpr const char* prune_user_history = R"sql(
DELETE FROM user_history WHERE id IN (
  SELECT id FROM user_history WHERE organization_id = $1 AND record_id = $2
  ORDER BY time DESC, id DESC LIMIT $4 OFFSET $3))sql";
constexpr const char* prune_notifications = R"sql(
DELETE FROM notifications WHERE (organization_id, notification_id) IN (
  SELECT organization_id, notification_id FROM notifications
  WHERE received_at < $1 ORDER BY received_at LIMIT $2))sql";
// Settled: applied or skipped, untouched since the cutoff, linked to no iSpring user.
constexpr const char* prune_settled_records = R"sql(
DELETE FROM records WHERE (organization_id, record_id) IN (
  SELECT r.organization_id, r.record_id FROM records r
  WHERE r.state = 'done' AND r.due_at < $1
    AND NOT EXISTS (SELECT 1 FROM links l
                    WHERE l.organization_id = r.organization_id AND l.record_id = r.record_id)
  LIMIT $2))sql";
constexpr const char* prune_orphan_keys = R"sql(
DELETE FROM user_keys WHERE (organization_id, record_id) IN (
  SELECT k.organization_id, k.record_id FROM user_keys k
  WHERE NOT EXISTS (SELECT 1 FROM records r
                    WHERE r.organization_id = k.organization_id AND r.record_id = k.record_id)
  LIMIT $1))sql";
}  // namespace sql

}  // namespace

namespace {

class postgres_store final : public reads_through<store>, private group_commit_engine {
 public:
  explicit postgres_store(const store_settings& settings)
      : reads_through(settings.postgresql_url),
        settings_(settings),
        runs_kept_(as_limit(std::max<std::size_t>(settings.runs_kept, 1))),
        plans_kept_(as_limit(settings.plans_kept)),
        history_cap_(as_limit(settings.history_max_events_per_user)),
        prune_batch_(std::max<std::size_t>(settings.history_prune_batch, 1)),
        time_(settings.time ? *settings.time : own_clock_),
        owner_(run_owner(settings.instance_id)),
        writer_session_(settings.postgresql_url),
        writer_(*this, {settings.max_batch_requests,
                        std::chrono::milliseconds(std::max(settings.history_prune_interval_ms, 1)),
                        settings.on_commit, "store-writer"}) {
    salesforce_field(settings.login_field);
    salesforce_field(settings.email_field);
    migrate_postgres(writer_session_.get());
    writer_.start();
  }

  // Graceful: the writer finishes every request accepted before this point.
  ~postgres_store() override { writer_.stop(); }

  postgres_store(const postgres_store&) = delete;
  postgres_store& operator=(const postgres_store&) = delete;

  // --- intake_sink ------------------------------------------------------------------------

  void submit(intake_request request, std::function<void(intake_outcome)> done) override {
    writer_.submit(std::move(request), std::move(done));
  }

  // --- work_queue -------------------------------------------------------------------------

  // A write: what it returns is claimed for this store's instance (cluster.hpp), so the
  // other instances on the database do not take it while this one lives.
  std::vector<pending_record> take_due(epoch_ms now, std::size_t limit) override {
    std::vector<pending_record> due;
    run_write([&](postgres_connection& db, history_rows&) {
      due = postgres_cluster::claim_due(db, owner_.instance, now, limit);
    });
    return due;
  }

  std::optional<pending_record> take_claimed(const std::string& organization_id,
                                             const std::string& record_id, epoch_ms now) override {
    std::optional<pending_record> record;
    run_write([&](postgres_connection& db, history_rows&) {
      record = postgres_cluster::claim_one(db, organization_id, record_id, owner_.instance, now);
    });
    return record;
  }

  std::vector<std::string> due_rereads(const std::string& organization_id, epoch_ms now,
                                       std::size_t limit, bool every_due) override {
    return read_([&](auto& db) {
      return postgres_reads::due_rereads(db, organization_id, now, limit, every_due);
    });
  }

  // Writes wait for their group commit and throw std::runtime_error when it failed.
  void mark_done(const std::string& organization_id, const std::string& record_id,
                 std::int64_t version, const std::string& outcome) override {
    run_write([&](postgres_connection& db, history_rows& history) {
      const auto changed =
          db.exec(sql::finish_record,
                  params().add(organization_id).add(record_id).add(version).add(outcome),
                  "mark record done");
      postgres_cluster::release_claim(db, organization_id, record_id, owner_.instance);
      after_apply(db, history, organization_id, record_id, version, changed.affected());
    });
  }

  void mark_failed(const std::string& organization_id, const std::string& record_id,
                   std::int64_t version, const std::string& error, epoch_ms retry_at,
                   bool dead) override {
    run_write([&](postgres_connection& db, history_rows& history) {
      const auto changed = db.exec(sql::fail_record,
                                   params()
                                       .add(organization_id)
                                       .add(record_id)
                                       .add(version)
                                       .add(error)
                                       .add(dead)
                                       .add(retry_at),
                                   "mark record failed");
      postgres_cluster::release_claim(db, organization_id, record_id, owner_.instance);
      after_apply(db, history, organization_id, record_id, version, changed.affected());
    });
  }

  void save_reread(const std::string& organization_id, const std::string& record_id,
                   std::int64_t version, const std::string& fields_json,
                   std::optional<epoch_ms> modstamp, bool replace) override {
    run_write(reread_writer(organization_id, record_id, version, fields_json, modstamp, replace));
  }

  // Rides along the next group commit; nobody waits (a failed commit loses it).
  void save_reread_soon(const std::string& organization_id, const std::string& record_id,
                        std::int64_t version, const std::string& fields_json,
                        std::optional<epoch_ms> modstamp, bool replace) override {
    if (!writer_.post(in_transaction(
            reread_writer(organization_id, record_id, version, fields_json, modstamp, replace))))
      throw std::runtime_error("store: the store is shutting down");
  }

  std::size_t requeue_dead(const std::string& record_id, epoch_ms now) override {
    std::size_t changed = 0;
    run_write([&](postgres_connection& db, history_rows& history) {
      const auto rows =
          db.exec(sql::requeue_dead, params().add(now).add(record_id), "re-queue dead letters");
      for (int i = 0; i < rows.rows(); ++i)
        add_history(history, rows.text(i, 0), rows.text(i, 1), now, history_kinds::requeued, "{}");
      changed = static_cast<std::size_t>(rows.rows());
    });
    return changed;
  }

  void mark_held(const std::string& organization_id, const std::string& record_id,
                 std::int64_t version, const std::string& reason) override {
    run_write([&](postgres_connection& db, history_rows& history) {
      const auto changed = db.exec(
          sql::hold_record, params().add(organization_id).add(record_id).add(version).add(reason),
          "hold record");
      postgres_cluster::release_claim(db, organization_id, record_id, owner_.instance);
      after_apply(db, history, organization_id, record_id, version, changed.affected());
    });
  }

  std::size_t release_held(const std::string& record_id, epoch_ms now) override {
    std::size_t changed = 0;
    run_write([&](postgres_connection& db, history_rows& history) {
      const auto rows =
          db.exec(sql::release_held, params().add(now).add(record_id), "release held records");
      for (int i = 0; i < rows.rows(); ++i)
        add_history(history, rows.text(i, 0), rows.text(i, 1), now, history_kinds::released,
                    R"({"version":)" + rows.text(i, 2) + "}");
      changed = static_cast<std::size_t>(rows.rows());
    });
    return changed;
  }

  void note_retirement(const std::string& organization_id, const std::string& record_id,
                       epoch_ms at, epoch_ms prune_before) override {
    run_write([&](postgres_connection& db, history_rows&) {
      db.exec("DELETE FROM worker_retirements WHERE time < $1", params().add(prune_before),
              "prune retirements");
      db.exec(
          "INSERT INTO worker_retirements (organization_id, record_id, time) "
          "VALUES ($1, $2, $3)",
          params().add(organization_id).add(record_id).add(at), "note retirement");
    });
  }

  std::vector<epoch_ms> retirements_since(const std::string& organization_id,
                                          epoch_ms since) override {
    return read_(
        [&](auto& db) { return postgres_reads::retirements_since(db, organization_id, since); });
  }

  std::vector<pending_record> records_in_flight(const std::string& organization_id) override {
    return read_([&](auto& db) { return postgres_reads::records_in_flight(db, organization_id); });
  }

  // --- user_links, department_links ----------------------------------------------------------

  void set_link(const std::string& organization_id, const std::string& record_id,
                const std::string& ispring_user_id) override {
    set_links(organization_id, {{record_id, ispring_user_id}});
  }

  std::vector<std::pair<std::string, std::string>> list_links(
      const std::string& organization_id) override {
    return read_([&](auto& db) { return postgres_reads::list_links(db, organization_id); });
  }

  void each_link(const std::string& organization_id, const link_visitor& visit) override {
    read_([&](auto& db) {
      postgres_reads::each_link(db, organization_id, visit);
      return 0;
    });
  }

  void set_links(const std::string& organization_id,
                 const std::vector<std::pair<std::string, std::string>>& links) override {
    if (links.empty()) return;
    std::vector<std::string> records, users;
    for (const auto& [record_id, user_id] : links) {
      records.push_back(record_id);
      users.push_back(user_id);
    }
    const epoch_ms now = system_clock().now();
    run_write([&](postgres_connection& db, history_rows&) {
      db.exec(sql::upsert_link,
              params().add(organization_id).add_array(records).add_array(users).add(now),
              "store links");
    });
  }

  void remove_link(const std::string& organization_id, const std::string& record_id) override {
    run_write([&](postgres_connection& db, history_rows&) {
      db.exec("DELETE FROM links WHERE organization_id = $1 AND record_id = $2",
              params().add(organization_id).add(record_id), "remove link");
    });
  }

  std::size_t count_links(const std::string& organization_id) override {
    return read_([&](auto& db) { return postgres_reads::count_links(db, organization_id); });
  }

  std::vector<department_link> list_department_links(const std::string& organization_id) override {
    return read_(
        [&](auto& db) { return postgres_reads::list_department_links(db, organization_id); });
  }

  void set_department_links(const std::string& organization_id,
                            const std::vector<department_link>& links) override {
    if (links.empty()) return;
    const epoch_ms now = system_clock().now();
    run_write([&](postgres_connection& db, history_rows&) {
      for (const auto& link : links)
        db.exec(sql::upsert_department_link,
                params()
                    .add(organization_id)
                    .add(link.key)
                    .add(link.department_id)
                    .add(link.name)
                    .add(now),
                "store department link");
    });
  }

  void remove_department_links(const std::string& organization_id,
                               const std::vector<std::string>& department_ids) override {
    if (department_ids.empty()) return;
    run_write([&](postgres_connection& db, history_rows&) {
      db.exec(
          "DELETE FROM department_links WHERE organization_id = $1 "
          "AND ispring_department_id = ANY ($2::text[])",
          params().add(organization_id).add_array(department_ids), "remove department links");
    });
  }

  // --- group_queue (postgres_group_queue.cpp): writes through the writer, like the rest ---

  void queue_group_additions(const std::vector<group_addition>& additions) override {
    if (additions.empty()) return;
    run_write([&](postgres_connection& db, history_rows&) {
      postgres_group_queue::queue(db, additions);
    });
  }

  std::optional<group_claim> claim_next_group(const std::string& owner, epoch_ms now,
                                              epoch_ms lease_until, std::size_t limit) override {
    std::optional<group_claim> claimed;
    run_write([&](postgres_connection& db, history_rows&) {
      claimed = postgres_group_queue::claim_next(db, owner, now, lease_until, limit);
    });
    return claimed;
  }

  bool claim_group(const std::string& group_id, const std::string& owner, epoch_ms now,
                   epoch_ms lease_until) override {
    bool claimed = false;
    run_write([&](postgres_connection& db, history_rows&) {
      claimed = postgres_group_queue::claim(db, group_id, owner, now, lease_until);
    });
    return claimed;
  }

  void finish_group(const std::string& group_id, const std::string& owner, std::int64_t up_to,
                    epoch_ms due_again_at) override {
    run_write([&](postgres_connection& db, history_rows&) {
      postgres_group_queue::finish(db, group_id, owner, up_to, due_again_at);
    });
  }

  void release_group(const std::string& group_id, const std::string& owner, epoch_ms retry_at,
                     const std::string& error) override {
    run_write([&](postgres_connection& db, history_rows&) {
      postgres_group_queue::release(db, group_id, owner, retry_at, error);
    });
  }

  // --- run_log ----------------------------------------------------------------------------

  std::int64_t create_run(const std::string& trigger, bool dry_run, epoch_ms now) override {
    std::int64_t id = 0;
    run_write([&](postgres_connection& db, history_rows&) {
      id = db.exec(R"sql(
INSERT INTO runs (triggered_by, dry_run, status, queued_at, owner_pid, owner_instance)
VALUES ($1, $2, 'queued', $3, $4, $5) RETURNING id)sql",
                   params().add(trigger).add(dry_run).add(now).add(owner_.pid).add(owner_.instance),
                   "create run")
               .int64(0, 0);
    });
    return id;
  }

  // The process that starts a run owns it from then on.
  void start_run(std::int64_t id, epoch_ms now) override {
    std::int64_t started = 0;
    run_write([&](postgres_connection& db, history_rows&) {
      started = db.exec(R"sql(
UPDATE runs SET status = 'running', started_at = $2, owner_pid = $3, owner_instance = $4
WHERE id = $1 AND status = 'queued')sql",
                        params().add(id).add(now).add(owner_.pid).add(owner_.instance), "start run")
                    .affected();
    });
    throw_unless_changed(started, "store: run " + std::to_string(id) +
                                      " cannot start: it is unknown or no longer queued");
  }

  // Not waited for: the newest counts of each run wait in progress_ for the writer, and one
  // queued job per run writes whatever is newest when its turn comes.
  // Not waited for (run_progress.hpp).
  void update_run_counts(std::int64_t id,
                         const std::map<std::string, std::int64_t>& counts) override {
    if (!progress_.offer(id, counts)) return;
    // Once stopping it is dropped: finish_run, or fail_interrupted_runs after restart, settles it.
    writer_.post(in_transaction(
        [this, id](postgres_connection& db, history_rows&) { write_progress(db, id); }));
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
    std::int64_t finished = 0;
    run_write([&](postgres_connection& db, history_rows&) {
      progress_.forget(id);  // progress queued before this ran; a later one finds no counts
      finished =
          db.exec(sql::finish_run,
                  params().add(id).add(status).add(now).add(counts_json).add(message), "finish run")
              .affected();
      if (finished == 0) return;
      if (!plan_json.empty()) {
        db.exec(R"sql(
INSERT INTO run_plans (run_id, plan_json) VALUES ($1, $2)
ON CONFLICT (run_id) DO UPDATE SET plan_json = excluded.plan_json)sql",
                params().add(id).add(plan_json), "store run plan");
      }
      db.exec(sql::prune_runs, params().add(runs_kept_), "prune runs");
      db.exec(sql::prune_run_plans, params().add(plans_kept_), "prune run plans");
    });
    throw_unless_changed(finished, "store: run " + std::to_string(id) +
                                       " cannot finish: it is unknown or already finished");
  }

  std::optional<run_record> running_run() override {
    const epoch_ms now = time_.now();
    return read_([&](auto& db) -> std::optional<run_record> {
      const auto live = postgres_cluster::live_instances(db, now);
      for (auto& stored : postgres_reads::unfinished_runs(db))
        if (owner_is_live(stored.owner.instance, owner_.instance, live))
          return std::move(stored.record);
      return std::nullopt;
    });
  }

  // Decided inside the write transaction, the runs locked, so no run starts or finishes
  // between the look and the update.
  std::size_t fail_interrupted_runs(epoch_ms now) override {
    std::size_t failed = 0;
    run_write([&](postgres_connection& db, history_rows&) {
      db.exec("SELECT id FROM runs WHERE status IN ('queued', 'running') FOR UPDATE",
              "lock unfinished runs");
      const auto live = postgres_cluster::live_instances(db, now);
      for (const auto& stored : postgres_reads::unfinished_runs(db)) {
        if (owner_is_live(stored.owner.instance, owner_.instance, live)) continue;
        db.exec(R"sql(
UPDATE runs SET status = 'failed', ended_at = $2, message = $3
WHERE id = $1 AND status IN ('queued', 'running'))sql",
                params().add(stored.record.id).add(now).add(interrupted_run_message),
                "fail interrupted run");
        ++failed;
      }
    });
    return failed;
  }

  // --- cluster ----------------------------------------------------------------------------

  void heartbeat(const instance_record& self) override {
    run_write(
        [&](postgres_connection& db, history_rows&) { postgres_cluster::heartbeat(db, self); });
  }

  void retire_instance(const std::string& id) override {
    run_write([&](postgres_connection& db, history_rows&) { postgres_cluster::retire(db, id); });
  }

  bool take_lease(const std::string& name, const std::string& holder, epoch_ms now) override {
    bool taken = false;
    run_write([&](postgres_connection& db, history_rows&) {
      taken = postgres_cluster::take_lease(db, name, holder, now);
    });
    return taken;
  }

  void release_lease(const std::string& name, const std::string& holder) override {
    run_write([&](postgres_connection& db, history_rows&) {
      postgres_cluster::release_lease(db, name, holder);
    });
  }

  std::string lease_holder(const std::string& name) override {
    return read_([&](auto& db) { return postgres_cluster::lease_holder(db, name); });
  }

  bool claim_slot(const std::string& name, epoch_ms due, const std::string& holder,
                  epoch_ms now) override {
    bool claimed = false;
    run_write([&](postgres_connection& db, history_rows&) {
      claimed = postgres_cluster::claim_slot(db, name, due, holder, now);
    });
    return claimed;
  }

  // --- history_log ------------------------------------------------------------------------

  void record_history(std::vector<history_event> events) override {
    if (events.empty()) return;
    for (auto& e : events)
      if (!is_json_object(e.details_json)) e.details_json = "{}";
    writer_.post(
        in_transaction([events = std::move(events)](postgres_connection&, history_rows& history) {
          for (const auto& e : events)
            history.add(e.organization_id, e.record_id, e.time, e.kind, e.details_json);
        }));
  }

  // --- store_reader -----------------------------------------------------------------------

  // --- store ------------------------------------------------------------------------------

  std::size_t prune_history(epoch_ms now, std::size_t max_rows) override {
    std::size_t removed = 0;
    run_write([&](postgres_connection& db, history_rows&) {
      removed = prune_history_in(db, now, max_rows);
    });
    return removed;
  }

  std::size_t prune_expired(epoch_ms now, std::size_t max_rows) override {
    std::size_t removed = 0;
    run_write([&](postgres_connection& db, history_rows&) {
      removed = prune_expired_in(db, now, max_rows, true);
    });
    return removed;
  }

  std::size_t commits_so_far() const override { return writer_.commits(); }

 private:
  using write_fn = std::function<void(postgres_connection&, history_rows&)>;

  void add_history(history_rows& history, const std::string& organization_id,
                   const std::string& record_id, epoch_ms time, const char* kind,
                   std::string details) {
    history.add(organization_id, record_id, time, kind, std::move(details));
  }

  // Runs `apply` in the writer's next transaction and returns once it is durable.
  void run_write(write_fn apply) { writer_.run(in_transaction(std::move(apply))); }

  // A write for the writer thread: intake queued before it in the batch goes first, so the
  // batch's writes happen in the order they were asked for.
  std::function<void()> in_transaction(write_fn apply) {
    return [this, apply = std::move(apply)] {
      flush_intake();
      apply(*db_, history_);
    };
  }

  // A read from Salesforce for the writer: merged into the stored fields, or replacing them
  // (a verified read), decided by newest_wins like everything intake writes.
  write_fn reread_writer(std::string organization_id, std::string record_id, std::int64_t version,
                         std::string fields_json, std::optional<epoch_ms> modstamp, bool replace) {
    return [=](postgres_connection& db, history_rows&) {
      const auto rows =
          db.exec(sql::record_for_reread, params().add(organization_id).add(record_id),
                  "select record to save a read");
      if (rows.rows() == 0) return;
      const auto row = decide_reread(postgres_reads::record_row_from(rows, 0, 0), version,
                                     fields_json, modstamp, replace);
      if (!row) return;  // a newer state arrived meanwhile: its mark to re-read stays
      db.exec(R"sql(
UPDATE records SET fields_json = $3, modstamp = $4, needs_reread = $5
WHERE organization_id = $1 AND record_id = $2)sql",
              params()
                  .add(organization_id)
                  .add(record_id)
                  .add(row->fields_json)
                  .add(row->modstamp)
                  .add(row->needs_reread),
              "save read record");
    };
  }

  // After mark_done/failed/held, in their transaction: the look-up keys follow the record,
  // and no row changed means a newer state arrived while the worker applied this one (it
  // stays pending and is applied next).
  void after_apply(postgres_connection& db, history_rows& history,
                   const std::string& organization_id, const std::string& record_id,
                   std::int64_t version, std::int64_t changed) {
    write_user_keys(db, organization_id, record_id);
    if (changed == 0) {
      add_history(history, organization_id, record_id, time_.now(), history_kinds::superseded,
                  R"({"applied_version":)" + std::to_string(version) + "}");
    }
  }

  // The mapping's login and e-mail as the record now holds them, written when they changed.
  void write_user_keys(postgres_connection& db, const std::string& organization_id,
                       const std::string& record_id) {
    const auto row = db.exec(
        "SELECT fields_json FROM records WHERE organization_id = $1 "
        "AND record_id = $2",
        params().add(organization_id).add(record_id), "read user keys");
    if (row.rows() == 0) return;
    auto fields = nlohmann::json::parse(row.text(0, 0), nullptr, false);
    if (!fields.is_object()) fields = nlohmann::json::object();
    const std::string login = field_text(fields, settings_.login_field);
    const std::string email = field_text(fields, settings_.email_field);
    db.exec(sql::upsert_keys,
            params()
                .add(organization_id)
                .add(record_id)
                .add(text::ascii_lower(login))
                .add(text::ascii_lower(email))
                .add(login)
                .add(email),
            "store user keys");
  }

  std::size_t prune_history_in(postgres_connection& db, epoch_ms now, std::size_t max_rows) {
    std::size_t removed = 0;
    if (settings_.history_retention_ms > 0) {
      removed += static_cast<std::size_t>(
          db.exec(sql::prune_old_history,
                  params().add(now - settings_.history_retention_ms).add(as_limit(max_rows)),
                  "prune old history")
              .affected());
    }
    // Users who gained events since the last look, a bounded number per step.
    constexpr std::size_t users_per_step = 200;
    for (std::size_t looked = 0; looked < users_per_step && removed < max_rows && !touched_.empty();
         ++looked) {
      const auto user = touched_.extract(touched_.begin()).value();
      removed += static_cast<std::size_t>(db.exec(sql::prune_user_history,
                                                  params()
                                                      .add(user.first)
                                                      .add(user.second)
                                                      .add(history_cap_)
                                                      .add(as_limit(max_rows - removed)),
                                                  "prune a user's history")
                                              .affected());
    }
    return removed;
  }

  // At most `max_rows` notification ids past the dedupe window, then, when due (or `force`),
  // settled records past it and their keys.
  std::size_t prune_expired_in(postgres_connection& db, epoch_ms now, std::size_t max_rows,
                               bool force) {
    if (settings_.notification_retention_ms <= 0) return 0;
    const epoch_ms cutoff = now - settings_.notification_retention_ms;
    auto removed = static_cast<std::size_t>(db.exec(sql::prune_notifications,
                                                    params().add(cutoff).add(as_limit(max_rows)),
                                                    "prune notification ids")
                                                .affected());
    const bool records_due = force || records_backlog_ || !last_records_prune_ ||
                             now - *last_records_prune_ >= settings_.records_prune_interval_ms;
    if (!records_due || removed >= max_rows) return removed;
    last_records_prune_ = now;
    const auto budget = max_rows - removed;
    const auto records = static_cast<std::size_t>(
        db.exec(sql::prune_settled_records, params().add(cutoff).add(as_limit(budget)),
                "prune settled records")
            .affected());
    records_backlog_ = records >= budget;
    if (records > 0) {
      removed += static_cast<std::size_t>(
          db.exec(sql::prune_orphan_keys, params().add(as_limit(budget)), "prune orphan keys")
              .affected());
    }
    return removed + records;
  }

  // --- the writer (group_commit_engine), on the writer thread ----------------------------

  void begin() override {
    history_.clear();
    totals_ = {};
    intake_.clear();
    db_ = nullptr;  // until connected: rollback() has nothing to undo
    db_ = &writer_session_.get();
    db_->exec("BEGIN", "begin transaction");
  }

  // Gathered, and applied together (apply_intake) before the next other write or the commit.
  void apply_intake(const intake_request& request, intake_outcome& outcome) override {
    intake_.push_back({&request, &outcome});
  }

  void flush_intake() {
    if (intake_.empty()) return;
    connector::store::apply_intake(*db_, intake_, settings_.requeue_stale_while_waiting, history_,
                                   totals_);
    intake_.clear();
  }

  void before_commit() override {
    flush_intake();
    for (std::size_t i = 0; history_cap_ > 0 && i < history_.size(); ++i)
      touched_.emplace(history_.organization_ids[i], history_.record_ids[i]);
    history_.insert(*db_);
    write_totals(*db_, totals_);
  }

  // COMMIT lost on the way counts as failed: a redelivery of what did commit is a duplicate,
  // acked then. A transaction that failed earlier answers COMMIT with ROLLBACK.
  void commit() override {
    auto* db = std::exchange(db_, nullptr);  // the transaction ends here, whatever happens
    try {
      if (db->exec("COMMIT", "commit transaction").command_tag() != "COMMIT")
        throw std::runtime_error("postgresql: commit transaction: rolled back");
    } catch (const postgres_error& e) {
      writer_session_.after_failure(e);
      throw;
    }
  }

  // Instances on one database lock the same records and groups in their own orders: the
  // loser of a deadlock (40P01) or a serialization conflict (40001) runs its batch again.
  bool may_retry(const std::exception& failure) const noexcept override {
    const auto* error = dynamic_cast<const postgres_error*>(&failure);
    return error != nullptr && !error->connection_lost() &&
           (error->sqlstate() == "40P01" || error->sqlstate() == "40001");
  }

  // A lost connection is dropped here, so the next batch reconnects (with back-off).
  void rollback() noexcept override {
    auto* db = std::exchange(db_, nullptr);
    if (db == nullptr) return;
    bool lost = !db->usable();
    if (!lost) {
      try {
        db->exec("ROLLBACK", "roll back transaction");
      } catch (const postgres_error& e) {
        lost = e.connection_lost();
      } catch (...) {
      }
      lost = lost || !db->usable();
    }
    if (lost)
      writer_session_.after_failure(postgres_error("postgresql: connection lost", "", true));
  }

  // A run's newest progress counts (update_run_counts), on the writer thread.
  void write_progress(postgres_connection& db, std::int64_t run_id) {
    const auto counts = progress_.take(run_id);
    if (!counts) return;  // finished meanwhile
    const auto changed = db.exec(
        "UPDATE runs SET counts_json = $2 WHERE id = $1 AND status IN ('queued', 'running')",
        params().add(run_id).add(counts_to_json(*counts)), "update run counts");
    if (changed.affected() == 0) progress_.wrote_nothing(run_id);
  }

  // Pruning, a small transaction of its own after the acks: a failure never fails intake.
  bool maintain(bool) override {
    try {
      auto& db = writer_session_.get();
      postgres_transaction transaction(db);
      const auto now = time_.now();
      const auto removed =
          prune_history_in(db, now, prune_batch_) + prune_expired_in(db, now, prune_batch_, false);
      transaction.commit();
      return removed >= prune_batch_ || !touched_.empty() || records_backlog_;
    } catch (const postgres_error& e) {
      writer_session_.after_failure(e);  // intake reports it; pruning tries again later
    } catch (const std::exception&) {
    }
    return false;
  }

  const store_settings settings_;
  const std::int64_t runs_kept_;
  const std::int64_t plans_kept_;
  const std::int64_t history_cap_;
  const std::size_t prune_batch_;
  const system_clock own_clock_;
  const connector::clock& time_;
  const process_identity owner_;  // of the runs this store creates and starts

  postgres_session writer_session_;  // the writer thread's, once it runs

  // The newest progress counts per run, until the writer takes them (update_run_counts).
  run_progress progress_;

  // Writer thread only: the open batch, and what pruning remembers.
  postgres_connection* db_ = nullptr;
  std::vector<intake_item> intake_;
  history_rows history_;
  intake_totals totals_;
  std::set<std::pair<std::string, std::string>> touched_;
  std::optional<epoch_ms> last_records_prune_;
  bool records_backlog_ = false;

  group_commit writer_;  // last: stopped first, while everything it uses still lives
};

// Read-only, beside running services: its own connection, never a migration.
class postgres_reader final : public reads_through<store_reader> {
 public:
  explicit postgres_reader(const std::string& url) : reads_through(url) {
    const auto version = read_([](auto& db) { return postgres_schema_version(db); });
    if (version == 0) {
      throw std::runtime_error(
          "store: the PostgreSQL database holds no connector data (no schema yet); run "
          "`connector serve` once to create it");
    }
    if (version > latest_postgres_schema_version()) {
      throw std::runtime_error("store: the PostgreSQL database has schema version " +
                               std::to_string(version) +
                               ", newer than this connector knows: run the newer connector");
    }
    schema_version_ = version;
  }
};

// What the operator reads when the store cannot open: the cause, never the password
// (postgres_error scrubs it; the URL is not repeated).
template <typename Open>
auto opening(const store_settings& settings, Open open) {
  const std::string problem = postgres_url_problem(settings.postgresql_url);
  if (!problem.empty()) throw std::runtime_error("store: store.postgresql_url " + problem);
  try {
    return open();
  } catch (const postgres_error& e) {
    throw std::runtime_error(std::string("store: cannot open the PostgreSQL store: ") + e.what());
  }
}

}  // namespace

std::unique_ptr<store> open_postgres_store(const store_settings& settings) {
  return opening(settings, [&]() -> std::unique_ptr<store> {
    return std::make_unique<postgres_store>(settings);
  });
}

std::unique_ptr<store_reader> open_postgres_reader(const store_settings& settings) {
  return opening(settings, [&]() -> std::unique_ptr<store_reader> {
    return std::make_unique<postgres_reader>(settings.postgresql_url);
  });
}

}  // namespace connector::store
