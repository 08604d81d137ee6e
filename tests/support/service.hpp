#pragma once
// Test fixtures around the real `connector` binary: a temporary folder with a config file,
// the service started on port 0 and read back from its ready file.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "support/files.hpp"
#include "support/https_client.hpp"
#include "support/process.hpp"
#include "support/test_certs.hpp"

namespace connector::testing {

// The test organization (a valid 18-character id) used by fixtures.
inline constexpr const char* test_org_id = "00D5g000004XyZaEAK";
inline constexpr const char* test_admin_token = "test-admin-token-0123456789";

// The default config of a test service, in `dir`, with `overrides` merged in
// (JSON merge patch: null removes a key).
nlohmann::json test_config(const std::filesystem::path& dir,
                           const nlohmann::json& overrides = nlohmann::json::object());

class running_service {
 public:
  // Writes config.json into `dir` and starts `connector serve`; throws if it does not
  // become ready.
  explicit running_service(const std::filesystem::path& dir,
                           const nlohmann::json& overrides = nlohmann::json::object());
  ~running_service();

  std::uint16_t public_port() const { return public_port_; }
  std::uint16_t admin_port() const { return admin_port_; }
  const std::filesystem::path& config_path() const { return config_path_; }
  std::filesystem::path db_path() const { return dir_ / "connector.db"; }
  child_process& process() { return *process_; }

  https_client public_client() const;
  https_client admin_client() const;

  // SIGTERM and wait: the exit code.
  int stop();
  // SIGKILL: no chance to clean up.
  void kill_hard();
  // Starts again with the same config (after stop or kill_hard).
  void start();

  // Moves the service's clock forward (serve --clock-offset-file): hours pass at once, and
  // the offset is kept across restarts.
  void advance_clock(std::int64_t ms);
  std::filesystem::path clock_offset_path() const { return dir_ / "clock-offset"; }

 private:
  std::filesystem::path dir_, config_path_;
  std::unique_ptr<child_process> process_;
  std::uint16_t public_port_ = 0, admin_port_ = 0;
  std::int64_t clock_offset_ms_ = 0;
};

// Runs `connector ARGS… --config <config>` to completion.
command_result run_connector(const std::vector<std::string>& args);

}  // namespace connector::testing
