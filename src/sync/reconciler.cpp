#include "connector/sync/reconciler.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "connector/log.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/sync/applier.hpp"
#include "connector/sync/mapping.hpp"
#include "connector/sync/reconcile_plan.hpp"
#include "text.hpp"

namespace connector::sync {
namespace {

constexpr std::size_t max_failures_kept = 100;

// The process's peak resident memory so far, in MB, for the phase logs.
long peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

// Users a run changed, for their histories: handed to the store a thousand at a time, so a
// run over 100,000 users adds a few hundred writes to the writer's group commits, not 100,000.
class run_history {
 public:
  run_history(store::history_log& store, const reconcile_options& options)
      : store_(store), options_(options) {}
  ~run_history() { flush(); }

  // Under the caller's lock.
  void add(const desired_user& user, const apply_result& result, epoch_ms now) {
    nlohmann::json details = {{"run_id", options_.run_id},
                              {"action", to_string(user.action)},
                              {"reason", user.reason},
                              {"ok", result.ok}};
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& step : result.steps)
      if (step.outcome == step_outcome::changed) changes.push_back(step.to_string());
    if (!changes.empty()) details["changes"] = std::move(changes);
    if (result.error) details["error"] = result.error->to_string();
    if (!result.ispring_user_id.empty()) details["ispring_user_id"] = result.ispring_user_id;
    store::history_event e;
    e.organization_id = options_.organization_id;
    e.record_id = user.record_id;
    e.time = now;
    e.kind = store::history_kinds::reconciled;
    e.details_json = details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    events_.push_back(std::move(e));
    if (events_.size() >= batch) flush();
  }

  void flush() {
    if (events_.empty()) return;
    store_.record_history(std::move(events_));
    events_.clear();
  }

