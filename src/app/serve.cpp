#include <pthread.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "connector/alerts/monitor.hpp"
#include "connector/app/admin_api.hpp"
#include "connector/app/admin_page.hpp"
#include "connector/app/admin_throttle.hpp"
#include "connector/app/commands.hpp"
#include "connector/app/event_intake.hpp"
#include "connector/app/group_api.hpp"
#include "connector/app/instance_heartbeat.hpp"
#include "connector/app/live_settings.hpp"
#include "connector/app/organization.hpp"
#include "connector/app/outbound_intake.hpp"
#include "connector/app/pickers.hpp"
#include "connector/app/preview_api.hpp"
#include "connector/app/reconcile_runs.hpp"
#include "connector/app/service_notifier.hpp"
#include "connector/app/settings_api.hpp"
#include "connector/app/store_metrics.hpp"
#include "connector/http/server.hpp"
#include "connector/ispring/client.hpp"
#include "connector/log.hpp"
#include "connector/metrics/process.hpp"
#include "connector/metrics/registry.hpp"
#include "connector/offset_file_clock.hpp"
#include "connector/salesforce/rest_wire.hpp"
#include "connector/store/open.hpp"
#include "connector/store/organization_binding.hpp"
#include "connector/store/settings_log.hpp"
#include "connector/sync/group_drainer.hpp"
#include "connector/sync/schedule.hpp"
#include "connector/sync/user_sync.hpp"
#include "connector/sync/worker.hpp"

namespace connector::app {
namespace {

// How often the store is asked for a new settings revision (one indexed max()): a change
// saved by another instance or the CLI applies within this.
constexpr int settings_poll_interval_ms = 250;

std::vector<http::route> with_settings_routes(std::vector<http::route> routes,
                                              live_settings& live) {
  auto settings_routes = make_settings_routes(live, accepted_tokens(live.file().admin));
  routes.insert(routes.end(), std::make_move_iterator(settings_routes.begin()),
                std::make_move_iterator(settings_routes.end()));
  return routes;
}

http::server_options public_server_options(const config::server_settings& s) {
  http::server_options o;
  o.host = s.listen.host;
  o.port = s.listen.port;
  o.tls = http::tls_options{s.tls.certificate, s.tls.private_key, s.tls.client_ca_file,
                            s.tls.client_subjects};
  o.body_limit_bytes = s.body_limit_bytes;
  o.header_limit_bytes = s.header_limit_bytes;
  o.handshake_timeout_ms = s.handshake_timeout_ms;
  o.read_timeout_ms = s.read_timeout_ms;
  o.idle_timeout_ms = s.idle_timeout_ms;
  o.max_connections = s.max_connections;
  o.max_connections_per_address = s.max_connections_per_address;
  o.allowed_networks = s.allowed_ips;
  return o;
}

http::server_options admin_server_options(const config::settings& s) {
  http::server_options o;
  o.host = s.admin.listen.host;
  o.port = s.admin.listen.port;
  // The admin listener speaks TLS with the server's certificate (no client certificate);
  // plain HTTP only on loopback, which the config loader enforces.
  if (s.admin.tls) {
    o.tls = http::tls_options{s.server.tls.certificate, s.server.tls.private_key, std::nullopt, {}};
  }
  o.max_connections = 64;
  o.body_limit_bytes = 64 * 1024;
  return o;
}

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR2);  // our own wake-up when the servers stop by themselves
  sigaddset(&set, SIGHUP);   // reload the schedule
  return set;
}

