#pragma once
// Reconciliation runs as the operator sees them: recorded in the store from queued to their
// end (succeeded, failed, expired, stopped, stopped_by_safety_limit), one at a time, in the
// order they were asked for — by the schedule, `POST /admin/reconcile` or the CLI.
//
// The coordinator owns one thread: it starts queued runs, asks the schedule when the next
// one is due, and supervises the running one the seed's way (check its status after
// schedule.check_sync_status_after_seconds, expire it after
// check_sync_status_duration_minutes; a scheduled run also stops when the work window
// closes). A stopped run finishes the users being applied first.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "connector/clock.hpp"
#include "connector/config/config.hpp"
#include "connector/credentials_state.hpp"
#include "connector/expected.hpp"
#include "connector/ispring/api.hpp"
#include "connector/metrics/registry.hpp"
#include "connector/store/interfaces.hpp"
#include "connector/sync/reconciler.hpp"
#include "connector/sync/schedule.hpp"
#include "connector/sync/settings_snapshot.hpp"
#include "connector/sync/user_sync.hpp"

namespace connector::salesforce {
class rest_api;
}

namespace connector::app {

struct run_environment {
  const config::settings* settings = nullptr;
  // Settings edited in the admin page: a run takes the newest snapshot when it starts and
  // keeps it to its end (its revision is recorded with the run). Unset: `settings`.
  sync::settings_source current_settings;
  store::store* store = nullptr;  // runs, and what the reconciler uses
  ispring::api* ispring = nullptr;
  sync::salesforce_reader read_salesforce;
  // The organization the links belong to (asked of Salesforce once per run).
  std::function<expected<std::string, std::string>()> organization_id;
  const clock* time = nullptr;
  metrics::registry* metrics = nullptr;  // runs by status and their duration; may be null
  // The instance the runs belong to (holder of the reconciliation lease, claimer of the
  // schedule's due times); empty: this process's. Its heartbeat must be running.
  std::string instance_id;
};

// Salesforce REST access for runs, from the salesforce section; the error names the keys
// missing. `time` must outlive it.
struct salesforce_access {
  std::shared_ptr<salesforce::rest_api> api;
  sync::salesforce_reader read_users;
  std::function<expected<std::string, std::string>()> organization_id;
  // Users by record id, for changes Salesforce sent without data (GAP events).
  sync::record_reader read_user;
  const credentials_state* credentials = nullptr;  // owned by `api`: whether they work (alerts)
};
// `metrics` (optional) receives the REST client's connector_salesforce_* metrics.
// With `live`, the fields read follow the mapping of its newest snapshot (settings edited
// in the admin page); else `settings.mapping`'s.
expected<salesforce_access, std::string> make_salesforce_access(
    const config::settings& settings, clock& time, metrics::registry* metrics = nullptr,
    sync::settings_source live = {});

// How the sync worker (and `connector sync-user`) read notified users back from Salesforce:
// GAP events, partial change events and, with sync.verify_notifications, every
// notification, batched with the organization's other due records. Nothing to read with
// when `salesforce` is null (no REST credentials). `inbox` and `time` must outlive it.
sync::reread_options reread_options_for(const config::settings& settings,
                                        const salesforce_access* salesforce,
                                        store::work_queue& inbox, const clock& time,
                                        metrics::registry* metrics = nullptr);

// Declares connector_reconciliation_runs_total{status,dry_run} and
// connector_reconciliation_duration_seconds{dry_run} (recorded by execute_run when
// run_environment::metrics is set), and connector_reconciliation_last_success_timestamp_seconds,
// read from the run history at scrape time so runs of the CLI count too. `store` must
// outlive every scrape.
void add_reconciliation_metrics(metrics::registry& registry, store::store_reader& store);

// Why a run is asked to stop: the status it ends with and the operator's sentence.
struct stop_request {
  std::string status;  // "expired" or "stopped"
  std::string message;
};
using stop_check = std::function<std::optional<stop_request>()>;

// Runs the recorded run `run_id` (created by the caller) from start to end and records its
// outcome. `should_stop` is polled between pages and users. One reconciliation at a time
// across every instance on the store: the run stays queued while another instance holds
// the reconciliation lease, and starts once it is free (or ends as should_stop says).
// With `candidate` (the Sync preview: settings not saved, based on its revision) the run
// uses it instead of the revision in force, and records it was a candidate.
sync::reconcile_report execute_run(const run_environment& env, std::int64_t run_id, bool dry_run,
                                   sync::reconcile_progress& progress,
                                   const stop_check& should_stop,
                                   const sync::settings_snapshot* candidate = nullptr);

// A run as JSON for the admin API and `connector runs --json`: id, trigger, dry_run,
// status, queued_at, started_at, ended_at, duration_ms, counts, message, settings_revision
// (+ plan on request).
nlohmann::json run_to_json(const store::run_record& run);

// The settings revision a run ran on is kept among its counts under this key (0: none
// saved); run_to_json shows it apart from the counts.
inline constexpr const char* settings_revision_count = "settings_revision";
// A preview's run ran on candidate settings (settings_revision: what they were based on);
// run_to_json shows it as "settings_candidate": true.
inline constexpr const char* settings_candidate_count = "settings_candidate";
// The trigger of a Sync preview's run (POST /admin/settings/preview): always a dry run.
inline constexpr const char* preview_trigger = "preview";

class run_coordinator {
 public:
  run_coordinator(run_environment env, std::optional<sync::schedule> schedule);
  ~run_coordinator();
  run_coordinator(const run_coordinator&) = delete;
  run_coordinator& operator=(const run_coordinator&) = delete;

  void start();
  // Stops the running run cleanly (after its current users) and the thread; runs still
  // queued are recorded as stopped. Idempotent.
  void stop();

  // True once stop() was called.
  bool stopping();

  // Asks for a run without waiting (safe on the store's writer thread, where request()
  // would wait on itself): the coordinator's thread records and queues it. Requests made
  // while one is pending are folded into it.
  void request_soon(const std::string& trigger);

  // Queues a run and returns its id at once.
  std::int64_t request(const std::string& trigger, bool dry_run);

  // Queues a dry run on `candidate` (unsaved settings, the Sync preview) and returns its id.
  std::int64_t request_preview(sync::settings_snapshot candidate);

  // The run's record, with live progress while it runs; nullopt when unknown.
  std::optional<nlohmann::json> describe(std::int64_t id, bool with_plan);

  // SIGHUP: a new schedule applies from now on (the seed's "Change Schedule Job").
  void set_schedule(std::optional<sync::schedule> schedule);
  std::optional<epoch_ms> next_scheduled_run();

 private:
  void loop();
  struct queued_run {
    std::int64_t id = 0;
    bool dry_run = false;
    bool scheduled = false;
    std::optional<sync::settings_snapshot> candidate;  // a preview's
  };
  void run_one(const queued_run& run);
  // The schedule fires once per due time across instances: true when this one claimed it.
  bool claim_due_time(epoch_ms due);
  std::optional<sync::previous_run> last_run();

  run_environment env_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<sync::schedule> schedule_;
  std::deque<queued_run> queue_;
  std::optional<std::string> soon_;  // request_soon's trigger, until the thread queues it
  bool stopping_ = false;
  std::int64_t current_id_ = 0;
  std::shared_ptr<sync::reconcile_progress> progress_;
  std::thread thread_;
};

}  // namespace connector::app