 private:
  static constexpr std::size_t batch = 1000;
  store::history_log& store_;
  const reconcile_options& options_;
  std::vector<store::history_event> events_;
};

epoch_ms wall_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool stopping(const reconcile_options& options) {
  return options.stop_requested && options.stop_requested();
}

struct ispring_state {
  std::deque<ispring::user> users;
  std::shared_ptr<const directory_snapshot> directory;
  std::optional<ispring::failure> error;
  bool stopped = false;
};

// Every iSpring user and the departments and groups. Users are read one department at a
// time, a few departments at once: the pages of one list follow each other (keyset tokens),
// so one list of 100,000 users is 100 round trips in a row. Every user is in exactly one
// department; one moved during the read may show twice (kept once) or not at all (then it
// looks new, and the create is refused as a duplicate and linked instead).
void read_ispring(ispring::api& api, directory& dir, const reconcile_options& options,
                  reconcile_progress& progress, ispring_state& out) {
  auto snapshot = dir.snapshot();
  if (!snapshot) {
    out.error = snapshot.error();
    return;
  }
  out.directory = *snapshot;
  const auto& departments = out.directory->departments;
  const std::size_t readers = std::min<std::size_t>(
      static_cast<std::size_t>(std::max(options.concurrency, 1)), departments.size());
  if (readers <= 1) {
    std::string token;
    do {
      if (stopping(options)) {
        out.stopped = true;
        return;
      }
      auto page = api.list_users_page(token, options.ispring_page_size);
      if (!page) {
        out.error = page.error();
        return;
      }
      progress.ispring_read += static_cast<std::int64_t>(page->items.size());
      for (auto& u : page->items) out.users.push_back(std::move(u));
      token = std::move(page->next_page_token);
    } while (!token.empty());
    return;
  }
  std::mutex mutex;
  std::atomic<std::size_t> next{0};
  std::unordered_set<std::string> seen;
  const auto read_departments = [&] {
    for (;;) {
      {
        std::lock_guard lock(mutex);
        if (out.error || out.stopped) return;
        if (stopping(options)) {
          out.stopped = true;
          return;
        }
      }
      const std::size_t i = next++;
      if (i >= departments.size()) return;
      ispring::user_filter filter;
      filter.department_ids = {departments[i].id};
      auto users = api.list_users(filter);
      std::lock_guard lock(mutex);
      if (!users) {
        if (!out.error) out.error = users.error();
        return;
      }
      progress.ispring_read += static_cast<std::int64_t>(users->size());
      for (auto& u : *users)
        if (seen.insert(u.id).second) out.users.push_back(std::move(u));
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < readers; ++t) threads.emplace_back(read_departments);
  read_departments();
  for (auto& t : threads) t.join();
}

}  // namespace

const char* reconcile_progress::phase_name() const {
  switch (phase.load()) {
    case 0:
      return "reading";
    case 1:
      return "planning";
    case 2:
      return "applying";
    default:
      return "finished";
  }
}

std::map<std::string, std::int64_t> reconcile_progress::counts() const {
  return {{"salesforce_read", salesforce_read.load()},
          {"ispring_read", ispring_read.load()},
          {"planned", planned.load()},
          {"to_apply", to_apply.load()},
          {"applied", applied.load()},
          {"failed", failed.load()}};
}

reconciler::reconciler(const config::settings& settings, ispring::api& api, reconciler_store store,
                       salesforce_reader read_salesforce)
    : settings_(settings), api_(api), store_(store), read_salesforce_(std::move(read_salesforce)) {}

reconcile_report reconciler::run(const reconcile_options& options, reconcile_progress& progress) {
  reconcile_report report;
  progress.phase = 0;
  directory dir(api_);
  using steady = std::chrono::steady_clock;
  const auto started = steady::now();
  const auto seconds_since = [](steady::time_point t) {
    return std::chrono::duration<double>(steady::now() - t).count();
  };

  // Both sides are read at once: each is mostly waiting on the network.
  ispring_state ispring;
  std::thread ispring_reader([&] { read_ispring(api_, dir, options, progress, ispring); });

  reconcile_input input;
  bool salesforce_stopped = false;
  std::size_t skipped_records = 0;
  // Pages are mapped on a thread of their own, so the next page is already on its way while
  // one is mapped (two pages at most wait: the memory stays bounded).
  std::mutex pages_mutex;
  std::condition_variable pages_changed;
  std::deque<std::vector<nlohmann::json>> pages;
  bool pages_done = false;
  std::thread mapper([&] {
    for (;;) {
      std::vector<nlohmann::json> records;
      {
        std::unique_lock lock(pages_mutex);
        pages_changed.wait(lock, [&] { return !pages.empty() || pages_done; });
        if (pages.empty()) return;
        records = std::move(pages.front());
        pages.pop_front();
      }
      pages_changed.notify_all();
      for (auto& record : records) {
        const auto id_field = record.find("Id");
        std::optional<std::string> id;
        if (id_field != record.end() && id_field->is_string())
          id = salesforce::to_18_char_id(id_field->get_ref<const std::string&>());
        if (!id) {
          ++skipped_records;
          continue;
        }
        input.desired.push_back(
            make_desired_user(map_user(record, *id, settings_.mapping), settings_.sync));
      }
      progress.salesforce_read += static_cast<std::int64_t>(records.size());
    }
  });
  auto read = read_salesforce_([&](std::vector<nlohmann::json>& records) {
    {
      std::unique_lock lock(pages_mutex);
      pages_changed.wait(lock, [&] { return pages.size() < 2; });
      pages.push_back(std::move(records));
    }
    pages_changed.notify_all();
    records.clear();
    if (stopping(options)) {
      salesforce_stopped = true;
      return false;
    }
    return true;
  });
  {
    std::lock_guard lock(pages_mutex);
    pages_done = true;
  }
  pages_changed.notify_all();
  mapper.join();
  ispring_reader.join();

  if (!read) {
    report.message = "reading Salesforce users failed: " + read.error();
    return report;
  }
  if (ispring.error) {
    report.message = "reading iSpring users failed: " + ispring.error->to_string();
    return report;
  }
  if (salesforce_stopped || ispring.stopped) {
    report.status = "stopped";
    report.message = "stopped while reading, before any change";
    return report;
  }

  log::info(
      "run.read", "reconciliation read {} Salesforce and {} iSpring users in {:.2f} s (peak RSS {} MB)",
      input.desired.size(), ispring.users.size(), seconds_since(started), peak_rss_mb());
  const auto planning = steady::now();
  progress.phase = 1;
  input.actual = std::move(ispring.users);
  input.directory = *ispring.directory;
  for (auto& [record, user_id] : store_.links.list_links(options.organization_id))
    input.links.emplace(std::move(record), std::move(user_id));
  for (const auto& r : store_.queue.records_in_flight(options.organization_id))
    input.in_flight.insert(r.record_id);
  for (auto& link : store_.departments.list_department_links(options.organization_id))
    input.department_links.emplace(
        std::move(link.key),
        linked_department{std::move(link.department_id), std::move(link.name)});

  reconcile_plan plan = make_reconcile_plan(input, settings_.sync);
  report.counts = plan.counts();
  report.counts["ispring_users"] = static_cast<std::int64_t>(input.actual.size());
  if (skipped_records > 0)
    report.counts["unreadable_records"] = static_cast<std::int64_t>(skipped_records);
  progress.planned = static_cast<std::int64_t>(plan.users.size());
  log::info("run.planned", "reconciliation planned {} changes for {} users in {:.2f} s (peak RSS {} MB)",
               plan.to_apply(), plan.users.size(), seconds_since(planning), peak_rss_mb());
  progress.to_apply = static_cast<std::int64_t>(plan.to_apply());

  if (options.dry_run || plan.safety.exceeded) {
    report.plan = plan_to_json(plan, input, options.plan_all_rows);
    report.plan_table = plan_to_table(plan, input, options.plan_all_rows);
    progress.phase = 3;
    if (plan.safety.exceeded) {
      report.status = "stopped_by_safety_limit";
      report.message = "nothing changed: " + plan.safety.message;
    } else {
      report.status = "succeeded";
      report.message = "dry run: " + std::to_string(plan.to_apply()) +
                       " users would change; nothing was changed";
    }
    return report;
  }

  progress.phase = 2;
  const auto applying = steady::now();
  std::mutex report_mutex;
  std::int64_t failed = 0, applied = 0;
  const auto record_failure = [&](const std::string& who, const std::string& what) {
    std::lock_guard lock(report_mutex);
    ++failed;
    ++progress.failed;
    if (report.failures.size() < max_failures_kept) report.failures.push_back(who + ": " + what);
  };

  // Links found by login or e-mail are remembered first: a crash later must not lose them.
  if (!plan.new_links.empty()) store_.links.set_links(options.organization_id, plan.new_links);

  // Department links next, for the same reason: adopted departments are owned from now on.
  store_.departments.remove_department_links(options.organization_id, plan.gone_departments);
  std::vector<store::department_link> adopted;
  for (const auto& a : plan.adoptions) adopted.push_back({a.key, a.id, a.name});
  store_.departments.set_department_links(options.organization_id, adopted);

  // Renames in place (only of linked departments, the plan's rule), before users move in.
  std::vector<store::department_link> renamed;
  for (const auto& rename : plan.renames) {
    const std::string what = "department '" + rename.from + "'";
    if (!rename.problem.empty()) {
      record_failure(what, "cannot rename to '" + rename.to + "': " + rename.problem);
    } else if (auto r = api_.rename_department(rename.id, rename.to); !r) {
      record_failure(what, "rename to '" + rename.to + "': " + r.error().to_string());
    } else {
      renamed.push_back({rename.key, rename.id, rename.to});
    }
  }
  store_.departments.set_department_links(options.organization_id, renamed);
  if (!plan.renames.empty()) dir.invalidate();

  // Users, a few at a time.
  applier apply(api_, dir);
  std::vector<std::size_t> work;
  for (std::size_t i = 0; i < plan.users.size(); ++i)
    if (plan.users[i].should_apply()) work.push_back(i);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stopped{false};
  std::vector<std::pair<std::string, std::string>> links;
  std::vector<std::string> unlinks;
  std::map<std::string, std::vector<std::string>> group_additions;  // group → user ids
  std::map<std::string, store::department_link> department_links;   // created ones, by key
  run_history history(store_.history, options);
  const auto apply_some = [&] {
    for (;;) {
      if (stopping(options)) {
        stopped = true;
        return;
      }
      const std::size_t n = next++;
      if (n >= work.size()) return;
      const planned_user& u = plan.users[work[n]];
      const std::optional<ispring::user> actual =
          u.actual ? std::optional<ispring::user>(input.actual[*u.actual]) : std::nullopt;
      apply_result result = apply.apply_matched(u.desired, actual, {.defer_group_additions = true});
      const epoch_ms applied_at = options.now ? options.now() : wall_now();
      std::lock_guard lock(report_mutex);
      history.add(u.desired, result, applied_at);
      const std::string before = actual ? actual->id : std::string();
      if (result.ispring_user_id != before) {
        if (result.ispring_user_id.empty())
          unlinks.push_back(u.desired.record_id);
        else
          links.emplace_back(u.desired.record_id, result.ispring_user_id);
      }
      for (auto& g : result.deferred_group_additions)
        group_additions[g].push_back(result.ispring_user_id);
      if (result.department_link && !u.desired.department_key.empty())
        department_links[ascii_lower(u.desired.department_key)] = {
            u.desired.department_key, result.department_link->id, result.department_link->name};
      if (result.ok) {
        ++applied;
        ++progress.applied;
      } else {
        ++failed;
        ++progress.failed;
        if (report.failures.size() < max_failures_kept)
          report.failures.push_back(u.desired.record_id + ": " +
                                    (result.error ? result.error->to_string() : "failed"));
      }
    }
  };
  const int threads =
      std::max(1, std::min<int>(options.concurrency, static_cast<int>(work.size())));
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(apply_some);
  apply_some();
  for (auto& t : pool) t.join();
  history.flush();

  if (!links.empty()) store_.links.set_links(options.organization_id, links);
  std::vector<store::department_link> created;
  for (auto& [key, link] : department_links) created.push_back(std::move(link));
  store_.departments.set_department_links(options.organization_id, created);
  for (const auto& record : unlinks) store_.links.remove_link(options.organization_id, record);

  // Group members are replaced as a whole: one read and one write per group for everyone.
  for (const auto& [group, user_ids] : group_additions) {
    if (auto r = apply.add_to_group(group, user_ids); !r)
      for (const auto& id : user_ids) record_failure(id, r.error().to_string());
  }

  std::int64_t departments_deleted = 0;
  if (!stopped && failed == 0) {
    std::vector<std::string> deleted;
    for (const auto& d : plan.deletions) {
      auto r = api_.delete_department(d.id);
      if (r || r.error().kind == ispring::failure_kind::not_found) {
        ++departments_deleted;
        deleted.push_back(d.id);
      } else {
        record_failure("department '" + d.name + "'", "delete: " + r.error().to_string());
      }
    }
    store_.departments.remove_department_links(options.organization_id, deleted);
  }

  progress.phase = 3;
  log::info("run.applied", "reconciliation applied {} and failed {} of {} users in {:.2f} s", applied, failed,
               work.size(), seconds_since(applying));
  report.counts["applied"] = applied;
  report.counts["failed"] = failed;
  report.counts["departments_deleted"] = departments_deleted;
  if (stopped) {
    report.status = "stopped";
    report.message = "stopped after " + std::to_string(applied + failed) + " of " +
                     std::to_string(work.size()) + " users";
  } else if (failed > 0) {
    report.status = "failed";
    report.message = std::to_string(failed) + " of " + std::to_string(work.size()) +
                     " changes failed; first: " + report.failures.front();
  } else {
    report.status = "succeeded";
    report.message = std::to_string(applied) + " users changed";
  }
  return report;
}

}  // namespace connector::sync