// Waits for SIGTERM/SIGINT (and SIGHUP, to reload) on a thread of its own. The signals must
// be blocked before any other thread starts (threads inherit the mask), so that none of
// them is interrupted.
class signal_waiter {
 public:
  template <class OnStop, class OnReload>
  signal_waiter(OnStop on_stop, OnReload on_reload) : set_(stop_signals()) {
    thread_ = std::thread([this, on_stop, on_reload] {
      int signal_number = 0;
      do {
        sigwait(&set_, &signal_number);
        if (signal_number == SIGHUP) on_reload();
      } while (signal_number == SIGHUP);
      if (signal_number != SIGUSR2) {
        log::info("service.stopping", "received {}, finishing in-flight requests",
                  signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
      }
      on_stop();
    });
  }
  ~signal_waiter() {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }

 private:
  sigset_t set_{};
  std::thread thread_;
};

// sync.max_attempts and the retry delays of the revision in force, asked at each failure.
std::function<sync::retry_settings()> live_retries(sync::settings_source source) {
  return [source = std::move(source)] {
    const auto& now = source().settings->sync;
    return sync::retry_settings{now.max_attempts, now.retry_base_ms, now.retry_max_ms};
  };
}

// Users join groups through the drainer (one replace per group and batch), or by groupIds on
// their update (ispring.group_additions "user_update"); the drainer runs in both, so what was
// queued before a switch still reaches iSpring. The caller starts it (organization_hold).
std::unique_ptr<sync::group_drainer> start_group_drainer(const config::settings& settings,
                                                         store::store& inbox, ispring::api& api,
                                                         const connector::clock& clock,
                                                         metrics::registry& metrics,
                                                         sync::user_sync& user_sync,
                                                         sync::worker_options& worker_options) {
  // Every engine holds the group queue beside its other tables, shared by every instance on
  // the same database: one claimant per group at a time.
  store::group_queue* queue = &inbox;
  sync::group_drainer_options options;
  options.owner = sync::group_owner_id();
  options.retries = worker_options.retries;
  options.metrics = &metrics;
  auto drainer = std::make_unique<sync::group_drainer>(
      *queue, api,
      [&inbox](std::vector<store::history_event> events) {
        inbox.record_history(std::move(events));
      },
      clock, options);
  const bool by_update = settings.ispring->group_additions == "user_update";
  user_sync.join_groups(by_update ? sync::group_mode::by_update : sync::group_mode::deferred);
  worker_options.group_queue = queue;
  worker_options.on_group_additions = [d = drainer.get()] { d->wake(); };
  if (by_update)
    log::warn("config.group_additions_unconfirmed",
              "ispring.group_additions is \"user_update\": users join groups by groupIds on "
              "their update, which iSpring documents as adding but has not been confirmed to "
              "(it may replace their other groups)");
  return drainer;
}

// Safe by default: a public listener needs a lock, or an explicit "on purpose". False when
// the service must not start.
bool intake_lock_allows_start(const config::settings& file_settings) {
  if (auto problem = config::intake_lock_problem(file_settings.server)) {
    if (!file_settings.server.allow_unlocked_intake) {
      log::error("service.refused", "cannot start: {}", *problem);
      return false;
    }
    log::warn("service.unlocked_intake",
              "the intake is unlocked (server.allow_unlocked_intake is true): anyone who knows "
              "the organization id can post notifications");
  }
  return true;
}

// The store and what lives as long as it: the service's clock, the metrics, the settings in
// force and this instance's heartbeat. Members are destroyed in reverse order, the store
// after everything that reads it.
struct service_core {
  std::unique_ptr<connector::clock> clock_owner;
  metrics::registry metrics;
  store::store_settings store_options;
  std::unique_ptr<store::store> inbox;
  std::unique_ptr<store::settings_log> settings_log;
  std::unique_ptr<live_settings> live;
  sync::settings_snapshot started_with;
  std::unique_ptr<instance_heartbeat> heartbeat;
  intake_counters counters;

