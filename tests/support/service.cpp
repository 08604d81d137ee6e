#include "support/service.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace connector::testing {

temp_dir::temp_dir() {
  char name[] = "/tmp/connector-test-XXXXXX";
  if (mkdtemp(name) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = name;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

namespace {

// Removes the folder a process generated, at its exit; never in a forked child (it exits
// through exec or _exit, but a check costs nothing).
struct generated_certs {
  std::filesystem::path dir;
  pid_t owner = 0;
};
generated_certs& generated() {
  static generated_certs g;
  return g;
}
void remove_generated_certs() {
  const auto& g = generated();
  if (g.owner != getpid() || g.dir.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(g.dir, ignored);
}

// The folder ctest's fixture made (tests/CMakeLists.txt, test_certs_setup), if any.
std::optional<std::filesystem::path> certs_from_ctest() {
  const char* dir = std::getenv("CONNECTOR_TEST_CERTS");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  if (!std::filesystem::exists(std::filesystem::path(dir) / "ca.crt"))
    throw std::runtime_error(std::string("CONNECTOR_TEST_CERTS=") + dir +
                             " holds no ca.crt: run the tests through ctest, whose fixture "
                             "test_certs_setup makes them, or unset it");
  return std::filesystem::path(dir);
}

}  // namespace

const test_certs& test_certs::get() {
  static std::once_flag once;
  static test_certs certs;
  std::call_once(once, [] {
    if (auto dir = certs_from_ctest()) {
      certs.dir = std::move(*dir);  // made once per ctest run, removed by its cleanup
    } else {
      // Outside ctest: once per process, removed when it exits.
      certs.dir =
          std::filesystem::temp_directory_path() / ("connector-certs-" + std::to_string(getpid()));
      generated() = {certs.dir, getpid()};
      std::atexit(remove_generated_certs);
      const auto result = run_command(
          {"/bin/bash", std::string(CONNECTOR_SOURCE_DIR) + "/certs/generate.sh",
           certs.dir.string(), "--force", "--no-jwt-key"});  // JWT keys: support/rsa_keys.hpp
      if (result.exit_code != 0) {
        throw std::runtime_error("certs/generate.sh failed: " + result.err);
      }
    }
    certs.server_crt = certs.dir / "server.crt";
    certs.server_key = certs.dir / "server.key";
    certs.ca_crt = certs.dir / "ca.crt";
    certs.client_crt = certs.dir / "client.crt";
    certs.client_key = certs.dir / "client.key";
  });
  return certs;
}

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
  const auto ready = dir_ / ("ready-" + std::to_string(++starts_) + ".json");
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
