#include "connector/sync/reconciler.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "connector/log.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/sync/applier.hpp"
#include "connector/sync/desired_pack.hpp"
#include "connector/sync/group_drainer.hpp"
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

// Salesforce pages held while the iSpring users are still being read, packed (about 200 bytes
// a user against 1 KB mapped). Beyond this the Salesforce read waits (its pages stop being
// taken) rather than fill the memory. 256 MB holds about 1,300,000 users: at 1,000,000 the
// read no longer stops at 240,000 until iSpring is read (48 MB did, and the run took 1.43x
// bare paging for it), and the peak stays far inside the 1.2 GB target.
constexpr std::size_t max_waiting_bytes = 256u << 20;

using steady = std::chrono::steady_clock;

double seconds_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

// The iSpring side of the read: every user packed into `users`, sealed when complete.
struct ispring_side {
  ispring_index users;
  std::shared_ptr<const directory_snapshot> directory;
  std::optional<ispring::failure> error;
  bool stopped = false;
};

// One list of every user, page after page.
void read_ispring_pages(ispring::api& api, const reconcile_options& options,
                        reconcile_progress& progress, ispring_side& out) {
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
    for (const auto& u : page->items) out.users.add(u);
    token = std::move(page->next_page_token);
  } while (!token.empty());
}

// One department at a time, `readers` departments at once, each page indexed as it comes: the
// pages of one list follow each other (keyset tokens), so one list of 100,000 users is 100
// round trips in a row. Every user
// is in exactly one department; one moved during the read may show twice (the index keeps it
// once) or not at all (then it looks new, and the create is refused as a duplicate and
// linked instead).
void read_ispring_departments(ispring::api& api, std::size_t readers,
                              const reconcile_options& options, reconcile_progress& progress,
                              ispring_side& out) {
  const auto& departments = out.directory->departments;
  std::mutex mutex;
  std::atomic<std::size_t> next{0};
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
      auto read = api.list_users_paged(filter, [&](std::vector<ispring::user>& users) {
        std::lock_guard lock(mutex);
        progress.ispring_read += static_cast<std::int64_t>(users.size());
        for (const auto& u : users) out.users.add(u);
        return !out.error && !out.stopped;
      });
      std::lock_guard lock(mutex);
      if (!read) {
        if (!out.error) out.error = read.error();
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < readers; ++t) threads.emplace_back(read_departments);
  read_departments();
  for (auto& t : threads) t.join();
}

// Every iSpring user and the departments and groups; the index sealed when all were read.
void read_ispring(ispring::api& api, directory& dir, const reconcile_options& options,
                  reconcile_progress& progress, ispring_side& out) {
  auto snapshot = dir.snapshot();
  if (!snapshot) {
    out.error = snapshot.error();
    return;
  }
  out.directory = *snapshot;
  const auto concurrency = static_cast<std::size_t>(std::max(options.concurrency, 1));
  const std::size_t readers = std::min(concurrency, out.directory->departments.size());
  if (readers <= 1)
    read_ispring_pages(api, options, progress, out);
  else
    read_ispring_departments(api, readers, options, progress, out);
  if (!out.error && !out.stopped) out.users.seal();
}

// The Salesforce side of the read: the reader hands pages over (two at most wait), a thread
// of its own maps them and plans each against the iSpring index. Pages that come before the
// index is complete are mapped at once (while iSpring is still read) and wait as packed
// desired users, max_waiting_bytes at most.
class salesforce_pipeline {
 public:
  salesforce_pipeline(const config::settings& settings, reconcile_progress& progress)
      : settings_(settings), progress_(progress) {}