  const connector::clock& clock() const { return *clock_owner; }
  const config::settings& settings() const { return *started_with.settings; }
};

void open_core(service_core& core, const config::settings& file_settings,
               const serve_options& options) {
  if (options.clock_offset_file) {
    core.clock_owner = std::make_unique<offset_file_clock>(*options.clock_offset_file);
  } else {
    core.clock_owner = std::make_unique<system_clock>();
  }
  const connector::clock& clock = *core.clock_owner;
  // One registry for the process: each part that records gets a pointer and keeps its
  // handles; GET /metrics on the admin listener renders it.
  metrics::add_process_metrics(core.metrics);
  core.store_options = store_settings_for(file_settings);
  core.store_options.on_commit = commit_group_observer(core.metrics);
  core.store_options.time = &clock;
  core.inbox = store::open_store(core.store_options);
  add_store_metrics(core.metrics, *core.inbox, clock);
  // Settings edited in the admin page: the file's sections where it sets them, else the
  // newest revision's, else defaults. A revision saved here or by another instance on the
  // store applies within a poll, without a restart.
  core.settings_log = store::open_settings_log(core.store_options);
  core.live = std::make_unique<live_settings>(file_settings, *core.settings_log, clock);
  core.started_with = core.live->current();
  if (core.started_with.revision > 0)
    log::info("settings.revision", "settings revision {} (sections not in the file come from it)",
              core.started_with.revision);
  // A run a crashed or killed process left queued or running would otherwise show as
  // running forever in status and in GET /admin/runs/{id}.
  // This process as one of the instances on the store: others judge its runs and its
  // reconciliation lease by this heartbeat, and `status` lists it.
  core.heartbeat = std::make_unique<instance_heartbeat>(*core.inbox, clock, "serve");
  core.heartbeat->start();
  if (const auto interrupted = core.inbox->fail_interrupted_runs(clock.now()); interrupted != 0) {
    log::warn("runs.interrupted",
              "{} reconciliation run(s) were interrupted when the service stopped; marked failed",
              interrupted);
  }
}

// Salesforce REST, the iSpring client, the sync worker and its group drainer, and the
// scheduled reconciliation: each only when its configuration is there.
struct sync_stack {
  std::optional<salesforce_access> salesforce;
  std::string salesforce_unavailable;
  // Remote protocols (JWT lifetimes, token expiry) keep the real time, whatever tests do
  // to the service's clock.
  system_clock remote_clock;
  std::unique_ptr<ispring::https_api> ispring_api;
  std::unique_ptr<sync::user_sync> user_sync;
  std::unique_ptr<sync::deactivation_limiter> deactivation_limiter;
  std::unique_ptr<sync::worker> worker;
  std::unique_ptr<sync::group_drainer> drainer;
  std::unique_ptr<organization_hold> organization;
  std::unique_ptr<run_coordinator> runs;
  std::string runs_unavailable;
  std::function<void()> wake_worker;
};

// Salesforce REST serves the full reconciliation and the re-read of users Salesforce
// sent without data; without credentials neither is available.
void connect_salesforce(sync_stack& stack, const config::settings& settings, service_core& core) {
  if (auto access =
          make_salesforce_access(settings, stack.remote_clock, &core.metrics, core.live->source());
      !access) {
    stack.salesforce_unavailable = access.error();
  } else {
    stack.salesforce = std::move(*access);
  }
}

// The sync worker runs when iSpring Learn is configured; without it the service only
// takes notifications in (they wait, durable, until it is).
void start_sync_worker(sync_stack& stack, const config::settings& settings, service_core& core) {
  if (!settings.ispring) {
    log::warn("config.no_ispring",
              "no ispring section in the configuration: notifications are stored but not "
              "pushed to iSpring Learn");
    return;
  }
  const connector::clock& clock = core.clock();
  auto& inbox = core.inbox;
  stack.ispring_api = std::make_unique<ispring::https_api>(
      *settings.ispring, ispring::retry_policy{}, ispring::sleep_for_real, ispring::wall_clock(),
      &core.metrics);
  auto reread = reread_options_for(settings, stack.salesforce ? &*stack.salesforce : nullptr,
                                   *inbox, clock, &core.metrics);
  if (reread.verify) {
    log::info("config.verify_on",
              "notifications are verified: each user is read from Salesforce over REST "
              "and only what Salesforce returns is applied");
  } else if (stack.salesforce) {
    log::warn("config.verify_off",
              "sync.verify_notifications is false: the fields of notifications are applied "
              "as they arrive");
  }
  stack.user_sync = std::make_unique<sync::user_sync>(settings, *stack.ispring_api,
                                                      std::move(reread), inbox.get());
  stack.user_sync->follow(core.live->source());  // each record on the newest settings revision
  // Always there, counting even while "off": the cap each deactivation meets is the
  // revision's in force (a revision may turn it on or lower it at any time).
  stack.deactivation_limiter = std::make_unique<sync::deactivation_limiter>(
      settings.sync.max_deactivations_per_hour.value_or("off"), clock,
      sync::journal_in(*inbox, *inbox));
  stack.user_sync->limit_deactivations(*stack.deactivation_limiter);
  if (!settings.sync.max_deactivations_per_hour)
    log::warn("config.deactivation_limit_off",
              "sync.max_deactivations_per_hour is off: notifications may deactivate or delete any "
              "number of iSpring users");
  sync::worker_options worker_options;
  worker_options.concurrency = settings.ispring->max_concurrency;
  worker_options.retries = live_retries(core.live->source());
  worker_options.metrics = &core.metrics;
  stack.drainer = start_group_drainer(settings, *inbox, *stack.ispring_api, clock, core.metrics,
                                      *stack.user_sync, worker_options);
  stack.worker =
      std::make_unique<sync::worker>(*inbox, stack.user_sync->processor(), clock, worker_options);
  // Bound to the organization its links belong to: another one waits for a reset.
  stack.organization =
      std::make_unique<organization_hold>(store::open_organization_binding(core.store_options),
                                          organization_identity(*settings.ispring), *inbox, clock);
}

// The full reconciliation needs iSpring and Salesforce REST credentials; without them the
// admin API says why it cannot run one.
void start_reconciliation(sync_stack& stack, const config::settings& settings, service_core& core) {
  if (!settings.ispring) {
    stack.runs_unavailable = "the reconciliation needs the ispring section in the configuration";
  } else if (!stack.salesforce) {
    stack.runs_unavailable = stack.salesforce_unavailable;
  }
  if (settings.ispring && stack.salesforce) {
    auto schedule = sync::schedule::make(settings.schedule);
    if (!schedule) throw std::runtime_error(schedule.error());  // load_file checked it already
    run_environment env;
    env.settings = &settings;
    env.current_settings = core.live->source();
    env.store = core.inbox.get();
    env.ispring = stack.ispring_api.get();
    env.read_salesforce = stack.salesforce->read_users;
    env.organization_id = stack.salesforce->organization_id;
    env.time = &core.clock();
    env.metrics = &core.metrics;
    add_reconciliation_metrics(core.metrics, *core.inbox);
    log::info("runs.schedule", "reconciliation schedule: {}", schedule->describe());
    stack.runs = std::make_unique<run_coordinator>(std::move(env), std::move(*schedule));
  } else {
    log::warn("runs.unavailable", "full reconciliation unavailable: {}", stack.runs_unavailable);
  }
}

void start_sync_stack(sync_stack& stack, const config::settings& settings, service_core& core) {
  connect_salesforce(stack, settings, core);
  start_sync_worker(stack, settings, core);
  start_reconciliation(stack, settings, core);
  if (stack.worker) stack.wake_worker = [w = stack.worker.get()] { w->wake(); };
  // What writes to iSpring starts now, or once the organization matches again.
  if (stack.organization)
    stack.organization->when_released([&stack] {
      if (stack.worker) stack.worker->start();
      if (stack.drainer) stack.drainer->start();
      if (stack.runs) stack.runs->start();
    });
}

// E-mail to the administrator, from a thread of its own (alerts.*).
struct alerting {
  alerts::monitor_sources sources;
  std::unique_ptr<alerts::alert_monitor> monitor;
  std::mutex mutex;  // a new alerts.email_to restarts it from another thread
};

alerts::monitor_sources alert_sources_of(const service_core& core, const sync_stack& stack) {
  return alerts::monitor_sources{
      core.inbox.get(), stack.ispring_api ? &stack.ispring_api->credentials() : nullptr,
      stack.salesforce ? stack.salesforce->credentials : nullptr, &core.clock()};
}

// A new settings revision: the worker and the next run read it themselves; the schedule
// and the alerts' addresses are handed over here.
void follow_settings_revisions(live_settings& live, const config::settings& settings,
                               sync_stack& stack, alerting& alert_state) {
  live.on_change([&, schedule_now = section_to_json(settings, "schedule"),
                  email_to_now = section_to_json(settings, "alerts.email_to")](
                     const sync::settings_snapshot& now) mutable {
    if (auto schedule_next = section_to_json(*now.settings, "schedule");
        schedule_next != schedule_now && stack.runs) {
      if (auto schedule = sync::schedule::make(now.settings->schedule)) {
        log::info("service.schedule", "reconciliation schedule is now: {} (settings revision {})",
                  schedule->describe(), now.revision);
        stack.runs->set_schedule(std::move(*schedule));
        schedule_now = std::move(schedule_next);
      }
    }
    if (auto email_to_next = section_to_json(*now.settings, "alerts.email_to");
        email_to_next != email_to_now) {
      std::lock_guard lock(alert_state.mutex);
      alert_state.monitor.reset();
      alert_state.monitor = alerts::start_alert_monitor(*now.settings, alert_state.sources);
      email_to_now = std::move(email_to_next);
    }
  });
  live.start_polling(settings_poll_interval_ms);
}

// GAP_* events carry no data. One record is read again by the worker; a wildcard
// ("005*": every user) needs the full reconciliation.
std::function<void(const std::vector<std::string>&)> on_gap_event(run_coordinator* runs) {
  std::function<void(const std::vector<std::string>&)> on_gap;
  if (runs) {
    on_gap = [r = runs](const std::vector<std::string>& records) {
      log::warn("intake.gap_all",
                "GAP change event for every record ({}): a reconciliation run is queued",
                records.front());
      r->request_soon("gap_event");
    };
  } else {
    on_gap = [](const std::vector<std::string>& records) {
      log::error(
          "events.gap_unrecoverable",
          "GAP change event for every record ({}), and no reconciliation to read them again: "
          "run `connector reconcile` once Salesforce REST credentials are configured",
          records.front());
    };
  }
  return on_gap;
}

// The public listener's routes: health, Salesforce's outbound messages and, when signing
// secrets are set, JSON change events.
std::vector<http::route> make_public_routes(const config::settings& settings, service_core& core,
                                            const sync_stack& stack) {
  salesforce::acceptance_rules rules{settings.salesforce.organization_ids,
                                     settings.salesforce.source_object};
  std::string outbound_path = settings.server.outbound_message_path;
  if (settings.server.secret_path_segment) {
    outbound_path += "/" + settings.server.secret_path_segment->reveal();
  }
  std::vector<http::route> public_routes{
      {"GET", "/healthz",
       [](http::request&&, http::respond_fn respond) {
         respond(http::response::text(200, "ok\n"));
       }},
      {"POST", outbound_path,
       make_outbound_intake_handler(*core.inbox, rules, core.clock(), core.counters,
                                    stack.wake_worker, &core.metrics)},
  };

  // JSON change events: only signed ones, so only with server.events_signing_secrets.
  if (auto events = make_event_intake_settings(settings); !events) {
    log::info("events.endpoint_off", "events endpoint {} is off: {}", settings.server.events_path,
              events.error());
  } else {
    public_routes.push_back(
        {"POST", settings.server.events_path,
         make_event_intake_handler(*core.inbox, *core.inbox, std::move(*events), core.clock(),
                                   core.counters, stack.wake_worker, on_gap_event(stack.runs.get()),
                                   &core.metrics)});
  }
  return public_routes;
}

// Counts the connections each listener refuses; returns the observer for a listener.
auto count_refusals_by_listener(metrics::registry& metrics) {
  auto& refused_connections = metrics.counter(
      "connector_connections_refused_total",
      "Connections closed without serving them, by listener and reason: not_allowed (outside "
      "server.allowed_ips), per_address_cap (server.max_connections_per_address), server_full "
      "(max_connections)",
      {"listener", "reason"});
  // Zero from the start, so a rate over them is defined before the first refusal.
  for (const char* listener : {"public", "admin"}) {
    for (const auto why :
         {http::connection_refusal::not_allowed, http::connection_refusal::per_address_cap,
          http::connection_refusal::server_full}) {
      refused_connections.with({listener, http::to_string(why)});
    }
  }
  return [&refused_connections](const char* listener) {
    return [&refused_connections, listener](http::connection_refusal why) {
      refused_connections.with({listener, http::to_string(why)}).inc();
    };
  };
}

// The admin page's pickers read Salesforce and iSpring live, with clients of their own.
std::unique_ptr<app::pickers> make_pickers(const config::settings& settings, live_settings& live) {
  auto picker_sources = make_picker_sources(settings);
  picker_sources.settings = [source = live.source()] { return *source().settings; };
  return std::make_unique<app::pickers>(std::move(picker_sources));
}

// The admin listener's routes: the admin API, the pickers, the settings, the page, all
// behind the throttle.
std::vector<http::route> make_admin_server_routes(const config::settings& settings,
                                                  service_core& core, const sync_stack& stack,
                                                  app::pickers& pickers) {
  auto& inbox = core.inbox;
  auto* organization = stack.organization.get();
  auto admin_routes = make_admin_routes(
      settings, *inbox, core.counters, stack.runs.get(), stack.runs_unavailable, &core.metrics,
      stack.ispring_api.get(), core.live->source(), [&pickers, organization] {
        auto warnings = pickers.status_warnings();
        if (organization)
          for (auto& w : organization->status_warnings()) warnings.push_back(std::move(w));
        return warnings;
      });
  const auto append = [&admin_routes](std::vector<http::route> routes) {
    for (auto& route : routes) admin_routes.push_back(std::move(route));
  };
  const auto tokens = accepted_tokens(settings.admin);
  append(pickers.routes(tokens));
  append(make_preview_routes(*core.live, stack.runs.get(), stack.runs_unavailable, tokens));
  append(make_group_routes(
      *core.live, stack.ispring_api.get(),
      [organization]() -> std::string {
        if (!organization) return "adding a group needs the ispring section in the configuration";
        return organization->reason();
      },
      tokens));
  if (organization) append(organization->routes(tokens));
  return with_admin_throttle(
      with_admin_page(with_settings_routes(std::move(admin_routes), *core.live),
                      {&settings, inbox.get(), inbox.get(), stack.runs.get(), &core.clock(),
                       stack.wake_worker, core.live->source()}),
      accepted_tokens(settings.admin), core.clock(), &core.metrics);
}

// Logs where the service listens and writes the ready file (the ports, for tests and
// scripts), atomically.
void announce_listening(const config::settings& settings, const serve_options& options,
                        int public_port, int admin_port) {
  namespace fs = std::filesystem;
  log::info("service.listening",
            "listening on {}:{} (Salesforce outbound messages at {}), admin on {}:{}",
            settings.server.listen.host, public_port, settings.server.outbound_message_path,
            settings.admin.listen.host, admin_port);
  if (options.ready_file) {
    std::ofstream ready(*options.ready_file + ".tmp");
    ready << nlohmann::json{{"public_port", public_port},
                            {"admin_port", admin_port},
                            {"pid", static_cast<long>(getpid())}}
                 .dump()
          << "\n";
    ready.close();
    fs::rename(*options.ready_file + ".tmp", *options.ready_file);
  }
}

std::unique_ptr<watchdog_pinger> start_watchdog(service_notifier& notifier,
                                                const std::string& serving_status,
                                                store::store& inbox) {
  std::unique_ptr<watchdog_pinger> pinger;
  if (const auto interval = watchdog_ping_interval()) {
    // Every acknowledgment waits for the store's single writer: an empty intake goes through
    // its queue and an empty transaction, so it answers only while the writer is not stuck.
    pinger = std::make_unique<watchdog_pinger>(
        notifier, *interval,
        [store = &inbox](std::function<void()> answered) {
          store->submit(store::intake_request{},
                        [answered](const store::intake_outcome&) { answered(); });
        },
        "the store writer", serving_status);
  }
  return pinger;
}

// SIGHUP applies a changed schedule without a restart (the seed's "Change Schedule Job");
// other settings need one, and a broken file changes nothing. Returns the outcome for
// systemctl status.
std::string reload_schedule(const config::settings& settings, live_settings& live,
                            sync_stack& stack) {
  auto reloaded = config::load_file(settings.config_path);
  // The page's sections as they stand, for a schedule the file no longer sets.
  if (reloaded) reloaded = config::with_stored_sections(*reloaded, live.stored().dump());
  if (!reloaded) {
    log::error("service.reload_failed", "SIGHUP: configuration not reloaded: {}",
               reloaded.error().to_string());
    return "configuration not reloaded: " + reloaded.error().to_string();
  }
  auto schedule = sync::schedule::make(reloaded->schedule);
  if (!schedule) {
    log::error("service.reload_failed", "SIGHUP: configuration not reloaded: {}", schedule.error());
    return "configuration not reloaded: " + schedule.error();
  }
  if (!stack.runs) {
    log::warn("service.reloaded", "SIGHUP: reloaded, but the reconciliation is unavailable: {}",
              stack.runs_unavailable);
    return "reloaded; reconciliation unavailable";
  }
  auto described = schedule->describe();
  log::info("service.reloaded", "SIGHUP: reconciliation schedule is now: {}", described);
  stack.runs->set_schedule(std::move(*schedule));
  return "reloaded; schedule: " + described;
}

// Serves on both listeners until SIGTERM or SIGINT (SIGHUP reloads the schedule), then
// lets the in-flight requests finish.
void run_until_signal(const config::settings& settings, live_settings& live, sync_stack& stack,
                      service_notifier& notifier, const std::string& serving_status,
                      http::server& public_server, http::server& admin_server) {
  const auto reload = [&] {
    notifier.reloading("reloading the configuration");
    notifier.ready(serving_status + "; " + reload_schedule(settings, live, stack));
  };
  signal_waiter waiter(
      [&] {
        notifier.stopping("finishing in-flight requests");
        public_server.stop();
        admin_server.stop();
      },
      reload);
  const int threads = settings.server.threads > 0
                          ? settings.server.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::thread admin_thread([&] { admin_server.run(1); });
  public_server.run(threads);
  admin_server.stop();
  admin_thread.join();
}

// Stops what runs in the background, each before what it reads, and commits what the store
// has queued.
void stop_service(service_core& core, sync_stack& stack, alerting& alert_state,
                  std::unique_ptr<watchdog_pinger>& pinger) {
  core.live->stop_polling();                           // no new revision reaches what stops below
  if (stack.organization) stack.organization->stop();  // starts nothing after this
  {
    std::lock_guard lock(alert_state.mutex);
    alert_state.monitor.reset();  // reads the store, so it stops first
  }
  if (stack.runs) stack.runs->stop();      // finishes the users being applied, records the run
  if (stack.worker) stack.worker->stop();  // finishes the users being applied
  core.heartbeat->stop();                  // leaves the instance list; its leases are free at once
  stack.worker.reset();
  stack.drainer.reset();  // finishes the replaces in progress; what waits stays queued
  stack.runs.reset();
  pinger.reset();      // it probes the store
  core.inbox.reset();  // commits whatever is queued before the process exits
  log::info("service.stopped", "stopped cleanly");
}

}  // namespace

