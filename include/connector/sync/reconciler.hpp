#pragma once
// The full reconciliation, in four steps: read both sides at once — every iSpring user,
// department and group into a packed index, and every Salesforce user (REST, paged), each
// page planned against the index as it arrives (reconcile_plan.hpp) so only the users with
// changes stay in memory; plan the rest (retired links, departments, the safety limit);
// apply the changes with the same applier as the notification worker, a few users at a time;
// finish (links, group additions, department deletions, the report). A dry run stops after
// the plan. The run can be asked to stop (work window closed, run expired, shutdown): it
// finishes the users being applied and returns.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "connector/config/config.hpp"
#include "connector/expected.hpp"
#include "connector/ispring/api.hpp"
#include "connector/store/group_queue.hpp"
#include "connector/store/interfaces.hpp"

namespace connector::sync {

// Reads every Salesforce user in scope of the query, page by page; `on_page` returns false
// to stop early. The app wires it to the Salesforce REST client; tests may feed records.
using salesforce_reader = std::function<expected<std::size_t, std::string>(
    const std::function<bool(std::vector<nlohmann::json>& records)>& on_page)>;

// Read by other threads while a run goes on (the admin API, a terminal's progress line).
struct reconcile_progress {
  std::atomic<std::int64_t> salesforce_read{0};
  std::atomic<std::int64_t> ispring_read{0};
  std::atomic<std::int64_t> planned{0};
  std::atomic<std::int64_t> to_apply{0};
  std::atomic<std::int64_t> applied{0};
  std::atomic<std::int64_t> failed{0};
  std::atomic<int> phase{0};  // 0 reading, 1 planning, 2 applying, 3 finished

  const char* phase_name() const;
  std::map<std::string, std::int64_t> counts() const;
};

struct reconcile_options {
  bool dry_run = false;
  int concurrency = 4;          // users applied at once
  std::string organization_id;  // the links' organization (18 characters)
  std::int64_t run_id = 0;      // named in the history of every user the run changes
  // Checked between users and pages: true stops the run cleanly.
  std::function<bool()> stop_requested;
  bool plan_all_rows = false;  // dry run output: unchanged users too
  int ispring_page_size = 1000;
  // The time of history events; unset: the system clock.
  std::function<epoch_ms()> now;
  // Where group drainers claim groups (group_drainer.hpp): the run's member replaces take the
  // same claim, as `group_owner`. None: no drainer to race.
  store::group_queue* group_queue = nullptr;
  std::string group_owner;
};

struct reconcile_report {
  // "succeeded", "failed", "stopped" (stop_requested), "stopped_by_safety_limit".
  std::string status = "failed";
  std::string message;
  std::map<std::string, std::int64_t> counts;  // the plan's counts plus "applied", "failed"
  nlohmann::json plan;                         // dry runs and safety stops: plan_to_json; else null
  std::string plan_table;                      // dry runs and safety stops: plan_to_table
  std::vector<std::string> failures;  // "0055…: update user …: HTTP 400 …" (the first 100)
};

// What a reconciliation reads and writes of the store: links, department links, the records
// the worker has yet to apply, and the users' history.
struct reconciler_store {
  reconciler_store(store::user_links& links, store::department_links& departments,
                   store::work_queue& queue, store::history_log& history)
      : links(links), departments(departments), queue(queue), history(history) {}
  reconciler_store(store::store& all)  // NOLINT(google-explicit-constructor): every part of one
      : reconciler_store(all, all, all, all) {}

  store::user_links& links;
  store::department_links& departments;
  store::work_queue& queue;
  store::history_log& history;
};

class reconciler {
 public:
  // All must outlive the reconciler. One run at a time per reconciler.
  reconciler(const config::settings& settings, ispring::api& api, reconciler_store store,
             salesforce_reader read_salesforce);

  reconcile_report run(const reconcile_options& options, reconcile_progress& progress);

 private:
  struct run_state;
  bool read_both(run_state& run);
  bool plan(run_state& run);
  void apply(run_state& run);
  void finish(run_state& run);

  const config::settings& settings_;
  ispring::api& api_;
  reconciler_store store_;
  salesforce_reader read_salesforce_;
};

}  // namespace connector::sync