  // On the reader's thread. False: the mapping thread failed, the page is dropped.
  bool push(std::vector<nlohmann::json>& records) {
    progress_.salesforce_read += static_cast<std::int64_t>(records.size());
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return pages_.size() < 2 || failed_; });
    if (!failed_) pages_.push_back(std::move(records));
    records.clear();
    changed_.notify_all();
    return !failed_;
  }

  // The mapping thread failed (it threw): the reader must not wait for it.
  void fail() {
    std::lock_guard lock(mutex_);
    failed_ = true;
    pages_.clear();
    changed_.notify_all();
  }

  void close() {
    std::lock_guard lock(mutex_);
    pages_done_ = true;
    changed_.notify_all();
  }

  // The iSpring side ended: the planner to feed, or null when it failed or stopped.
  void ispring_done(reconcile_planner* planner) {
    std::lock_guard lock(mutex_);
    planner_ = planner;
    ispring_done_ = true;
    waiting_at_ispring_done_ = waiting_users_;
    changed_.notify_all();
  }

  // The mapping thread: until the reader closes, then the waiting pages.
  void run() {
    for (;;) {
      std::vector<nlohmann::json> records;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !pages_.empty() || pages_done_; });
        if (pages_.empty()) break;
        records = std::move(pages_.front());
        pages_.pop_front();
        changed_.notify_all();
      }
      hand_over(records);
    }
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return ispring_done_; });
    lock.unlock();
    plan_waiting();
  }

  std::size_t skipped_records() const { return skipped_; }
  // Salesforce users read but not yet planned when the iSpring side ended.
  std::size_t waiting_at_ispring_done() const { return waiting_at_ispring_done_; }

 private:
  // The user `record` describes; nullopt (counted as skipped) when it has no readable Id.
  std::optional<desired_user> desired_of(const nlohmann::json& record) {
    const auto id_field = record.find("Id");
    std::optional<std::string> id;
    if (id_field != record.end() && id_field->is_string())
      id = salesforce::to_18_char_id(id_field->get_ref<const std::string&>());
    if (!id) {
      ++skipped_;
      return std::nullopt;
    }
    return make_desired_user(map_user(record, *id, settings_.mapping), settings_.sync);
  }

  void plan(desired_user user) {
    if (!planner_) return;
    planner_->add(std::move(user));
    ++progress_.planned;
  }

  void plan_page(const std::vector<nlohmann::json>& records) {
    if (!planner_) return;
    for (const auto& record : records)
      if (auto user = desired_of(record)) plan(std::move(*user));
  }

  void hand_over(std::vector<nlohmann::json>& records) {
    std::unique_lock lock(mutex_);
    if (!ispring_done_) {
      lock.unlock();  // waiting_ is this thread's; the lock guards ispring_done_
      std::string packed;
      // At the bytes a user took so far: a page string that doubles while it is packed writes
      // its bytes again, into fresh pages the kernel must clear first.
      if (waiting_users_ > 0)
        packed.reserve(records.size() * (waiting_bytes_ / waiting_users_ + 16));
      std::size_t users = 0;
      for (const auto& record : records)
        if (auto user = desired_of(record)) {
          pack_desired_user(*user, packed);
          ++users;
        }
      records.clear();
      lock.lock();
      waiting_bytes_ += packed.size();
      waiting_users_ += users;
      waiting_.push_back(std::move(packed));
      changed_.wait(lock, [&] { return ispring_done_ || waiting_bytes_ < max_waiting_bytes; });
      return;
    }
    lock.unlock();
    plan_waiting();
    plan_page(records);
  }

  // Once the iSpring side is done (planner_ and waiting_ are then this thread's alone).
  void plan_waiting() {
    for (; !waiting_.empty(); waiting_.pop_front())
      for (std::string_view page = waiting_.front(); !page.empty();)
        plan(unpack_desired_user(page));
    waiting_bytes_ = 0;
  }

  const config::settings& settings_;
  reconcile_progress& progress_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::vector<nlohmann::json>> pages_;
  bool pages_done_ = false;
  bool ispring_done_ = false;
  bool failed_ = false;
  reconcile_planner* planner_ = nullptr;
  std::deque<std::string> waiting_;  // pages of desired users, packed
  std::size_t waiting_bytes_ = 0, waiting_users_ = 0, waiting_at_ispring_done_ = 0;
  std::size_t skipped_ = 0;
};

// One run's state, from the read to the report.
struct run_data {
  run_data(ispring::api& api, const reconcile_options& o, reconcile_progress& p)
      : options(o), progress(p), dir(api) {}

  const reconcile_options& options;
  reconcile_progress& progress;
  reconcile_report report;
  directory dir;
  steady::time_point started = steady::now();
  ispring_side ispring;
  std::unique_ptr<reconcile_planner> planner;
  std::size_t skipped_records = 0;
  reconcile_plan plan;

