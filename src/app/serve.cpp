#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

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
    spdlog::warn(
        "ispring.group_additions is \"user_update\": users join groups by groupIds on "
        "their update, which iSpring documents as adding but has not been confirmed to "
        "(it may replace their other groups)");
  return drainer;
}

}  // namespace

int serve(const config::settings& file_settings, const serve_options& options) {
  namespace fs = std::filesystem;
  // Safe by default: a public listener needs a lock, or an explicit "on purpose".
  if (auto problem = config::intake_lock_problem(file_settings.server)) {
    if (!file_settings.server.allow_unlocked_intake) {
      log::error("service.refused", "cannot start: {}", *problem);
      return 2;
    }
    log::warn("service.unlocked_intake",
              "the intake is unlocked (server.allow_unlocked_intake is true): anyone who knows "
              "the organization id can post notifications");
  }
  const sigset_t signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<connector::clock> clock_owner;
  if (options.clock_offset_file) {
    clock_owner = std::make_unique<offset_file_clock>(*options.clock_offset_file);
  } else {
    clock_owner = std::make_unique<system_clock>();
  }
  const connector::clock& clock = *clock_owner;
  // One registry for the process: each part that records gets a pointer and keeps its
  // handles; GET /metrics on the admin listener renders it.
  metrics::registry metrics;
  metrics::add_process_metrics(metrics);
  store::store_settings store_options = store_settings_for(file_settings);
  store_options.on_commit = commit_group_observer(metrics);
  store_options.time = &clock;
  auto inbox = store::open_store(store_options);
  add_store_metrics(metrics, *inbox, clock);
  // Settings edited in the admin page: the file's sections where it sets them, else the
  // newest revision's, else defaults. A revision saved here or by another instance on the
  // store applies within a poll, without a restart.
  auto settings_log = store::open_settings_log(store_options);
  live_settings live(file_settings, *settings_log, clock);
  const auto started_with = live.current();
  const config::settings& settings = *started_with.settings;
  if (started_with.revision > 0)
    log::info("settings.revision", "settings revision {} (sections not in the file come from it)",
              started_with.revision);
  // A run a crashed or killed process left queued or running would otherwise show as
  // running forever in status and in GET /admin/runs/{id}.
  // This process as one of the instances on the store: others judge its runs and its
  // reconciliation lease by this heartbeat, and `status` lists it.
  instance_heartbeat heartbeat(*inbox, clock, "serve");
  heartbeat.start();
  if (const auto interrupted = inbox->fail_interrupted_runs(clock.now()); interrupted != 0) {
    spdlog::warn(
        "{} reconciliation run(s) were interrupted when the service stopped; marked failed",
        interrupted);
  }
  intake_counters counters;

  // The sync worker runs when iSpring Learn is configured; without it the service only
  // takes notifications in (they wait, durable, until it is).
  // Salesforce REST serves the full reconciliation and the re-read of users Salesforce
  // sent without data; without credentials neither is available.
  std::optional<salesforce_access> salesforce;
  std::string salesforce_unavailable;
  // Remote protocols (JWT lifetimes, token expiry) keep the real time, whatever tests do
  // to the service's clock.
  system_clock remote_clock;
  if (auto access = make_salesforce_access(settings, remote_clock, &metrics, live.source());
      !access) {
    salesforce_unavailable = access.error();
  } else {
    salesforce = std::move(*access);
  }

  std::unique_ptr<ispring::https_api> ispring_api;
  std::unique_ptr<sync::user_sync> user_sync;
  std::unique_ptr<sync::deactivation_limiter> deactivation_limiter;
  std::unique_ptr<sync::worker> worker;
  std::unique_ptr<sync::group_drainer> drainer;
  std::unique_ptr<organization_hold> organization;
  if (settings.ispring) {
    ispring_api = std::make_unique<ispring::https_api>(*settings.ispring, ispring::retry_policy{},
                                                       ispring::sleep_for_real,
                                                       ispring::wall_clock(), &metrics);
    auto reread =
        reread_options_for(settings, salesforce ? &*salesforce : nullptr, *inbox, clock, &metrics);
    if (reread.verify) {
      spdlog::info(
          "notifications are verified: each user is read from Salesforce over REST "
          "and only what Salesforce returns is applied");
    } else if (salesforce) {
      spdlog::warn(
          "sync.verify_notifications is false: the fields of notifications are applied "
          "as they arrive");
    }
    user_sync =
        std::make_unique<sync::user_sync>(settings, *ispring_api, std::move(reread), inbox.get());
    user_sync->follow(live.source());  // each record on the newest settings revision
    // Always there, counting even while "off": the cap each deactivation meets is the
    // revision's in force (a revision may turn it on or lower it at any time).
    deactivation_limiter = std::make_unique<sync::deactivation_limiter>(
        settings.sync.max_deactivations_per_hour.value_or("off"), clock,
        sync::journal_in(*inbox, *inbox));
    user_sync->limit_deactivations(*deactivation_limiter);
    if (!settings.sync.max_deactivations_per_hour)
      spdlog::warn(
          "sync.max_deactivations_per_hour is off: notifications may deactivate or delete any "
          "number of iSpring users");
    sync::worker_options worker_options;
    worker_options.concurrency = settings.ispring->max_concurrency;
    worker_options.retries = live_retries(live.source());
    worker_options.metrics = &metrics;
    drainer = start_group_drainer(settings, *inbox, *ispring_api, clock, metrics, *user_sync,
                                  worker_options);
    worker = std::make_unique<sync::worker>(*inbox, user_sync->processor(), clock, worker_options);
    // Bound to the organization its links belong to: another one waits for a reset.
    organization = std::make_unique<organization_hold>(
        store::open_organization_binding(store_options), organization_identity(*settings.ispring),
        *inbox, clock);
  } else {
    spdlog::warn(
        "no ispring section in the configuration: notifications are stored but not "
        "pushed to iSpring Learn");
  }
  // The full reconciliation needs iSpring and Salesforce REST credentials; without them the
  // admin API says why it cannot run one.
  std::unique_ptr<run_coordinator> runs;
  std::string runs_unavailable;
  if (!settings.ispring) {
    runs_unavailable = "the reconciliation needs the ispring section in the configuration";
  } else if (!salesforce) {
    runs_unavailable = salesforce_unavailable;
  }
  if (settings.ispring && salesforce) {
    auto schedule = sync::schedule::make(settings.schedule);
    if (!schedule) throw std::runtime_error(schedule.error());  // load_file checked it already
    run_environment env;
    env.settings = &settings;
    env.current_settings = live.source();
    env.store = inbox.get();
    env.ispring = ispring_api.get();
    env.read_salesforce = salesforce->read_users;
    env.organization_id = salesforce->organization_id;
    env.time = &clock;
    env.metrics = &metrics;
    add_reconciliation_metrics(metrics, *inbox);
    spdlog::info("reconciliation schedule: {}", schedule->describe());
    runs = std::make_unique<run_coordinator>(std::move(env), std::move(*schedule));
  } else {
    spdlog::warn("full reconciliation unavailable: {}", runs_unavailable);
  }

  // What writes to iSpring starts now, or once the organization matches again.
  if (organization)
    organization->when_released([&] {
      if (worker) worker->start();
      if (drainer) drainer->start();
      if (runs) runs->start();
    });

  // E-mail to the administrator, from a thread of its own (alerts.*).
  const alerts::monitor_sources alert_sources{
      inbox.get(), ispring_api ? &ispring_api->credentials() : nullptr,
      salesforce ? salesforce->credentials : nullptr, &clock};
  auto alert_monitor = alerts::start_alert_monitor(settings, alert_sources);
  std::mutex alert_monitor_mutex;  // a new alerts.email_to restarts it from another thread

  // A new settings revision: the worker and the next run read it themselves; the schedule
  // and the alerts' addresses are handed over here.
  live.on_change([&, schedule_now = section_to_json(settings, "schedule"),
                  email_to_now = section_to_json(settings, "alerts.email_to")](
                     const sync::settings_snapshot& now) mutable {
    if (auto schedule_next = section_to_json(*now.settings, "schedule");
        schedule_next != schedule_now && runs) {
      if (auto schedule = sync::schedule::make(now.settings->schedule)) {
        log::info("service.schedule", "reconciliation schedule is now: {} (settings revision {})",
                  schedule->describe(), now.revision);
        runs->set_schedule(std::move(*schedule));
        schedule_now = std::move(schedule_next);
      }
    }
    if (auto email_to_next = section_to_json(*now.settings, "alerts.email_to");
        email_to_next != email_to_now) {
      std::lock_guard lock(alert_monitor_mutex);
      alert_monitor.reset();
      alert_monitor = alerts::start_alert_monitor(*now.settings, alert_sources);
      email_to_now = std::move(email_to_next);
    }
  });
  live.start_polling(settings_poll_interval_ms);

  std::function<void()> wake_worker;
  if (worker) wake_worker = [w = worker.get()] { w->wake(); };

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
       make_outbound_intake_handler(*inbox, rules, clock, counters, wake_worker, &metrics)},
  };

  // JSON change events: only signed ones, so only with server.events_signing_secrets.
  if (auto events = make_event_intake_settings(settings); !events) {
    spdlog::info("events endpoint {} is off: {}", settings.server.events_path, events.error());
  } else {
    // GAP_* events carry no data. One record is read again by the worker; a wildcard
    // ("005*": every user) needs the full reconciliation.
    std::function<void(const std::vector<std::string>&)> on_gap;
    if (runs) {
      on_gap = [r = runs.get()](const std::vector<std::string>& records) {
        log::warn("intake.gap_all",
                  "GAP change event for every record ({}): a reconciliation run is queued",
                  records.front());
        r->request_soon("gap_event");
      };
    } else {
      on_gap = [](const std::vector<std::string>& records) {
        spdlog::error(
            "GAP change event for every record ({}), and no reconciliation to read them again: "
            "run `connector reconcile` once Salesforce REST credentials are configured",
            records.front());
      };
    }
    public_routes.push_back({"POST", settings.server.events_path,
                             make_event_intake_handler(*inbox, *inbox, std::move(*events), clock,
                                                       counters, wake_worker, on_gap, &metrics)});
  }

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
  const auto count_refusals = [&refused_connections](const char* listener) {
    return [&refused_connections, listener](http::connection_refusal why) {
      refused_connections.with({listener, http::to_string(why)}).inc();
    };
  };
  http::server public_server(public_server_options(settings.server), std::move(public_routes),
                             count_refusals("public"));
  // The admin page's pickers read Salesforce and iSpring live, with clients of their own.
  auto picker_sources = make_picker_sources(settings);
  picker_sources.settings = [source = live.source()] { return *source().settings; };
  app::pickers pickers(std::move(picker_sources));
  auto admin_routes =
      make_admin_routes(settings, *inbox, counters, runs.get(), runs_unavailable, &metrics,
                        ispring_api.get(), live.source(), [&pickers, &organization] {
                          auto warnings = pickers.status_warnings();
                          if (organization)
                            for (auto& w : organization->status_warnings())
                              warnings.push_back(std::move(w));
                          return warnings;
                        });
  for (auto& route : pickers.routes(accepted_tokens(settings.admin)))
    admin_routes.push_back(std::move(route));
  for (auto& route :
       make_preview_routes(live, runs.get(), runs_unavailable, accepted_tokens(settings.admin)))
    admin_routes.push_back(std::move(route));
  for (auto& route : make_group_routes(
           live, ispring_api.get(),
           [&organization]() -> std::string {
             if (!organization)
               return "adding a group needs the ispring section "
                      "in the configuration";
             return organization->reason();
           },
           accepted_tokens(settings.admin)))
    admin_routes.push_back(std::move(route));
  if (organization)
    for (auto& route : organization->routes(accepted_tokens(settings.admin)))
      admin_routes.push_back(std::move(route));
  http::server admin_server(
      admin_server_options(settings),
      with_admin_throttle(with_admin_page(with_settings_routes(std::move(admin_routes), live),
                                          {&settings, inbox.get(), inbox.get(), runs.get(), &clock,
                                           wake_worker, live.source()}),
                          accepted_tokens(settings.admin), clock, &metrics),
      count_refusals("admin"));

  log::info("service.listening",
            "listening on {}:{} (Salesforce outbound messages at {}), admin on {}:{}",
            settings.server.listen.host, public_server.port(),
            settings.server.outbound_message_path, settings.admin.listen.host, admin_server.port());
  if (options.ready_file) {
    std::ofstream ready(*options.ready_file + ".tmp");
    ready << nlohmann::json{{"public_port", public_server.port()},
                            {"admin_port", admin_server.port()},
                            {"pid", static_cast<long>(getpid())}}
                 .dump()
          << "\n";
    ready.close();
    fs::rename(*options.ready_file + ".tmp", *options.ready_file);
  }
  service_notifier notifier;  // systemd's Type=notify; silent when systemd did not start us
  const std::string serving_status =
      fmt::format("listening on {}:{}, admin on {}:{}", settings.server.listen.host,
                  public_server.port(), settings.admin.listen.host, admin_server.port());
  notifier.ready(serving_status);
  std::unique_ptr<watchdog_pinger> pinger;
  if (const auto interval = watchdog_ping_interval()) {
    // Every acknowledgment waits for the store's single writer: an empty intake goes through
    // its queue and an empty transaction, so it answers only while the writer is not stuck.
    pinger = std::make_unique<watchdog_pinger>(
        notifier, *interval,
        [store = inbox.get()](std::function<void()> answered) {
          store->submit(store::intake_request{},
                        [answered](const store::intake_outcome&) { answered(); });
        },
        "the store writer", serving_status);
  }

  {
    // SIGHUP applies a changed schedule without a restart (the seed's "Change Schedule Job");
    // other settings need one, and a broken file changes nothing. Returns the outcome for
    // systemctl status.
    const auto reload_schedule = [&]() -> std::string {
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
        log::error("service.reload_failed", "SIGHUP: configuration not reloaded: {}",
                   schedule.error());
        return "configuration not reloaded: " + schedule.error();
      }
      if (!runs) {
        spdlog::warn("SIGHUP: reloaded, but the reconciliation is unavailable: {}",
                     runs_unavailable);
        return "reloaded; reconciliation unavailable";
      }
      auto described = schedule->describe();
      log::info("service.reloaded", "SIGHUP: reconciliation schedule is now: {}", described);
      runs->set_schedule(std::move(*schedule));
      return "reloaded; schedule: " + described;
    };
    const auto reload = [&] {
      notifier.reloading("reloading the configuration");
      notifier.ready(serving_status + "; " + reload_schedule());
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
  live.stop_polling();  // no new revision reaches what stops below
  if (organization) organization->stop();  // starts nothing after this
  {
    std::lock_guard lock(alert_monitor_mutex);
    alert_monitor.reset();  // reads the store, so it stops first
  }
  if (runs) runs->stop();      // finishes the users being applied, records the run
  if (worker) worker->stop();  // finishes the users being applied
  heartbeat.stop();            // leaves the instance list; its leases are free at once
  worker.reset();
  drainer.reset();  // finishes the replaces in progress; what waits stays queued
  runs.reset();
  pinger.reset();  // it probes the store
  inbox.reset();   // commits whatever is queued before the process exits
  log::info("service.stopped", "stopped cleanly");
  return 0;
}

}  // namespace connector::app
