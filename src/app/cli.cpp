#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <spdlog/pattern_formatter.h>
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "connector/app/commands.hpp"
#include "connector/app/status_report.hpp"
#include "connector/ispring/client.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/store/inbox.hpp"
#include "connector/sync/mapping_check.hpp"
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

// `%*` in a pattern: the message as the inside of a JSON string, so a quote or a newline
// in a message (an error text from a remote service) cannot break the line's JSON.
class json_message_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    const std::string quoted = nlohmann::json(std::string(text))
                                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(quoted.data() + 1, quoted.data() + quoted.size() - 1);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_message_flag>();
  }
};

void configure_logging(const std::string& level, const std::string& format) {
  auto logger = spdlog::stderr_color_mt("connector");
  spdlog::set_default_logger(logger);
  if (format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<json_message_flag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":"%*"})");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace

int status(const config::settings& settings, bool json) {
  try {
    const auto& path = settings.store.sqlite_path;
    const status_snapshot snapshot{
        store::read_sqlite_stats(path),
        store::read_sqlite_records(path, store::record_state::dead, 50),
        store::read_sqlite_records(path, store::record_state::retrying, 50),
        store::read_sqlite_last_sync(path)};
    std::cout << (json ? status_to_json(snapshot).dump(2) + "\n" : status_to_text(snapshot));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "connector status: " << e.what() << "\n";
    return 1;
  }
}

int retry(const config::settings& settings, const std::string& record_id) {
  try {
    auto inbox = store::open_sqlite_inbox({settings.store.sqlite_path});
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

int sync_user(const config::settings& settings, const std::string& record_id) {
  if (!settings.ispring) {
    std::cerr << "connector sync-user: the configuration has no ispring section\n";
    return 2;
  }
  try {
    auto inbox = store::open_sqlite_inbox({settings.store.sqlite_path});
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
    sync::user_sync chain(settings, api);
    const auto report = chain.run(*record, link);
    std::cout << "user " << record->record_id << "\n  scope: " << report.scope_reason << "\n";
    for (const auto& step : report.steps) std::cout << "  " << step.to_string() << "\n";
    const auto& result = report.result;
    if (result.result == sync::record_result::kind::failed) {
      std::cout << "  FAILED: " << result.error << "\n";
      return 1;
    }
    // Recorded like the worker would, so it does not apply the same state again.
    if (result.ispring_user_id) {
      inbox->set_link(record->organization_id, record->record_id, *result.ispring_user_id);
    }
    inbox->mark_done(record->organization_id, record->record_id, record->version, result.outcome);
    std::cout << "  result: " << result.outcome << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "connector sync-user: " << e.what() << "\n";
    return 1;
  }
}

int check(const config::settings& settings) {
  // The seed's "Verify and Register Integration": every finding on its own line, so the
  // operator sees everything that is wrong at once.
  bool all_ok = true;
  const auto say = [&](bool ok, const std::string& text) {
    std::cout << (ok ? "  ok    " : "  FAIL  ") << text << "\n";
    all_ok = all_ok && ok;
  };
  std::cout << "configuration " << settings.config_path << "\n";
  say(true, "configuration is valid");
  if (!settings.ispring) {
    say(false, "ispring: no section, so nothing is pushed to iSpring Learn");
  } else {
    ispring::https_api api(*settings.ispring);
    auto fields = api.profile_fields();
    if (!fields) {
      say(false, "ispring: " + settings.ispring->api_url + ": " + fields.error().to_string());
    } else {
      say(true, "ispring: signed in to " + settings.ispring->api_url + " and read " +
                    std::to_string(fields->size()) + " profile fields");
      for (const auto& finding : sync::check_mapping(settings.mapping, *fields)) {
        say(finding.ok, finding.text);
      }
    }
  }
  // Salesforce REST credentials are used by the full reconciliation, which is not built
  // yet; say so rather than claim they were checked.
  std::cout << "  skip  salesforce: REST credentials are checked once reconciliation exists\n";
  std::cout << (all_ok ? "all checks passed\n" : "some checks failed\n");
  return all_ok ? 0 : 1;
}

int run_cli(int argc, char** argv) {
  CLI::App cli{
      "connector: keeps iSpring Learn in step with Salesforce users.\n"
      "Salesforce outbound messages arrive over HTTPS, are stored durably, acknowledged,\n"
      "and pushed to iSpring Learn."};
  cli.require_subcommand(1);
  std::string config_path;
  std::string log_level;
  std::string log_format;

  auto* serve_cmd = cli.add_subcommand("serve", "Run the service (HTTPS intake, admin listener)");
  serve_options serve_opts;
  std::string ready_file;
  serve_cmd->add_option("--config", config_path, "Config file (JSON)")->required();
  serve_cmd->add_option("--ready-file", ready_file,
                        "Write {public_port, admin_port, pid} as JSON here once listening");
  serve_cmd->add_option("--log-level", log_level, "trace, debug, info, warn, error");
  serve_cmd->add_option("--log-format", log_format, "json or text")
      ->check(CLI::IsMember({"json", "text"}));

  auto* status_cmd = cli.add_subcommand(
      "status", "Print what the inbox holds: notifications, duplicates, pending, last received");
  bool status_json = false;
  status_cmd->add_option("--config", config_path, "Config file (JSON)")->required();
  status_cmd->add_flag("--json", status_json, "One JSON object, for scripts");

  auto* check_cmd = cli.add_subcommand("check", "Validate the configuration and credentials");
  check_cmd->add_option("--config", config_path, "Config file (JSON)")->required();

  auto* retry_cmd = cli.add_subcommand("retry", "Put dead letters back into the sync queue");
  std::string retry_record;
  bool retry_all = false;
  retry_cmd->add_option("--config", config_path, "Config file (JSON)")->required();
  auto* retry_id = retry_cmd->add_option("RECORD_ID", retry_record, "Salesforce record id");
  auto* retry_every = retry_cmd->add_flag("--all", retry_all, "Every dead letter");
  retry_id->excludes(retry_every);
  retry_cmd->callback([&] {
    if (!retry_all && retry_record.empty()) {
      throw CLI::ValidationError("retry", "name a RECORD_ID or pass --all");
    }
  });

  auto* sync_user_cmd = cli.add_subcommand(
      "sync-user", "Apply one user to iSpring Learn now and print each step (provision on demand)");
  std::string sync_record;
  sync_user_cmd->add_option("--config", config_path, "Config file (JSON)")->required();
  sync_user_cmd->add_option("RECORD_ID", sync_record, "Salesforce record id")->required();

  CLI11_PARSE(cli, argc, argv);

  auto settings = load_or_explain(config_path);
  if (!settings) return 2;
  configure_logging(log_level.empty() ? settings->logging.level : log_level,
                    log_format.empty() ? settings->logging.format : log_format);

  if (*serve_cmd) {
    if (!ready_file.empty()) serve_opts.ready_file = ready_file;
    try {
      return serve(*settings, serve_opts);
    } catch (const std::exception& e) {
      spdlog::critical("cannot start: {}", e.what());
      return 1;
    }
  }
  if (*status_cmd) return status(*settings, status_json);
  if (*check_cmd) return check(*settings);
  if (*sync_user_cmd) return sync_user(*settings, sync_record);
  if (*retry_cmd) return retry(*settings, retry_all ? std::string() : retry_record);
  return 2;
}

}  // namespace connector::app