  // Applying: under report_mutex.
  std::mutex report_mutex;
  std::int64_t failed = 0, applied = 0;
  std::size_t to_apply = 0;
  std::atomic<bool> stopped{false};
  std::vector<std::pair<std::string, std::string>> links;
  std::vector<std::string> unlinks;
  std::map<std::string, std::pair<std::string, std::vector<std::string>>>
      group_additions;  // group id → its name, user ids
  std::map<std::string, store::department_link> department_links;  // created ones, by key

  void record_failure(const std::string& who, const std::string& what) {
    std::lock_guard lock(report_mutex);
    ++failed;
    ++progress.failed;
    if (report.failures.size() < max_failures_kept) report.failures.push_back(who + ": " + what);
  }

  // Under report_mutex: what applying one user changed, for the links and the report.
  void note_applied(const planned_user& u, const apply_result& result) {
    const std::string before = u.actual ? u.actual->id : std::string();
    if (result.ispring_user_id != before) {
      if (result.ispring_user_id.empty())
        unlinks.push_back(u.desired.record_id);
      else
        links.emplace_back(u.desired.record_id, result.ispring_user_id);
    }
    for (const auto& g : result.deferred_group_additions) {
      auto& [name, users] = group_additions[g.id];
      name = g.name;
      users.push_back(result.ispring_user_id);
    }
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

// Once the iSpring users are indexed: the planner, with the stored links (read meanwhile) and
// what else the store knows now.
std::unique_ptr<reconcile_planner> make_planner(reconciler_store& store,
                                                const config::sync_settings& sync, run_data& run,
                                                stored_links links) {
  const auto& org = run.options.organization_id;
  reconcile_sources sources;
  sources.directory = *run.ispring.directory;
  sources.links = std::move(links);
  for (const auto& r : store.queue.records_in_flight(org)) sources.in_flight.insert(r.record_id);
  for (auto& link : store.departments.list_department_links(org))
    sources.department_links.emplace(std::move(link.key),
                                     linked_department{link.department_id, link.name});
  return std::make_unique<reconcile_planner>(run.ispring.users, std::move(sources), sync,
                                             run.options.plan_all_rows);
}

}  // namespace

struct reconciler::run_state : run_data {
  using run_data::run_data;
};

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
  run_state run(api_, options, progress);
  progress.phase = 0;
  if (read_both(run) && plan(run)) {
    apply(run);
    finish(run);
  }
  return std::move(run.report);
}

// Both sides at once, each mostly waiting on the network: the iSpring users into the index,
// then the planner (with the links, read meanwhile); the Salesforce pages into the planner.
bool reconciler::read_both(run_state& run) {
  salesforce_pipeline salesforce(settings_, run.progress);
  std::atomic<bool> ispring_ended_badly{false};
  // Rethrown once every thread is joined (a std::thread left joinable would end the process).
  std::exception_ptr thrown_ispring, thrown_mapper, thrown_reader;
  // Off the iSpring read's path, which is the longest: a million links take 0.3-0.7 s to read.
  auto links = std::async(std::launch::async, [&] {
    stored_links read;
    store_.links.each_link(run.options.organization_id,
                           [&](std::string_view record_id, std::string_view user_id) {
                             read.add(record_id, user_id);
                           });
    return read;
  });
  std::thread ispring_reader([&] {
    try {
      read_ispring(api_, run.dir, run.options, run.progress, run.ispring);
      if (!run.ispring.error && !run.ispring.stopped)
        run.planner = make_planner(store_, settings_.sync, run, links.get());
    } catch (...) {
      thrown_ispring = std::current_exception();
    }
    if (!run.planner) ispring_ended_badly = true;
    salesforce.ispring_done(run.planner.get());
    if (run.planner)
      log::info("run.ispring_read",
                "reconciliation indexed {} iSpring users in {:.2f} s ({} Salesforce users read "
                "meanwhile, peak RSS {} MB)",
                run.ispring.users.size(), seconds_since(run.started),
                run.progress.salesforce_read.load(), peak_rss_mb());
  });
  std::thread mapper([&] {
    try {
      salesforce.run();
    } catch (...) {
      thrown_mapper = std::current_exception();
      salesforce.fail();
    }
  });
  bool salesforce_stopped = false;
  std::optional<expected<std::size_t, std::string>> read;
  try {
    read = read_salesforce_([&](std::vector<nlohmann::json>& records) {
      if (!salesforce.push(records)) return false;  // the run fails anyway: no need to read on
      if (stopping(run.options)) {
        salesforce_stopped = true;
        return false;
      }
      return !ispring_ended_badly;
    });
  } catch (...) {
    thrown_reader = std::current_exception();
  }
  salesforce.close();
  mapper.join();
  ispring_reader.join();
  for (const auto& thrown : {thrown_ispring, thrown_mapper, thrown_reader})
    if (thrown) std::rethrow_exception(thrown);
  run.skipped_records = salesforce.skipped_records();

  if (!*read) {
    run.report.message = "reading Salesforce users failed: " + read->error();
    return false;
  }
  if (run.ispring.error) {
    run.report.message = "reading iSpring users failed: " + run.ispring.error->to_string();
    return false;
  }
  if (salesforce_stopped || run.ispring.stopped) {
    run.report.status = "stopped";
    run.report.message = "stopped while reading, before any change";
    return false;
  }
  log::info("run.read",
            "reconciliation read {} Salesforce and {} iSpring users in {:.2f} s (peak RSS {} MB)",
            run.progress.salesforce_read.load(), run.ispring.users.size(),
            seconds_since(run.started), peak_rss_mb());
  return true;
}

