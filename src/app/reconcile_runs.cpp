#include "connector/app/reconcile_runs.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "connector/app/status_report.hpp"
#include "connector/log.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/salesforce/rest_client.hpp"
#include "connector/store/group_queue.hpp"
#include "connector/sync/group_drainer.hpp"
#include "connector/sync/mapping.hpp"

namespace connector::app {
namespace {

sync::run_end end_of(const std::string& status) {
  if (status == "succeeded") return sync::run_end::succeeded;
  if (status == "expired") return sync::run_end::expired;
  if (status == "stopped") return sync::run_end::stopped;
  if (status == "stopped_by_safety_limit") return sync::run_end::stopped_by_safety_limit;
  return sync::run_end::failed;
}

bool finished(const std::string& status) {
  return status != "queued" && status != "running";
}

struct run_families {
  metrics::counter_family& runs;
  metrics::histogram_family& durations;
};

run_families declare_run_metrics(metrics::registry& registry) {
  return {registry.counter("connector_reconciliation_runs_total",
                           "Full reconciliation runs this process finished, by status "
                           "(succeeded, failed, expired, stopped, stopped_by_safety_limit)",
                           {"status", "dry_run"}),
          registry.histogram("connector_reconciliation_duration_seconds",
                             "Time from a reconciliation run's start to its end", {"dry_run"},
                             {1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400})};
}

void record_run(metrics::registry& registry, const std::string& status, bool dry_run,
                epoch_ms took_ms) {
  const auto families = declare_run_metrics(registry);
  const char* dry = dry_run ? "true" : "false";
  families.runs.with({status, dry}).inc();
  families.durations.with({dry}).observe(static_cast<double>(took_ms) / 1000.0);
}

// The end of the newest successful run that is not a dry run among `runs`, in seconds.
std::optional<double> last_success_seconds(const std::vector<store::run_record>& runs) {
  for (const auto& run : runs) {
    if (run.status == "succeeded" && !run.dry_run && run.ended_at)
      return static_cast<double>(*run.ended_at) / 1000.0;
  }
  return std::nullopt;
}

const std::string& instance_of(const run_environment& env) {
  return env.instance_id.empty() ? store::this_instance_id() : env.instance_id;
}

// Waits, queued, until this instance holds the reconciliation lease; nullopt once it does,
// or why the run must end without starting. Polled once a second: the holder's run ends,
// or its heartbeat stops and the lease passes.
std::optional<stop_request> wait_for_lease(const run_environment& env, std::int64_t run_id,
                                           const stop_check& should_stop) {
  bool told = false;
  while (!env.store->take_lease(store::leases::reconciliation, instance_of(env), env.time->now())) {
    if (auto stop = should_stop ? should_stop() : std::nullopt) return stop;
    if (!told) {
      log::write(log::level::info, "run.waiting",
                 "reconciliation run {} waits: instance {} is running one", run_id,
                 env.store->lease_holder(store::leases::reconciliation));
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return std::nullopt;
}

// Frees the lease when the run ends, however it ends. A store that fails keeps it held
// until this instance's next run or its heartbeat stops.
struct lease_release {
  const run_environment& env;
  ~lease_release() {
    try {
      env.store->release_lease(store::leases::reconciliation, instance_of(env));
    } catch (const std::exception& e) {
      log::warn("run.lease_release_failed", "the reconciliation lease could not be released: {}",
                e.what());
    }
  }
};

}  // namespace

expected<salesforce_access, std::string> make_salesforce_access(const config::settings& settings,
                                                                clock& time,
                                                                metrics::registry* metrics,
                                                                sync::settings_source live) {
  const auto& sf = settings.salesforce;
  if (!config::has_rest_credentials(sf))
    return unexpected{std::string(
        "reading Salesforce users needs salesforce.client_id with either salesforce.username and "
        "salesforce.private_key (JWT bearer flow) or salesforce.client_secret (client "
        "credentials flow)")};
  salesforce::rest_client_options options;
  options.batch_size = sf.query_batch_size;
  auto api = std::make_shared<salesforce::rest_client>(sf, time, options, metrics);
  salesforce_access access;
  access.api = api;
  access.credentials = &api->credentials();
  // The fields the mapping reads, as of the call: a mapping saved in the page reaches the
  // next read.
  auto fields_now = [live, fixed = sync::required_salesforce_fields(settings.mapping)] {
    if (live)
      if (const auto now = live(); now.settings)
        return sync::required_salesforce_fields(now.settings->mapping);
    return fixed;
  };
  access.read_users = [api, sf,
                       fields_now](const auto& on_page) -> expected<std::size_t, std::string> {
    auto read = api->query(salesforce::build_query(sf, fields_now()), on_page);
    if (!read) return unexpected{read.error().to_string()};
    return *read;
  };
  access.read_user = [api, sf, fields_now](const std::vector<std::string>& record_ids)
      -> expected<std::map<std::string, nlohmann::json>, std::string> {
    const auto fields = fields_now();
    std::map<std::string, nlohmann::json> found;
    for (std::size_t from = 0; from < record_ids.size(); from += salesforce::max_ids_per_query) {
      const auto to = std::min(record_ids.size(), from + salesforce::max_ids_per_query);
      const std::vector<std::string> chunk(record_ids.begin() + static_cast<std::ptrdiff_t>(from),
                                           record_ids.begin() + static_cast<std::ptrdiff_t>(to));
      auto read = api->query(salesforce::build_query_for_ids(sf, fields, chunk),
                             [&found](std::vector<nlohmann::json>& records) {
                               for (auto& r : records) {
                                 const auto id = r.find("Id");
                                 if (id == r.end() || !id->is_string()) continue;
                                 const auto& text = id->get_ref<const std::string&>();
                                 found[salesforce::to_18_char_id(text).value_or(text)] =
                                     std::move(r);
                               }
                               return true;
                             });
      if (!read) return unexpected{read.error().to_string()};
    }
    return found;
  };
  std::vector<std::string> allowed;
  for (const auto& id : sf.organization_ids)
    allowed.push_back(salesforce::to_18_char_id(id).value_or(id));
  access.organization_id = [api, allowed]() -> expected<std::string, std::string> {
    auto org = api->organization_id();
    if (!org) return unexpected{"signing in to Salesforce failed: " + org.error().to_string()};
    const std::string id = salesforce::to_18_char_id(*org).value_or(*org);
    // Links and notifications are kept per organization: reading another org's users would
    // match them against this one's iSpring users.
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), id) == allowed.end())
      return unexpected{"the Salesforce credentials belong to organization " + id +
                        ", which is not in salesforce.organization_ids"};
    return id;
  };
  return access;
}