int serve(const config::settings& file_settings, const serve_options& options) {
  if (!intake_lock_allows_start(file_settings)) return 2;
  const sigset_t signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  service_core core;
  open_core(core, file_settings, options);
  const config::settings& settings = core.settings();
  sync_stack stack;
  start_sync_stack(stack, settings, core);
  alerting alert_state{.sources = alert_sources_of(core, stack), .monitor = {}, .mutex = {}};
  alert_state.monitor = alerts::start_alert_monitor(settings, alert_state.sources);
  follow_settings_revisions(*core.live, settings, stack, alert_state);

  auto public_routes = make_public_routes(settings, core, stack);
  const auto count_refusals = count_refusals_by_listener(core.metrics);
  http::server public_server(public_server_options(settings.server), std::move(public_routes),
                             count_refusals("public"));
  auto pickers = make_pickers(settings, *core.live);
  http::server admin_server(admin_server_options(settings),
                            make_admin_server_routes(settings, core, stack, *pickers),
                            count_refusals("admin"));

  announce_listening(settings, options, public_server.port(), admin_server.port());
  service_notifier notifier;  // systemd's Type=notify; silent when systemd did not start us
  const std::string serving_status =
      fmt::format("listening on {}:{}, admin on {}:{}", settings.server.listen.host,
                  public_server.port(), settings.admin.listen.host, admin_server.port());
  notifier.ready(serving_status);
  auto pinger = start_watchdog(notifier, serving_status, *core.inbox);
  run_until_signal(settings, *core.live, stack, notifier, serving_status, public_server,
                   admin_server);
  stop_service(core, stack, alert_state, pinger);
  return 0;
}

}  // namespace connector::app