// The rest of the plan (retired links, departments, the safety limit). False: nothing is to
// be applied (a dry run, or the safety limit), the report is complete.
bool reconciler::plan(run_state& run) {
  const auto planning = steady::now();
  run.progress.phase = 1;
  std::set<std::string> in_flight_now;
  for (const auto& r : store_.queue.records_in_flight(run.options.organization_id))
    in_flight_now.insert(r.record_id);
  run.plan = run.planner->finish(true, in_flight_now);
  run.planner.reset();
  run.ispring.users = ispring_index();  // the kept users hold their iSpring user
  const reconcile_plan& plan = run.plan;
  auto& report = run.report;
  report.counts = plan.counts();
  report.counts["ispring_users"] = static_cast<std::int64_t>(plan.ispring_users);
  if (run.skipped_records > 0)
    report.counts["unreadable_records"] = static_cast<std::int64_t>(run.skipped_records);
  run.progress.planned = report.counts["salesforce_users"];
  log::info(
      "run.planned", "reconciliation planned {} changes for {} users in {:.2f} s (peak RSS {} MB)",
      plan.to_apply(), report.counts["salesforce_users"], seconds_since(planning), peak_rss_mb());
  run.progress.to_apply = static_cast<std::int64_t>(plan.to_apply());
  if (!run.options.dry_run && !plan.safety.exceeded) return true;

  report.plan = plan_to_json(plan, run.options.plan_all_rows);
  report.plan_table = plan_to_table(plan, run.options.plan_all_rows);
  run.progress.phase = 3;
  if (plan.safety.exceeded) {
    report.status = "stopped_by_safety_limit";
    report.message = "nothing changed: " + plan.safety.message;
  } else {
    report.status = "succeeded";
    report.message =
        "dry run: " + std::to_string(plan.to_apply()) + " users would change; nothing was changed";
  }
  return false;
}