sync::reread_options reread_options_for(const config::settings& settings,
                                        const salesforce_access* salesforce,
                                        store::work_queue& inbox, const clock& time,
                                        metrics::registry* metrics) {
  sync::reread_options reread;
  if (!salesforce) return reread;
  reread.read = salesforce->read_user;
  reread.verify = config::verifies_notifications(settings);
  reread.others_due = [&inbox, &time, verify = reread.verify](const store::pending_record& record) {
    return inbox.due_rereads(record.organization_id, time.now(), salesforce::max_ids_per_query,
                             verify);
  };
  reread.time = &time;
  reread.metrics = metrics;
  return reread;
}

sync::reconcile_report execute_run(const run_environment& env, std::int64_t run_id, bool dry_run,
                                   sync::reconcile_progress& progress,
                                   const stop_check& should_stop,
                                   const sync::settings_snapshot* candidate) {
  const log::scope run("run_id", std::to_string(run_id));
  auto& store = *env.store;
  if (auto stop = wait_for_lease(env, run_id, should_stop)) {
    store.finish_run(run_id, stop->status, env.time->now(), {},
                     stop->message + " (before the run started)");
    sync::reconcile_report report;
    report.status = stop->status;
    report.message = stop->message;
    return report;
  }
  const lease_release release{env};
  // The revision in force now, to the run's end: a change saved meanwhile applies to the next.
  sync::settings_snapshot settings{0, nullptr};
  if (candidate) {
    settings = *candidate;
  } else if (env.current_settings) {
    settings = env.current_settings();
  }
  if (!settings.settings)
    settings.settings =
        std::shared_ptr<const config::settings>(env.settings, [](const config::settings*) {});
  const epoch_ms started = env.time->now();
  store.start_run(run_id, started);
  sync::reconcile_report report;
  try {
    auto organization = env.organization_id();
    if (!organization) {
      report.status = "failed";
      report.message = organization.error();
    } else {
      std::optional<stop_request> stop;
      sync::reconcile_options options;
      options.dry_run = dry_run;
      options.organization_id = *organization;
      options.run_id = run_id;
      options.now = [&env] { return env.time->now(); };
      options.concurrency =
          settings.settings->ispring ? settings.settings->ispring->max_concurrency : 4;
      // The store's group claims keep the run's member replaces apart from the drainers'.
      options.group_queue = &store;
      options.group_owner = sync::group_owner_id() + "/reconcile";
      options.stop_requested = [&] {
        if (!stop) stop = should_stop ? should_stop() : std::nullopt;
        return stop.has_value();
      };
      sync::reconciler reconciler(*settings.settings, *env.ispring, store, env.read_salesforce);
      report = reconciler.run(options, progress);
      if (report.status == "stopped" && stop) {
        report.status = stop->status;
        report.message = stop->message + "; " + report.message;
      }
    }
  } catch (const std::exception& e) {
    // A broken invariant or the store failing: the run ends failed, the service goes on.
    report.status = "failed";
    report.message = std::string("internal error: ") + e.what();
  }
  auto counts = report.counts;
  for (const auto& [key, value] : progress.counts())
    if (!counts.contains(key)) counts[key] = value;
  if (settings.revision > 0) counts[settings_revision_count] = settings.revision;
  if (candidate) counts[settings_candidate_count] = 1;
  const std::string plan = report.plan.is_null() ? std::string() : report.plan.dump();
  const epoch_ms ended = env.time->now();
  store.finish_run(run_id, report.status, ended, counts, report.message, plan);
  if (env.metrics) record_run(*env.metrics, report.status, dry_run, ended - started);
  const auto level = report.status == "succeeded" ? log::level::info : log::level::warn;
  log::write(level, "run.finished", "reconciliation run {} {}: {}", run_id, report.status,
             report.message);
  return report;
}

