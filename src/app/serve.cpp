#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "connector/app/admin_api.hpp"
#include "connector/app/commands.hpp"
#include "connector/app/event_intake.hpp"
#include "connector/app/outbound_intake.hpp"
#include "connector/app/reconcile_runs.hpp"
#include "connector/http/server.hpp"
#include "connector/ispring/client.hpp"
#include "connector/store/inbox.hpp"
#include "connector/sync/schedule.hpp"
#include "connector/sync/user_sync.hpp"
#include "connector/sync/worker.hpp"

namespace connector::app {
namespace {

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
        spdlog::info("received {}, finishing in-flight requests",
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

}  // namespace

int serve(const config::settings& settings, const serve_options& options) {
  namespace fs = std::filesystem;
  const sigset_t signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const fs::path db_path(settings.store.sqlite_path);
  if (db_path.has_parent_path()) fs::create_directories(db_path.parent_path());

  system_clock clock;
  auto inbox = store::open_sqlite_inbox(sqlite_options_for(settings));
  // A run a crashed or killed process left queued or running would otherwise show as
  // running forever in status and in GET /admin/runs/{id}.
  if (const auto interrupted = inbox->fail_interrupted_runs(clock.now()); interrupted != 0) {
    spdlog::warn(
        "{} reconciliation run(s) were interrupted when the service stopped; marked failed",
        interrupted);
  }
  intake_counters counters;

  // The sync worker runs when iSpring Learn is configured; without it the service only
  // takes notifications in (they wait, durable, until it is).
  std::unique_ptr<ispring::https_api> ispring_api;
  std::unique_ptr<sync::user_sync> user_sync;
  std::unique_ptr<sync::worker> worker;
  if (settings.ispring) {
    ispring_api = std::make_unique<ispring::https_api>(*settings.ispring);
    user_sync = std::make_unique<sync::user_sync>(settings, *ispring_api);
    sync::worker_options worker_options;
    worker_options.concurrency = settings.ispring->max_concurrency;
    worker_options.max_attempts = settings.sync.max_attempts;
    worker_options.retry_base_ms = settings.sync.retry_base_ms;
    worker_options.retry_max_ms = settings.sync.retry_max_ms;
    worker = std::make_unique<sync::worker>(*inbox, user_sync->processor(), clock, worker_options);
    worker->start();
  } else {
    spdlog::warn(
        "no ispring section in the configuration: notifications are stored but not "
        "pushed to iSpring Learn");
  }
  // The full reconciliation needs iSpring and Salesforce REST credentials; without them the
  // admin API says why it cannot run one.
  std::unique_ptr<run_coordinator> runs;
  std::string runs_unavailable;
  std::optional<salesforce_access> salesforce;
  if (!settings.ispring) {
    runs_unavailable = "the reconciliation needs the ispring section in the configuration";
  } else if (auto access = make_salesforce_access(settings, clock); !access) {
    runs_unavailable = access.error();
  } else {
    salesforce = std::move(*access);
  }
  if (salesforce) {
    auto schedule = sync::schedule::make(settings.schedule);
    if (!schedule) throw std::runtime_error(schedule.error());  // load_file checked it already
    run_environment env;
    env.settings = &settings;
    env.store = inbox.get();
    env.ispring = ispring_api.get();
    env.read_salesforce = salesforce->read_users;
    env.organization_id = salesforce->organization_id;
    env.time = &clock;
    spdlog::info("reconciliation schedule: {}", schedule->describe());
    runs = std::make_unique<run_coordinator>(std::move(env), std::move(*schedule));
    runs->start();
  } else {
    spdlog::warn("full reconciliation unavailable: {}", runs_unavailable);
  }

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
       make_outbound_intake_handler(*inbox, rules, clock, counters, wake_worker)},
  };

  // JSON change events: only signed ones, so only with server.events_signing_secrets.
  if (auto events = make_event_intake_settings(settings); !events) {
    spdlog::info("events endpoint {} is off: {}", settings.server.events_path, events.error());
  } else {
    // GAP_* events carry no data: the full reconciliation reads those users again.
    std::function<void(const std::vector<std::string>&)> on_gap;
    if (runs) {
      on_gap = [r = runs.get()](const std::vector<std::string>& records) {
        spdlog::warn("{} change event(s) without data (GAP): a reconciliation run is queued",
                     records.size());
        r->request_soon("gap_event");
      };
    } else {
      on_gap = [](const std::vector<std::string>& records) {
        spdlog::error(
            "{} change event(s) without data (GAP), and no reconciliation to read them again: "
            "run `connector reconcile` once Salesforce REST credentials are configured",
            records.size());
      };
    }
    public_routes.push_back({"POST", settings.server.events_path,
                             make_event_intake_handler(*inbox, std::move(*events), clock, counters,
                                                       wake_worker, on_gap)});
  }

  http::server public_server(public_server_options(settings.server), std::move(public_routes));
  http::server admin_server(admin_server_options(settings),
                            make_admin_routes(settings, *inbox, counters, runs.get(),
                                              runs_unavailable, ispring_api.get()));

  spdlog::info("listening on {}:{} (Salesforce outbound messages at {}), admin on {}:{}",
               settings.server.listen.host, public_server.port(),
               settings.server.outbound_message_path, settings.admin.listen.host,
               admin_server.port());
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

  {
    // SIGHUP applies a changed schedule without a restart (the seed's "Change Schedule Job");
    // other settings need one, and a broken file changes nothing.
    const auto reload = [&] {
      auto reloaded = config::load_file(settings.config_path);
      if (!reloaded) {
        spdlog::error("SIGHUP: configuration not reloaded: {}", reloaded.error().to_string());
        return;
      }
      auto schedule = sync::schedule::make(reloaded->schedule);
      if (!schedule) {
        spdlog::error("SIGHUP: configuration not reloaded: {}", schedule.error());
        return;
      }
      if (!runs) {
        spdlog::warn("SIGHUP: reloaded, but the reconciliation is unavailable: {}",
                     runs_unavailable);
        return;
      }
      spdlog::info("SIGHUP: reconciliation schedule is now: {}", schedule->describe());
      runs->set_schedule(std::move(*schedule));
    };
    signal_waiter waiter(
        [&] {
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
  if (runs) runs->stop();      // finishes the users being applied, records the run
  if (worker) worker->stop();  // finishes the users being applied
  worker.reset();
  runs.reset();
  inbox.reset();  // commits whatever is queued before the process exits
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace connector::app
