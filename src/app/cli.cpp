#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <iostream>

#include "connector/app/commands.hpp"
#include "connector/app/status_report.hpp"
#include "connector/store/inbox.hpp"

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
    const std::string quoted = nlohmann::json(std::string(text)).dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
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
    const auto stats = store::read_sqlite_stats(settings.store.sqlite_path);
    std::cout << (json ? status_to_json(stats).dump(2) + "\n" : status_to_text(stats));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "connector status: " << e.what() << "\n";
    return 1;
  }
}

int check(const config::settings& settings) {
  std::cout << "configuration " << settings.config_path << ": OK\n";
  return 0;
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
  return 2;
}

}  // namespace connector::app
