
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "connector/app/checks.hpp"
#include "connector/app/commands.hpp"
#include "connector/app/explain.hpp"
#include "connector/app/instance_heartbeat.hpp"
#include "connector/app/organization.hpp"
#include "connector/app/pickers.hpp"
#include "connector/app/reconcile_runs.hpp"
#include "connector/app/status_report.hpp"
#include "connector/ispring/client.hpp"
#include "connector/log.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/salesforce/rest_client.hpp"
#include "connector/store/migrate.hpp"
#include "connector/store/open.hpp"
#include "connector/sync/group_drainer.hpp"
#include "connector/sync/mapping.hpp"
#include "connector/sync/user_sync.hpp"

namespace connector::app {
namespace {

// Loads the config or explains, naming the key, why it cannot be used.
std::optional<config::settings> load_or_explain(const std::string& path) {
  auto loaded = config::load_file(path);
  if (!loaded) {
    std::cerr << "connector: invalid configuration " << path << ": " << loaded.error().to_string()
              << "\n";
    return std::nullopt;
  }
  return std::move(loaded).value();
}

}  // namespace

namespace {

// GET /admin/status's warnings (pickers::status_warnings), read from Salesforce now: the
// settings in force (the page's revision), a failed read as a warning of its own.
nlohmann::json status_warnings_now(const config::settings& file) {
  const auto settings = with_page_settings(file).value_or(file);
  auto sources = make_picker_sources(settings);
  sources.ispring.reset();  // only Salesforce is asked
  const pickers check(std::move(sources));
  auto warnings = check.read_status_warnings();
  if (warnings) return std::move(*warnings);
  return nlohmann::json::array(
      {{{"kind", "departments_not_checked"},
        {"message", "could not check sync.departments against Salesforce: " + warnings.error()}}});
}

}  // namespace

int status(const config::settings& settings, bool json) {
  try {
    const auto reader = store::open_store_reader(store_settings_for(settings));
    auto snapshot = read_status(*reader, system_clock().now());
    auto warnings = status_warnings_now(settings);
    try {
      if (const auto held = organization_hold_reason(settings); !held.empty())
        warnings.push_back({{"kind", "organization"}, {"message", held}});
    } catch (const std::exception&) {
      // A store no service has opened yet (or an older one): bound to nothing, holding nothing.
    }
    if (json) {
      auto answer = status_to_json(snapshot);
      answer["warnings"] = warnings;
      std::cout << answer.dump(2) + "\n";
      return 0;
    }
    std::cout << status_to_text(snapshot);
    if (!warnings.empty()) std::cout << "\nWarnings:\n";
    for (const auto& w : warnings) std::cout << "  " << w["message"].get<std::string>() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "connector status: " << e.what() << "\n";
    return 1;
  }
}

int retry(const config::settings& settings, const std::string& record_id) {
  try {
    auto inbox = store::open_store(store_settings_for(settings));
    // The store keeps 18-character ids; an operator may paste the 15-character form.
    const std::string id =
        record_id.empty() ? record_id : salesforce::to_18_char_id(record_id).value_or(record_id);
    const auto requeued = inbox->requeue_dead(id, system_clock().now());
    if (!record_id.empty() && requeued == 0) {
      std::cerr << "connector retry: " << record_id << " is not a dead letter\n";
      return 1;
    }
    std::cout << "re-queued " << requeued << " dead letter(s); the running service applies them "
              << "within a second\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "connector retry: " << e.what() << "\n";
    return 1;
  }
}

int release(const config::settings& settings, const std::string& record_id) {
  try {
    auto inbox = store::open_store(store_settings_for(settings));
    const std::string id =
        record_id.empty() ? record_id : salesforce::to_18_char_id(record_id).value_or(record_id);
    const auto released = inbox->release_held(id, system_clock().now());
    if (!record_id.empty() && released == 0) {
      std::cerr << "connector release: " << record_id
                << " is not held by the safety limit (`connector status` lists those held)\n";
      return 1;
    }
    std::cout << "released " << released << " held record(s); the running service applies them "
              << "within a second, over the safety limit\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "connector release: " << e.what() << "\n";
    return 1;
  }
}

namespace {

// Adds the users queued for groups, now, through the group queue's claims, as the service's
// drainer does: never beside another replace of the same group (a drainer or a reconciliation,
// here or on another instance), which could drop a member. A group another owner holds is
// left to it. Prints what became of `record`'s additions.
void add_queued_groups(store::store& inbox, ispring::api& api,
                       const store::pending_record& record) {
  std::vector<store::history_event> mine;
  sync::group_drainer_options options;
  options.owner = sync::group_owner_id() + ":sync-user";
  options.max_rest_ms = 0;
  system_clock clock;
  sync::group_drainer drainer(
      inbox, api,
      [&](std::vector<store::history_event> events) {
        for (const auto& e : events)
          if (e.organization_id == record.organization_id && e.record_id == record.record_id)
            mine.push_back(e);
        inbox.record_history(std::move(events));
      },
      clock, options);
  drainer.drain_once();
  for (const auto& e : mine) std::cout << "  groups: " << describe_event(e) << "\n";
  if (mine.empty())
    std::cout << "  groups: queued; another drainer holds the group, and adds it in its next "
                 "replace\n";
}

// The outcome as the worker records it, so the worker does not apply the same state again;
// the group additions queued first, as durable as the outcome.
void record_sync_user_outcome(store::store& inbox, const store::pending_record& record,
                              sync::record_result& result) {
  const auto now = system_clock().now();
  sync::stamp_group_additions(record, result, now);
  if (!result.group_additions.empty()) inbox.queue_group_additions(result.group_additions);
  auto history = std::move(result.history);
  store::history_event outcome;
  outcome.kind = result.result == sync::record_result::kind::applied
                     ? store::history_kinds::applied
                     : store::history_kinds::skipped;
  outcome.details_json =
      nlohmann::json{{"outcome", result.outcome + " (connector sync-user)"}}.dump();
  history.push_back(std::move(outcome));
  for (auto& e : history) {
    e.organization_id = record.organization_id;
    e.record_id = record.record_id;
    if (e.time == 0) e.time = now;
  }
  inbox.record_history(std::move(history));
  if (result.ispring_user_id)
    inbox.set_link(record.organization_id, record.record_id, *result.ispring_user_id);
  inbox.mark_done(record.organization_id, record.record_id, record.version, result.outcome);
}

}  // namespace

int sync_user(const config::settings& settings, const std::string& record_id) {
  if (!settings.ispring) {
    std::cerr << "connector sync-user: the configuration has no ispring section\n";
    return 2;
  }
  try {
    auto inbox = store::open_store(store_settings_for(settings));
    // The links belong to another iSpring organization: nothing is written until a reset.
    if (const auto held = organization_hold_reason(settings); !held.empty()) {
      std::cerr << "connector sync-user: " << held << "\n";
      return 1;
    }
    const std::string id = salesforce::to_18_char_id(record_id).value_or(record_id);
    std::optional<store::pending_record> record;
    for (const auto& org : settings.salesforce.organization_ids) {
      const auto org18 = salesforce::to_18_char_id(org).value_or(org);
      record = inbox->find_record(org18, id);
      if (record) break;
    }
    if (!record) {
      std::cerr << "connector sync-user: no notification about " << id
                << " has been received yet, so there is nothing to apply\n";
      return 1;
    }
    const auto link = inbox->find_link(record->organization_id, record->record_id);
    ispring::https_api api(*settings.ispring);
    // Read from Salesforce first, as the worker would (verification, GAP and partial events).
    system_clock clock;
    auto salesforce = make_salesforce_access(settings, clock);
    sync::user_sync chain(
        settings, api,
        reread_options_for(settings, salesforce ? &*salesforce : nullptr, *inbox, clock),
        inbox.get());
    // Groups through the queue and its claims, as the worker's (ispring.group_additions
    // "user_update" adds them on the user's update, as there).
    const bool by_update = settings.ispring->group_additions == "user_update";
    chain.join_groups(by_update ? sync::group_mode::by_update : sync::group_mode::deferred);
    auto report = chain.run(*record, link);
    if (report.result.reread) {
      inbox->save_reread(record->organization_id, record->record_id, record->version,
                         report.result.reread->fields_json, report.result.reread->modstamp,
                         report.result.reread->replace);
    }
    std::cout << "user " << record->record_id << "\n  scope: " << report.scope_reason << "\n";
    for (const auto& step : report.steps) std::cout << "  " << step.to_string() << "\n";
    auto& result = report.result;
    if (result.result == sync::record_result::kind::failed) {
      std::cout << "  FAILED: " << result.error << "\n";
      return 1;
    }
    const bool joins_groups = !result.group_additions.empty();
    record_sync_user_outcome(*inbox, *record, result);
    if (joins_groups) add_queued_groups(*inbox, api, *record);
    std::cout << "  result: " << result.outcome << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "connector sync-user: " << e.what() << "\n";
    return 1;
  }
}

int explain(const config::settings& settings, const std::string& user,
            const explain_cli_options& options) {
  try {
    // Read-only beside the running service; iSpring is asked with one retry at most, so a
    // down iSpring costs seconds, not minutes.
    std::unique_ptr<ispring::https_api> api;
    if (!options.offline && settings.ispring) {
      ispring::retry_policy quick;
      quick.max_attempts = 2;
      api = std::make_unique<ispring::https_api>(*settings.ispring, quick);
    }
    const auto reader = store::open_store_reader(store_settings_for(settings));
    auto answer = explain_user(user, settings, facts_of(*reader), api.get(), {options.limit});
    if (!answer) {
      std::cerr << "connector explain: " << answer.error().message << "\n";
      return 1;
    }
    if (!settings.ispring && !options.offline)
      (*answer)["ispring"] = {{"checked", false},
                              {"reason", "no ispring section in the configuration"}};
    std::cout << (options.json
                      ? answer->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"
                      : explain_to_text(*answer));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "connector explain: " << e.what() << "\n";
    return 1;
  }
}

namespace {

std::atomic<bool> interrupted{false};
extern "C" void on_interrupt(int) {
  interrupted = true;
}

// One line, rewritten in place, while a run goes on at a terminal.
class progress_line {
 public:
  explicit progress_line(const sync::reconcile_progress& progress) : progress_(progress) {
    if (!isatty(STDERR_FILENO)) return;
    thread_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      while (!done_) {
        draw();
        done_cv_.wait_for(lock, std::chrono::milliseconds(200));
      }
      draw();
      std::cerr << "\n";
    });
  }
  ~progress_line() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void draw() const {
    const auto c = progress_.counts();
    std::cerr << "\r\033[K" << progress_.phase_name() << ": Salesforce users read "
              << c.at("salesforce_read") << ", iSpring users read " << c.at("ispring_read")
              << " | planned " << c.at("planned") << " | applied " << c.at("applied") << " of "
              << c.at("to_apply") << ", failed " << c.at("failed") << std::flush;
  }

