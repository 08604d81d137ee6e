#include "support/service.hpp"

#include <atomic>
#include <csignal>
#include <stdexcept>

namespace connector::testing {

nlohmann::json test_config(const std::filesystem::path& dir, const nlohmann::json& overrides) {
  const auto& certs = test_certs::get();
  nlohmann::json config = {
      {"server",
       {{"listen", "127.0.0.1:0"},
        {"tls",
         {{"certificate", certs.server_crt.string()},
          {"private_key", certs.server_key.string()}}}}},
      {"admin", {{"listen", "127.0.0.1:0"}, {"token", test_admin_token}}},
      {"store", {{"sqlite_path", (dir / "connector.db").string()}}},
      {"salesforce", {{"organization_ids", {test_org_id}}}},
      {"logging", {{"level", "info"}, {"format", "text"}}},
  };
  config.merge_patch(overrides);
  return config;
}

running_service::running_service(const std::filesystem::path& dir, const nlohmann::json& overrides)
    : dir_(dir), config_path_(dir / "config.json") {
  write_text(config_path_, test_config(dir, overrides).dump(2));
  start();
}

running_service::~running_service() {
  if (process_ && process_->running()) {
    process_->signal(SIGTERM);
    if (!process_->wait(std::chrono::seconds(20))) process_->signal(SIGKILL);
  }
}

void running_service::start() {
  // Numbered across the whole test process, and cleared first: a second running_service in the
  // same folder (a restart, a second instance) must never read the first one's ports.
  static std::atomic<int> starts{0};
  const auto ready = dir_ / ("ready-" + std::to_string(++starts) + ".json");
  std::filesystem::remove(ready);
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{CONNECTOR_BINARY, "serve", "--config", config_path_.string(),
                               "--ready-file", ready.string(), "--clock-offset-file",
                               clock_offset_path().string()},
      dir_);
  if (!wait_for_file(ready, *process_)) {
    throw std::runtime_error("connector did not become ready: " + process_->stderr_text());
  }
  const auto info = nlohmann::json::parse(read_text(ready));
  public_port_ = info.at("public_port").get<std::uint16_t>();
  admin_port_ = info.at("admin_port").get<std::uint16_t>();
}

void running_service::advance_clock(std::int64_t ms) {
  clock_offset_ms_ += ms;
  // Written aside and renamed, so the service never reads half a number.
  const auto aside = dir_ / "clock-offset.tmp";
  write_text(aside, std::to_string(clock_offset_ms_) + "\n");
  std::filesystem::rename(aside, clock_offset_path());
}

https_client running_service::public_client() const {
  client_options o;
  o.port = public_port_;
  o.ca_file = test_certs::get().ca_crt.string();
  return https_client(o);
}

https_client running_service::admin_client() const {
  client_options o;
  o.port = admin_port_;
  o.ca_file = test_certs::get().ca_crt.string();
  return https_client(o);
}

int running_service::stop() {
  process_->signal(SIGTERM);
  return process_->wait(std::chrono::seconds(30)).value_or(-1);
}

void running_service::kill_hard() {
  process_->signal(SIGKILL);
  process_->wait(std::chrono::seconds(30));
}

command_result run_connector(const std::vector<std::string>& args) {
  std::vector<std::string> argv{CONNECTOR_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

}  // namespace connector::testing