void add_reconciliation_metrics(metrics::registry& registry, store::store_reader& store) {
  const auto families = declare_run_metrics(registry);
  // Zeros from the start for what dashboards look at first.
  families.runs.with({"succeeded", "false"});
  families.runs.with({"failed", "false"});
  families.durations.with({"false"});
  // The newest success may lie further back than the few runs read per scrape.
  auto last = std::make_shared<std::atomic<double>>(
      last_success_seconds(store.list_runs(1000, false)).value_or(0));
  registry.add_collector([&store, last](metrics::scrape_writer& out) {
    if (const auto newest = last_success_seconds(store.list_runs(20, false)))
      last->store(std::max(last->load(), *newest));
    out.gauge("connector_reconciliation_last_success_timestamp_seconds",
              "When the last successful reconciliation run (not a dry run) ended, in seconds "
              "since the epoch; 0 before the first",
              last->load());
  });
}

nlohmann::json run_to_json(const store::run_record& run) {
  nlohmann::json j = {
      {"id", run.id},
      {"trigger", run.trigger},
      {"dry_run", run.dry_run},
      {"status", run.status},
      {"queued_at", format_utc(run.queued_at)},
      {"started_at",
       run.started_at ? nlohmann::json(format_utc(*run.started_at)) : nlohmann::json()},
      {"ended_at", run.ended_at ? nlohmann::json(format_utc(*run.ended_at)) : nlohmann::json()},
      {"counts", run.counts},
      {"message", run.message}};
  if (const auto revision = run.counts.find(settings_revision_count);
      revision != run.counts.end()) {
    j["settings_revision"] = revision->second;
    j["counts"].erase(settings_revision_count);
  }
  j["settings_candidate"] = run.counts.contains(settings_candidate_count);
  j["counts"].erase(settings_candidate_count);
  j["duration_ms"] = run.started_at && run.ended_at
                         ? nlohmann::json(*run.ended_at - *run.started_at)
                         : nlohmann::json();
  if (!run.plan_json.empty()) {
    auto plan = nlohmann::json::parse(run.plan_json, nullptr, false);
    if (!plan.is_discarded()) j["plan"] = std::move(plan);
  }
  return j;
}

// --- run_coordinator -----------------------------------------------------------------------

run_coordinator::run_coordinator(run_environment env, std::optional<sync::schedule> schedule)
    : env_(std::move(env)), schedule_(std::move(schedule)) {}

run_coordinator::~run_coordinator() {
  stop();
}

void run_coordinator::start() {
  thread_ = std::thread([this] { loop(); });
}

void run_coordinator::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  for (const auto& q : queue_)
    env_.store->finish_run(q.id, "stopped", env_.time->now(), {},
                           "the service stopped before the run started");
  queue_.clear();
}

bool run_coordinator::stopping() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void run_coordinator::request_soon(const std::string& trigger) {
  {
    std::lock_guard lock(mutex_);
    if (!soon_) soon_ = trigger;
  }
  wake_.notify_all();
}

std::int64_t run_coordinator::request(const std::string& trigger, bool dry_run) {
  const auto id = env_.store->create_run(trigger, dry_run, env_.time->now());
  {
    std::lock_guard lock(mutex_);
    queue_.push_back({id, dry_run, trigger == "scheduled", std::nullopt});
  }
  wake_.notify_all();
  return id;
}

std::int64_t run_coordinator::request_preview(sync::settings_snapshot candidate) {
  const auto id = env_.store->create_run(preview_trigger, true, env_.time->now());
  {
    std::lock_guard lock(mutex_);
    queue_.push_back({id, true, false, std::move(candidate)});
  }
  wake_.notify_all();
  return id;
}