  const sync::reconcile_progress& progress_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

int reconcile(const config::settings& settings, const reconcile_cli_options& options) {
  if (!settings.ispring) {
    std::cerr << "connector reconcile: the configuration has no ispring section\n";
    return 2;
  }
  system_clock clock;
  auto salesforce = make_salesforce_access(settings, clock);
  if (!salesforce) {
    std::cerr << "connector reconcile: " << salesforce.error() << "\n";
    return 2;
  }
  try {
    auto inbox = store::open_store(store_settings_for(settings));
    // An instance while it runs: the services on the store see its run and its lease live.
    instance_heartbeat heartbeat(*inbox, clock, "cli");
    heartbeat.start();
    inbox->fail_interrupted_runs(clock.now());
    if (const auto held = organization_hold_reason(settings); !held.empty() && !options.dry_run) {
      std::cerr << "connector reconcile: " << held << "\n";
      return 1;
    }
    // One run at a time, also across processes and hosts: a service may be running one.
    if (const auto running = inbox->running_run()) {
      std::cerr << "connector reconcile: run " << running->id << " (" << running->trigger << ") is "
                << running->status
                << "; wait for it to end, or ask the service with POST /admin/reconcile, which "
                   "queues runs\n";
      return 1;
    }
    ispring::https_api ispring_api(*settings.ispring);
    run_environment env;
    env.settings = &settings;
    env.store = inbox.get();
    env.ispring = &ispring_api;
    env.read_salesforce = salesforce->read_users;
    env.organization_id = salesforce->organization_id;
    env.time = &clock;
    const auto id = inbox->create_run("cli", options.dry_run, clock.now());

    // Ctrl-C stops cleanly: the users being applied finish, the run is recorded as stopped.
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    sync::reconcile_progress progress;
    sync::reconcile_report report;
    {
      std::optional<progress_line> line;
      if (!options.json) line.emplace(progress);
      report = execute_run(env, id, options.dry_run, progress, [] {
        return interrupted ? std::optional<stop_request>(
                                 stop_request{"stopped", "interrupted by the operator"})
                           : std::nullopt;
      });
    }
    const auto run = inbox->find_run(id, false);
    if (options.json) {
      nlohmann::json out = run ? run_to_json(*run) : nlohmann::json::object();
      if (!report.plan.is_null()) out["plan"] = report.plan;
      out["failures"] = report.failures;
      std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      if (!report.plan_table.empty()) std::cout << report.plan_table << "\n";
      std::cout << "run " << id << (options.dry_run ? " (dry run)" : "") << ": " << report.status
                << " — " << report.message << "\n";
      for (const auto& failure : report.failures) std::cout << "  failed: " << failure << "\n";
    }
    return report.status == "succeeded" ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "connector reconcile: " << e.what() << "\n";
    return 1;
  }
}

int runs(const config::settings& settings, std::size_t limit, bool json) {
  try {
    const auto list =
        store::open_store_reader(store_settings_for(settings))->list_runs(limit, true);
    if (json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& run : list) out.push_back(run_to_json(run));
      std::cout << nlohmann::json{{"runs", out}}.dump(2) << "\n";
      return 0;
    }
    if (list.empty()) {
      std::cout << "no reconciliation has run yet\n";
      return 0;
    }
    std::cout << "ID     STARTED                   STATUS                   TRIGGER    DURATION  "
                 "CHANGES\n";
    for (const auto& run : list) {
      const auto count = [&](const char* key) {
        const auto it = run.counts.find(key);
        return it == run.counts.end() ? std::int64_t{0} : it->second;
      };
      std::string status = run.status + (run.dry_run ? " (dry)" : "");
      std::string duration =
          run.started_at && run.ended_at
              ? std::to_string((*run.ended_at - *run.started_at + 500) / 1000) + " s"
              : "-";
      std::ostringstream line;
      line << std::left << std::setw(7) << run.id << std::setw(26)
           << (run.started_at ? format_utc(*run.started_at) : std::string("-")) << std::setw(25)
           << status << std::setw(11) << run.trigger << std::setw(10) << duration << "create "
           << count("create") << ", update " << count("update") << ", move " << count("move")
           << ", deactivate " << count("deactivate") << ", failed " << count("failed");
      std::cout << line.str() << "\n";
      if (const auto revision = run.counts.find(settings_revision_count);
          revision != run.counts.end() && revision->second > 0)
        std::cout << "       settings revision " << revision->second << "\n";
      if (!run.message.empty()) std::cout << "       " << run.message << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "connector runs: " << e.what() << "\n";
    return 1;
  }
}

int check(const config::settings& settings, bool send_test_email) {
  // The seed's "Verify and Register Integration": every finding on its own line, so the
  // operator sees everything that is wrong at once.
  std::cout << "configuration " << settings.config_path << "\n";
  system_clock clock;
  bool all_ok = true;
  for (const auto& finding : run_checks(settings, clock, send_test_email)) {
    const char* mark = finding.level == check_level::ok     ? "  ok    "
                       : finding.level == check_level::warn ? "  warn  "
                                                            : "  FAIL  ";
    std::cout << mark << finding.message << "\n";
    all_ok = all_ok && finding.ok();
  }
  std::cout << (all_ok ? "all checks passed\n" : "some checks failed\n");
  return all_ok ? 0 : 1;
}

int migrate(const config::settings& settings, const std::string& postgresql_url) {
  std::string url = postgresql_url;
  if (url.starts_with("env:")) {
    const char* value = std::getenv(url.substr(4).c_str());
    if (!value || !*value) {
      std::cerr << "connector migrate: the environment variable " << url.substr(4)
                << " is not set\n";
      return 2;
    }
    url = value;
  }
  try {
    store::store_settings to = store_settings_for(settings);
    to.sqlite_path.clear();
    to.postgresql_url = url;
    const auto counts = store::migrate_to_postgresql(store_settings_for(settings), to);
    for (const auto& [table, rows] : counts)
      std::cout << std::left << std::setw(20) << table << rows << "\n";
    std::cout << "copied into PostgreSQL; set store.postgresql_url and start the instances\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "connector migrate: " << e.what() << "\n";
    return 1;
  }
}

namespace {

// What the command line chose: the values CLI11 fills in, and the subcommands, to see which
// one was given. Lives through parsing (the callbacks write into it) and the dispatch.
struct cli_choices {
  std::string config_path;
  std::string log_level;
  std::string log_format;
  CLI::App* serve_cmd = nullptr;
  serve_options serve_opts;
  std::string ready_file;
  std::string clock_offset_file;
  CLI::App* status_cmd = nullptr;
  bool status_json = false;
  CLI::App* check_cmd = nullptr;
  bool send_test_email = false;
  CLI::App* retry_cmd = nullptr;
  std::string retry_record;
  bool retry_all = false;
  CLI::App* release_cmd = nullptr;
  std::string release_record;
  bool release_all = false;
  CLI::App* reconcile_cmd = nullptr;
  reconcile_cli_options reconcile_opts;
  CLI::App* runs_cmd = nullptr;
  std::size_t runs_limit = 20;
  bool runs_json = false;
  CLI::App* sync_user_cmd = nullptr;
  std::string sync_record;
  CLI::App* explain_cmd = nullptr;
  std::string explain_target;
  explain_cli_options explain_opts;
  CLI::App* migrate_cmd = nullptr;
  std::string migrate_url;
  CLI::App* settings_cmd = nullptr;
  settings_cli_options settings_opts;
  CLI::App* reset_org_cmd = nullptr;
  organization_cli_options reset_org_opts;
};

// serve, status and check: the service and what tells whether it is well.
void add_service_commands(CLI::App& cli, cli_choices& c) {
  auto& config_path = c.config_path;
  auto* serve_cmd = c.serve_cmd =
      cli.add_subcommand("serve", "Run the service (HTTPS intake, admin listener)");
  serve_cmd->add_option("--config", config_path, "Config file (JSON)")->required();
  serve_cmd->add_option("--ready-file", c.ready_file,
                        "Write {public_port, admin_port, pid} as JSON here once listening");
  // Hidden (no description, empty group): end-to-end tests move the service's clock with it.
  serve_cmd->add_option("--clock-offset-file", c.clock_offset_file)->group("");
  serve_cmd->add_option("--log-level", c.log_level, "trace, debug, info, warn, error");
  serve_cmd->add_option("--log-format", c.log_format, "json or text")
      ->check(CLI::IsMember({"json", "text"}));

  auto* status_cmd = c.status_cmd = cli.add_subcommand(
      "status", "Print what the inbox holds: notifications, duplicates, pending, last received");
  status_cmd->add_option("--config", config_path, "Config file (JSON)")->required();
  status_cmd->add_flag("--json", c.status_json, "One JSON object, for scripts");

  auto* check_cmd = c.check_cmd =
      cli.add_subcommand("check", "Validate the configuration and credentials");
  check_cmd->add_option("--config", config_path, "Config file (JSON)")->required();
  check_cmd->add_flag("--send-test-email", c.send_test_email,
                      "Send one e-mail with the alerts settings, to prove them");
}

// retry and release: records the sync queue holds back, let through by hand.
void add_queue_commands(CLI::App& cli, cli_choices& c) {
  auto& config_path = c.config_path;
  auto* retry_cmd = c.retry_cmd =
      cli.add_subcommand("retry", "Put dead letters back into the sync queue");
  retry_cmd->add_option("--config", config_path, "Config file (JSON)")->required();
  auto* retry_id = retry_cmd->add_option("RECORD_ID", c.retry_record, "Salesforce record id");
  auto* retry_every = retry_cmd->add_flag("--all", c.retry_all, "Every dead letter");
  retry_id->excludes(retry_every);
  retry_cmd->callback([&c] {
    if (!c.retry_all && c.retry_record.empty()) {
      throw CLI::ValidationError("retry", "name a RECORD_ID or pass --all");
    }
  });

  auto* release_cmd = c.release_cmd = cli.add_subcommand(
      "release",
      "Let records held by the safety limit (sync.max_deactivations_per_hour) through: they are "
      "deactivated or deleted even over the hour's cap");
  release_cmd->add_option("--config", config_path, "Config file (JSON)")->required();
  auto* release_id = release_cmd->add_option("RECORD_ID", c.release_record, "Salesforce record id");
  auto* release_every = release_cmd->add_flag("--all", c.release_all, "Every held record");
  release_id->excludes(release_every);
  release_cmd->callback([&c] {
    if (!c.release_all && c.release_record.empty()) {
      throw CLI::ValidationError("release", "name a RECORD_ID or pass --all");
    }
  });
}

// reconcile, runs, sync-user and explain: the full reconciliation and one user at a time.
void add_reconciliation_commands(CLI::App& cli, cli_choices& c) {
  auto& config_path = c.config_path;
  auto* reconcile_cmd = c.reconcile_cmd = cli.add_subcommand(
      "reconcile",
      "Run the full reconciliation now (Salesforce users → iSpring Learn); --dry-run prints the "
      "plan and changes nothing");
  reconcile_cmd->add_option("--config", config_path, "Config file (JSON)")->required();
  reconcile_cmd->add_flag("--dry-run", c.reconcile_opts.dry_run, "Print the plan; change nothing");
  reconcile_cmd->add_flag("--json", c.reconcile_opts.json, "One JSON object, for scripts");

  auto* runs_cmd = c.runs_cmd = cli.add_subcommand("runs", "List recent reconciliation runs");
  runs_cmd->add_option("--config", config_path, "Config file (JSON)")->required();
  runs_cmd->add_option("--limit", c.runs_limit, "How many, newest first")->capture_default_str();
  runs_cmd->add_flag("--json", c.runs_json, "One JSON object, for scripts");

  auto* sync_user_cmd = c.sync_user_cmd = cli.add_subcommand(
      "sync-user", "Apply one user to iSpring Learn now and print each step (provision on demand)");
  sync_user_cmd->add_option("--config", config_path, "Config file (JSON)")->required();
  sync_user_cmd->add_option("RECORD_ID", c.sync_record, "Salesforce record id")->required();

  auto* explain_cmd = c.explain_cmd = cli.add_subcommand(
      "explain",
      "What happened to one user and why: link, Salesforce values, iSpring now, what would "
      "happen now, history");
  explain_cmd->add_option("--config", config_path, "Config file (JSON)")->required();
  explain_cmd
      ->add_option("USER", c.explain_target,
                   "Salesforce record id (15 or 18 characters), username, e-mail, or iSpring "
                   "user id")
      ->required();
  explain_cmd->add_flag("--offline", c.explain_opts.offline, "Do not ask iSpring Learn");
  explain_cmd->add_flag("--json", c.explain_opts.json, "One JSON object, for scripts");
  explain_cmd->add_option("--limit", c.explain_opts.limit, "History events, newest first")
      ->capture_default_str();
}

void add_migrate_command(CLI::App& cli, cli_choices& c) {
  auto* migrate_cmd = c.migrate_cmd = cli.add_subcommand(
      "migrate",
      "Copy the SQLite store (store.sqlite_path) into an empty PostgreSQL database, to run "
      "several instances on it; stop the service first");
  migrate_cmd->add_option("--config", c.config_path, "Config file (JSON)")->required();
  migrate_cmd
      ->add_option("--to-postgresql", c.migrate_url,
                   "postgresql://user:password@host:port/db, or env:NAME to read it from NAME")
      ->required();
}

// settings get|set|export|import|revisions|restore: the sections edited in the admin page.
void add_settings_commands(CLI::App& cli, cli_choices& c) {
  auto& config_path = c.config_path;
  auto& settings_opts = c.settings_opts;
  auto* settings_cmd = c.settings_cmd = cli.add_subcommand(
      "settings",
      "The settings edited in the admin page (mapping, schedule, sync, alerts.email_to): "
      "get, set, export, import, revisions, restore");
  settings_cmd->require_subcommand(1);
  const auto settings_action = [&](const char* name, const char* help) {
    auto* action = settings_cmd->add_subcommand(name, help);
    action->add_option("--config", config_path, "Config file (JSON)")->required();
    action->callback([&settings_opts, name] { settings_opts.action = name; });
    return action;
  };
  auto* settings_get = settings_action("get", "Print the settings as they apply (or one section)");
  settings_get->add_option("SECTION", settings_opts.section,
                           "mapping, schedule, sync or alerts.email_to");
  auto* settings_set = settings_action(
      "set",
      "Save one section from a JSON file (- for stdin) as a new revision, validated as "
      "the config file is");
  settings_set
      ->add_option("SECTION", settings_opts.section, "mapping, schedule, sync or alerts.email_to")
      ->required();
  settings_set->add_option("FILE", settings_opts.file, "JSON file, or - for stdin")->required();
  settings_set->add_option("--if-match", settings_opts.if_match,
                           "Refuse unless this is the newest revision");
  settings_action("export", "Print every page-managed section as one JSON document");
  auto* settings_import =
      settings_action("import", "Save what `settings export` wrote as one new revision");
  settings_import->add_option("FILE", settings_opts.file, "JSON file, or - for stdin")->required();
  settings_import->add_option("--if-match", settings_opts.if_match,
                              "Refuse unless this is the newest revision");
  auto* settings_revisions =
      settings_action("revisions", "List revisions: when, who, what changed");
  settings_revisions->add_option("--limit", settings_opts.limit, "How many, newest first")
      ->capture_default_str();
  settings_revisions->add_flag("--json", settings_opts.json, "One JSON object, for scripts");
  auto* settings_restore =
      settings_action("restore", "Save an earlier revision's content as a new revision");
  settings_restore->add_option("REVISION", settings_opts.revision, "The revision to restore")
      ->required();
}

// reset-organization: the store bound to another iSpring organization, explicitly.
void add_organization_command(CLI::App& cli, cli_choices& c) {
  auto* reset_org_cmd = c.reset_org_cmd = cli.add_subcommand(
      "reset-organization",
      "Show what resetting the store to the configured iSpring organization forgets; with "
      "--confirm, do it");
  reset_org_cmd->add_option("--config", c.config_path, "Config file (JSON)")->required();
  reset_org_cmd->add_option("--confirm", c.reset_org_opts.confirm,
                            "The configured organization typed back: forget the old one's links");
  reset_org_cmd->add_flag("--same-organization", c.reset_org_opts.same_organization,
                          "It is the same organization under a new URL: keep the links");
  reset_org_cmd->add_flag("--json", c.reset_org_opts.json, "One JSON object, for scripts");
}

int run_serve_command(const config::settings& settings, cli_choices& c) {
  if (!c.ready_file.empty()) c.serve_opts.ready_file = c.ready_file;
  if (!c.clock_offset_file.empty()) c.serve_opts.clock_offset_file = c.clock_offset_file;
  try {
    return serve(settings, c.serve_opts);
  } catch (const std::exception& e) {
    log::write(log::level::critical, "service.start_failed", "cannot start: {}", e.what());
    return 1;
  }
}

// Runs the subcommand given, with the configuration loaded.
int run_chosen_command(std::optional<config::settings> settings, cli_choices& c) {
  if (*c.serve_cmd) return run_serve_command(*settings, c);
  if (*c.status_cmd) return status(*settings, c.status_json);
  if (*c.runs_cmd) return runs(*settings, c.runs_limit, c.runs_json);
  if (*c.settings_cmd) return settings_command(*settings, c.settings_opts);
  if (*c.reset_org_cmd) return reset_organization_command(*settings, c.reset_org_opts);
  if (*c.check_cmd || *c.reconcile_cmd || *c.sync_user_cmd || *c.explain_cmd) {
    // What the page saved applies to these as it does to the service.
    settings = with_page_settings(*settings);
    if (!settings) return 2;
  }
  if (*c.check_cmd) return check(*settings, c.send_test_email);
  if (*c.reconcile_cmd) return reconcile(*settings, c.reconcile_opts);
  if (*c.sync_user_cmd) return sync_user(*settings, c.sync_record);
  if (*c.explain_cmd) return explain(*settings, c.explain_target, c.explain_opts);
  if (*c.retry_cmd) return retry(*settings, c.retry_all ? std::string() : c.retry_record);
  if (*c.release_cmd) return release(*settings, c.release_all ? std::string() : c.release_record);
  if (*c.migrate_cmd) return migrate(*settings, c.migrate_url);
  return 2;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App cli{
      "connector: keeps iSpring Learn in step with Salesforce users.\n"
      "Salesforce outbound messages arrive over HTTPS, are stored durably, acknowledged,\n"
      "and pushed to iSpring Learn."};
  cli.require_subcommand(1);
  cli_choices choices;
  add_service_commands(cli, choices);
  add_queue_commands(cli, choices);
  add_reconciliation_commands(cli, choices);
  add_migrate_command(cli, choices);
  add_settings_commands(cli, choices);
  add_organization_command(cli, choices);

  CLI11_PARSE(cli, argc, argv);

  auto settings = load_or_explain(choices.config_path);
  if (!settings) return 2;
  log::configure(choices.log_level.empty() ? settings->logging.level : choices.log_level,
                 choices.log_format.empty() ? settings->logging.format : choices.log_format);
  return run_chosen_command(std::move(settings), choices);
}

}  // namespace connector::app
