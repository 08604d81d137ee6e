#pragma once
// Watching the running service for the problems the administrator is e-mailed about. It
// polls what exists already (the store's counts and run history, the clients' credentials
// state) every few seconds on a thread of its own, so neither the intake nor the worker
// ever waits for an e-mail.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "connector/alerts/alert_policy.hpp"
#include "connector/alerts/mailer.hpp"
#include "connector/clock.hpp"
#include "connector/config/config.hpp"
#include "connector/credentials_state.hpp"
#include "connector/store/interfaces.hpp"

namespace connector::alerts {

// What one look reads from the service.
struct service_readings {
  store::inbox_stats stats;
  std::vector<store::run_record> runs;                    // newest first, dry runs left out
  std::vector<store::pending_record> newest_dead;         // a few dead letters, as examples
  std::vector<store::pending_record> newest_held;         // a few held records, as examples
  std::optional<credentials_state::snapshot> ispring;     // none: not configured
  std::optional<credentials_state::snapshot> salesforce;  // none: not configured
};

// Turns successive readings into observations: what happened since the previous look, and
// whether each problem holds now. The first look only takes stock of runs and dead letters
// that are already there (a restart does not mail them again); a condition that holds at
// the first look (credentials refused, changes waiting too long) is reported.
class condition_tracker {
 public:
  explicit condition_tracker(std::chrono::milliseconds pending_age_threshold);
  observation look(epoch_ms now, const service_readings& readings);

 private:
  struct credentials_seen {
    bool refused = false;
    std::uint64_t refusals = 0;
  };
  void look_at_runs(const service_readings& readings, epoch_ms now, kind_observation& out);
  void look_at_dead_letters(const service_readings& readings, epoch_ms now, kind_observation& out);
  static void look_at_credentials(const std::optional<credentials_state::snapshot>& snapshot,
                                  const char* service, epoch_ms now, credentials_seen& before,
                                  kind_observation& out);
  void look_at_pending_age(const service_readings& readings, epoch_ms now, kind_observation& out);
  void look_at_held(const service_readings& readings, epoch_ms now, kind_observation& out);

  std::chrono::milliseconds pending_age_threshold_;
  bool first_ = true;
  std::set<std::int64_t> finished_runs_seen_;
  bool reconciliation_failing_ = false;
  std::string last_success_;
  std::int64_t dead_letters_ = 0;
  credentials_seen ispring_, salesforce_;
  bool waiting_too_long_ = false;
  std::int64_t held_ = 0;
};

// The alerts' settings as the policy and the monitor use them.
alert_policy_options policy_options(const config::alerts_settings& settings);
std::chrono::milliseconds pending_age_threshold(const config::alerts_settings& settings);

struct monitor_sources {
  store::store_reader* store = nullptr;
  const credentials_state* ispring = nullptr;     // null: not configured
  const credentials_state* salesforce = nullptr;  // null: not configured
  const clock* time = nullptr;
};

class alert_monitor {
 public:
  alert_monitor(const config::alerts_settings& settings, monitor_sources sources,
                std::unique_ptr<mailer> out);
  ~alert_monitor();
  alert_monitor(const alert_monitor&) = delete;
  alert_monitor& operator=(const alert_monitor&) = delete;

  void start();
  // Waits for an e-mail being sent (bounded by the SMTP timeouts).
  void stop();

 private:
  void run();
  void check_once();

  monitor_sources sources_;
  std::chrono::milliseconds check_interval_;
  std::unique_ptr<mailer> mailer_;
  alert_policy policy_;
  condition_tracker tracker_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// The monitor the service runs when the configuration has an alerts section (started, with
// the SMTP mailer), or null without one.
std::unique_ptr<alert_monitor> start_alert_monitor(const config::settings& settings,
                                                   monitor_sources sources);

}  // namespace connector::alerts