// Links and departments first, then the users a few at a time.
void reconciler::apply(run_state& run) {
  run.progress.phase = 2;
  const auto& org = run.options.organization_id;
  const reconcile_plan& plan = run.plan;
  // Links found by login or e-mail are remembered first: a crash later must not lose them.
  if (!plan.new_links.empty()) store_.links.set_links(org, plan.new_links);

  // Department links next, for the same reason: adopted departments are owned from now on.
  store_.departments.remove_department_links(org, plan.gone_departments);
  std::vector<store::department_link> adopted;
  for (const auto& a : plan.adoptions) adopted.push_back({a.key, a.id, a.name});
  store_.departments.set_department_links(org, adopted);

  // Renames in place (only of linked departments, the plan's rule), before users move in.
  std::vector<store::department_link> renamed;
  for (const auto& rename : plan.renames) {
    const std::string what = "department '" + rename.from + "'";
    if (!rename.problem.empty()) {
      run.record_failure(what, "cannot rename to '" + rename.to + "': " + rename.problem);
    } else if (auto r = api_.rename_department(rename.id, rename.to); !r) {
      run.record_failure(what, "rename to '" + rename.to + "': " + r.error().to_string());
    } else {
      renamed.push_back({rename.key, rename.id, rename.to});
    }
  }
  store_.departments.set_department_links(org, renamed);
  if (!plan.renames.empty()) run.dir.invalidate();

  const auto applying = steady::now();
  applier apply(api_, run.dir);
  std::vector<const planned_user*> work;
  for (const auto& u : plan.users)
    if (u.should_apply()) work.push_back(&u);
  run.to_apply = work.size();
  std::atomic<std::size_t> next{0};
  run_history history(store_.history, run.options);
  const auto apply_some = [&] {
    for (;;) {
      if (stopping(run.options)) {
        run.stopped = true;
        return;
      }
      const std::size_t n = next++;
      if (n >= work.size()) return;
      const planned_user& u = *work[n];
      apply_result result = apply.apply_matched(
          u.desired, u.actual, {.join_groups = group_mode::deferred, .may_retire = {}});
      const epoch_ms applied_at = run.options.now ? run.options.now() : wall_now();
      std::lock_guard lock(run.report_mutex);
      history.add(u.desired, result, applied_at);
      run.note_applied(u, result);
    }
  };
  const int threads =
      std::max(1, std::min<int>(run.options.concurrency, static_cast<int>(work.size())));
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(apply_some);
  apply_some();
  for (auto& t : pool) t.join();
  history.flush();
  log::info("run.applied", "reconciliation applied {} and failed {} of {} users in {:.2f} s",
            run.applied, run.failed, work.size(), seconds_since(applying));
}

// The links the users' changes made, group additions, empty departments, the report.
void reconciler::finish(run_state& run) {
  const auto& org = run.options.organization_id;
  if (!run.links.empty()) store_.links.set_links(org, run.links);
  std::vector<store::department_link> created;
  for (auto& [key, link] : run.department_links) created.push_back(std::move(link));
  store_.departments.set_department_links(org, created);
  for (const auto& record : run.unlinks) store_.links.remove_link(org, record);

  // Group members are replaced as a whole: one read and one write per group for everyone.
  applier apply(api_, run.dir);
  // Group members are replaced as a whole: one read and one write per group for everyone,
  // under the group's claim, so no group drainer replaces it at the same time.
  const auto& options = run.options;
  for (const auto& [group_id, entry] : run.group_additions) {
    const auto& [group, user_ids] = entry;
    const auto replace = [&] {
      if (auto r = apply.add_to_group(group, user_ids); !r)
        for (const auto& id : user_ids) run.record_failure(id, r.error().to_string());
    };
    if (!options.group_queue) {
      replace();
    } else if (!with_group_claim(
                   *options.group_queue, group_id, options.group_owner,
                   options.now ? options.now : std::function<epoch_ms()>(wall_now),
                   group_drainer_options{}.lease_ms, [&] { return stopping(options); }, replace)) {
      run.stopped = true;
    }
  }

  std::int64_t departments_deleted = 0;
  if (!run.stopped && run.failed == 0) {
    std::vector<std::string> deleted;
    for (const auto& d : run.plan.deletions) {
      auto r = api_.delete_department(d.id);
      if (r || r.error().kind == ispring::failure_kind::not_found) {
        ++departments_deleted;
        deleted.push_back(d.id);
      } else {
        run.record_failure("department '" + d.name + "'", "delete: " + r.error().to_string());
      }
    }
    store_.departments.remove_department_links(org, deleted);
  }

  run.progress.phase = 3;
  auto& report = run.report;
  report.counts["applied"] = run.applied;
  report.counts["failed"] = run.failed;
  report.counts["departments_deleted"] = departments_deleted;
  const std::string of = std::to_string(run.to_apply);
  if (run.stopped) {
    report.status = "stopped";
    report.message =
        "stopped after " + std::to_string(run.applied + run.failed) + " of " + of + " users";
  } else if (run.failed > 0) {
    report.status = "failed";
    report.message = std::to_string(run.failed) + " of " + of +
                     " changes failed; first: " + report.failures.front();
  } else {
    report.status = "succeeded";
    report.message = std::to_string(run.applied) + " users changed";
  }
}

}  // namespace connector::sync