std::optional<nlohmann::json> run_coordinator::describe(std::int64_t id, bool with_plan) {
  auto record = env_.store->find_run(id, with_plan);
  if (!record) return std::nullopt;
  auto j = run_to_json(*record);
  std::lock_guard lock(mutex_);
  if (id == current_id_ && progress_ && !finished(record->status)) {
    j["phase"] = progress_->phase_name();
    j["progress"] = progress_->counts();
  }
  return j;
}

void run_coordinator::set_schedule(std::optional<sync::schedule> schedule) {
  {
    std::lock_guard lock(mutex_);
    schedule_ = std::move(schedule);
  }
  wake_.notify_all();
}

std::optional<sync::previous_run> run_coordinator::last_run() {
  const auto last = env_.store->last_sync();
  if (!last || !last->started_at) return std::nullopt;
  return sync::previous_run{*last->started_at, last->ended_at, end_of(last->status)};
}

std::optional<epoch_ms> run_coordinator::next_scheduled_run() {
  std::optional<sync::schedule> schedule;
  {
    std::lock_guard lock(mutex_);
    schedule = schedule_;
  }
  if (!schedule || schedule->manual_only()) return std::nullopt;
  return schedule->next_run(env_.time->now(), last_run());
}

void run_coordinator::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (soon_) {
      const std::string trigger = std::move(*soon_);
      soon_.reset();
      lock.unlock();
      const auto id = env_.store->create_run(trigger, false, env_.time->now());
      lock.lock();
      queue_.push_back({id, false, false, std::nullopt});
      continue;
    }
    if (!queue_.empty()) {
      const auto next = queue_.front();
      queue_.pop_front();
      lock.unlock();
      run_one(next);
      lock.lock();
      continue;
    }
    // Is a scheduled run due? Never while another process runs one (the CLI).
    std::optional<epoch_ms> due;
    if (schedule_ && !schedule_->manual_only()) {
      auto schedule = *schedule_;
      lock.unlock();
      due = schedule.next_run(env_.time->now(), last_run());
      const bool busy = env_.store->running_run().has_value();
      // Every instance sees the same due time; the one that claims it runs, the others
      // let it pass.
      if (due && *due <= env_.time->now() && !busy && claim_due_time(*due)) {
        lock.lock();
        if (stopping_) break;
        const auto id = env_.store->create_run("scheduled", false, env_.time->now());
        queue_.push_back({id, false, true, std::nullopt});
        continue;
      }
      lock.lock();
    }
    // Wake at least once a second: the clock may be moved by tests, and the CLI may finish
    // a run in another process.
    wake_.wait_for(lock, std::chrono::seconds(1));
  }
}

bool run_coordinator::claim_due_time(epoch_ms due) {
  const auto& self = instance_of(env_);
  if (env_.store->claim_slot("schedule", due, self, env_.time->now())) return true;
  log::debug("run.not_ours", "the scheduled run due at {} is another instance's", format_utc(due));
  return false;
}

void run_coordinator::run_one(const queued_run& run) {
  const auto id = run.id;
  const bool scheduled = run.scheduled;
  auto progress = std::make_shared<sync::reconcile_progress>();
  std::optional<sync::schedule> schedule;
  {
    std::lock_guard lock(mutex_);
    current_id_ = id;
    progress_ = progress;
    schedule = schedule_;
  }
  const epoch_ms started = env_.time->now();
  std::optional<epoch_ms> next_check;
  if (schedule) next_check = schedule->first_status_check(started);
  const stop_check should_stop = [&]() -> std::optional<stop_request> {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return stop_request{"stopped", "the service is stopping"};
    }
    if (!schedule) return std::nullopt;
    const epoch_ms now = env_.time->now();
    if (scheduled && !schedule->manual_only() && !schedule->in_window(now))
      return stop_request{"stopped", "the work window closed"};
    // The seed's status check: look after check_sync_status_after_seconds, then as often;
    // a run still going after check_sync_status_duration_minutes has expired.
    if (next_check && now >= *next_check) {
      if (schedule->expired(started, now))
        return stop_request{"expired",
                            "still running after " + std::to_string((now - started) / 60'000) +
                                " minutes (schedule.check_sync_status_duration_minutes)"};
      while (*next_check <= now) next_check = schedule->next_status_check(*next_check);
    }
    return std::nullopt;
  };
  execute_run(env_, id, run.dry_run, *progress, should_stop,
              run.candidate ? &*run.candidate : nullptr);
  std::lock_guard lock(mutex_);
  current_id_ = 0;
  progress_.reset();
}

}  // namespace connector::app
