#include "connector/alerts/monitor.hpp"

#include <unistd.h>

#include <algorithm>

#include "connector/log.hpp"

namespace connector::alerts {
namespace {

constexpr std::size_t runs_looked_at = 20;
constexpr std::size_t dead_letter_examples = 3;

// How a run that did not succeed ended, or nothing for runs that are no problem.
std::optional<std::string> problem_of(const store::run_record& run) {
  if (run.status == "failed") return std::string("failed");
  if (run.status == "expired") return std::string("expired");
  if (run.status == "stopped_by_safety_limit")
    return std::string("was stopped by the safety limit");
  return std::nullopt;
}

std::string run_name(const store::run_record& run) {
  return "run " + std::to_string(run.id) + " (" + run.trigger + ")";
}

std::string minutes_text(std::int64_t ms) {
  const auto minutes = ms / 60'000;
  if (minutes >= 1) return std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes");
  const auto seconds = ms / 1000;
  return std::to_string(seconds) + (seconds == 1 ? " second" : " seconds");
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return {};
  return name;
}

}  // namespace

condition_tracker::condition_tracker(std::chrono::milliseconds pending_age_threshold)
    : pending_age_threshold_(pending_age_threshold) {}

observation condition_tracker::look(epoch_ms now, const service_readings& readings) {
  observation found;
  look_at_runs(readings, now, found[alert_kind::reconciliation]);
  look_at_dead_letters(readings, now, found[alert_kind::dead_letters]);
  look_at_credentials(readings.ispring, "iSpring Learn", now, ispring_,
                      found[alert_kind::ispring_credentials]);
  look_at_credentials(readings.salesforce, "Salesforce", now, salesforce_,
                      found[alert_kind::salesforce_credentials]);
  look_at_pending_age(readings, now, found[alert_kind::pending_age]);
  look_at_held(readings, now, found[alert_kind::held_by_safety_limit]);
  first_ = false;
  return found;
}

void condition_tracker::look_at_runs(const service_readings& readings, epoch_ms now,
                                     kind_observation& out) {
  // Oldest first, so the events read in the order the runs ended.
  std::set<std::int64_t> finished;
  for (auto run = readings.runs.rbegin(); run != readings.runs.rend(); ++run) {
    if (!store::is_finished_run_status(run->status)) continue;
    finished.insert(run->id);
    const bool seen = finished_runs_seen_.count(run->id) != 0;
    // A run stopped by the operator says nothing either way.
    if (run->status == "stopped") continue;
    const auto problem = problem_of(*run);
    reconciliation_failing_ = problem.has_value();
    if (!problem) last_success_ = run_name(*run) + " succeeded.";
    if (seen || first_ || !problem) continue;
    std::string text = run_name(*run) + " " + *problem;
    if (!run->message.empty()) text += ": " + run->message;
    out.events.push_back({run->ended_at.value_or(now), std::move(text)});
  }
  finished_runs_seen_ = std::move(finished);  // only the newest are listed: forget the rest
  out.problem_now = reconciliation_failing_;
  out.recovery_text = last_success_;
}

void condition_tracker::look_at_dead_letters(const service_readings& readings, epoch_ms now,
                                             kind_observation& out) {
  const std::int64_t count = readings.stats.dead_letters;
  if (count > dead_letters_ && !first_) {
    const auto added = count - dead_letters_;
    std::string text = std::to_string(added) + (added == 1 ? " user" : " users") +
                       " dead-lettered (" + std::to_string(count) + " dead letters now)";
    std::string examples;
    for (std::size_t i = 0; i < readings.newest_dead.size() && i < dead_letter_examples &&
                            i < static_cast<std::size_t>(added);
         ++i) {
      const auto& record = readings.newest_dead[i];
      examples += (examples.empty() ? "" : "; ") + record.record_id + ": " + record.last_error;
    }
    if (!examples.empty()) text += (added == 1 ? ": " : ", e.g. ") + examples;
    out.events.push_back({now, std::move(text)});
  }
  dead_letters_ = count;
  out.problem_now = count > 0;
  out.recovery_text = "No dead letters left: they were retried or resolved.";
}

// An event when the credentials are refused (also if they were accepted again before this
// look), and a problem for as long as the last call was refused.
void condition_tracker::look_at_credentials(
    const std::optional<credentials_state::snapshot>& snapshot, const char* service, epoch_ms now,
    credentials_seen& before, kind_observation& out) {
  if (!snapshot) return;
  const bool refused = snapshot->state == credentials_state::verdict::refused;
  if (snapshot->refusals > before.refusals && !before.refused) {
    out.events.push_back({refused ? snapshot->since : now,
                          std::string(service) + " refused the credentials" +
                              (snapshot->reason.empty() ? "" : ": " + snapshot->reason)});
  }
  before = {refused, snapshot->refusals};
  out.problem_now = refused;
  if (snapshot->state == credentials_state::verdict::accepted) {
    out.recovery_text = std::string(service) + " accepted the credentials again at " +
                        utc_clock_time(snapshot->since) + " UTC.";
  }
}

void condition_tracker::look_at_pending_age(const service_readings& readings, epoch_ms now,
                                            kind_observation& out) {
  const auto& stats = readings.stats;
  const auto counts =
      std::to_string(stats.pending) + " pending, " + std::to_string(stats.retrying) + " retrying";
  const auto age = stats.oldest_waiting_since ? now - *stats.oldest_waiting_since : 0;
  const bool too_long = stats.oldest_waiting_since && age > pending_age_threshold_.count();
  if (too_long && !waiting_too_long_) {
    out.events.push_back({now, "the oldest waiting change arrived " + minutes_text(age) +
                                   " ago (at " + utc_clock_time(*stats.oldest_waiting_since) +
                                   " UTC; threshold " +
                                   minutes_text(pending_age_threshold_.count()) + "); " + counts});
  }
  waiting_too_long_ = too_long;
  out.problem_now = too_long;
  out.recovery_text = stats.oldest_waiting_since ? "The oldest waiting change is " +
                                                       minutes_text(age) + " old (" + counts + ")."
                                                 : "Nothing waits for iSpring Learn any more.";
}

// Like dead letters: newly held records are an event (a restart takes stock without mailing
// again), and the problem lasts while any is held.
void condition_tracker::look_at_held(const service_readings& readings, epoch_ms now,
                                     kind_observation& out) {
  const std::int64_t count = readings.stats.held;
  if (count > held_ && !first_) {
    const auto added = count - held_;
    std::string text = std::to_string(added) + (added == 1 ? " user" : " users") +
                       " held by the safety limit (" + std::to_string(count) + " held now)";
    std::string examples;
    for (std::size_t i = 0; i < readings.newest_held.size() && i < dead_letter_examples &&
                            i < static_cast<std::size_t>(added);
         ++i)
      examples += (examples.empty() ? "" : ", ") + readings.newest_held[i].record_id;
    if (!examples.empty()) text += (added == 1 ? ": " : ", e.g. ") + examples;
    if (!readings.newest_held.empty()) text += "; " + readings.newest_held.front().last_outcome;
    out.events.push_back({now, std::move(text)});
  }
  held_ = count;
  out.problem_now = count > 0;
  out.recovery_text =
      "Nothing is held by the safety limit any more: the held users were released, or newer "
      "notifications replaced them.";
}

alert_policy_options policy_options(const config::alerts_settings& settings) {
  alert_policy_options o;
  o.min_interval = settings.min_interval_seconds
                       ? std::chrono::milliseconds(*settings.min_interval_seconds * 1000LL)
                       : std::chrono::milliseconds(settings.min_interval_minutes * 60'000LL);
  const auto host = host_name();
  o.service_name = host.empty() ? "connector" : "connector on " + host;
  return o;
}

std::chrono::milliseconds pending_age_threshold(const config::alerts_settings& settings) {
  return std::chrono::milliseconds(settings.pending_age_threshold_minutes * 60'000LL);
}

alert_monitor::alert_monitor(const config::alerts_settings& settings, monitor_sources sources,
                             std::unique_ptr<mailer> out)
    : sources_(sources),
      check_interval_(std::chrono::seconds(settings.check_interval_seconds)),
      mailer_(std::move(out)),
      policy_(policy_options(settings), *mailer_),
      tracker_(pending_age_threshold(settings)) {}

alert_monitor::~alert_monitor() {
  stop();
}

void alert_monitor::start() {
  thread_ = std::thread([this] { run(); });
}

void alert_monitor::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void alert_monitor::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    check_once();
    lock.lock();
    wake_.wait_for(lock, check_interval_, [this] { return stopping_; });
  }
}

void alert_monitor::check_once() {
  try {
    service_readings readings;
    readings.stats = sources_.store->stats();
    readings.runs = sources_.store->list_runs(runs_looked_at, false);
    if (readings.stats.dead_letters > 0) {
      readings.newest_dead =
          sources_.store->list_records(store::record_state::dead, dead_letter_examples);
    }
    if (readings.stats.held > 0) {
      readings.newest_held =
          sources_.store->list_records(store::record_state::held, dead_letter_examples);
    }
    if (sources_.ispring) readings.ispring = sources_.ispring->current();
    if (sources_.salesforce) readings.salesforce = sources_.salesforce->current();
    const auto now = sources_.time->now();
    policy_.observe(now, tracker_.look(now, readings));
  } catch (const std::exception& e) {
    // The store is busy or failing: the next look tries again; the service goes on.
    log::warn("alerts.check_failed", "alerts: cannot look at the service's state: {}", e.what());
  }
}

std::unique_ptr<alert_monitor> start_alert_monitor(const config::settings& settings,
                                                   monitor_sources sources) {
  if (!settings.alerts) return nullptr;
  if (settings.alerts->email_to.empty()) {
    log::warn("alerts.off",
              "alerts are off: alerts.email_to is not set (in the file or the admin page)");
    return nullptr;
  }
  auto out = std::make_unique<smtp_mailer>(*settings.alerts, *sources.time);
  std::string to;
  for (const auto& address : settings.alerts->email_to) to += (to.empty() ? "" : ", ") + address;
  log::info("alerts.on", "alerts: e-mail to {} via {}", to, out->describe());
  auto monitor = std::make_unique<alert_monitor>(*settings.alerts, sources, std::move(out));
  monitor->start();
  return monitor;
}

}  // namespace connector::alerts
