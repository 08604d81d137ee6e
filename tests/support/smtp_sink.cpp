#include "support/smtp_sink.hpp"

#include <algorithm>
#include <stdexcept>

#include "support/service.hpp"

namespace connector::testing {

smtp_sink::smtp_sink(const std::filesystem::path& dir, smtp_sink_options options)
    : options_(std::move(options)), out_dir_(dir / "smtp-received") {
  std::filesystem::create_directories(out_dir_);
  const auto ready = dir / "smtp-sink.port";
  const auto& certs = test_certs::get();
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   std::string(CONNECTOR_SOURCE_DIR) + "/tests/tools/smtp_sink.py",
                                   "--out-dir",
                                   out_dir_.string(),
                                   "--ready-file",
                                   ready.string(),
                                   "--cert",
                                   certs.server_crt.string(),
                                   "--key",
                                   certs.server_key.string(),
                                   "--security",
                                   options_.security};
  if (!options_.username.empty()) {
    argv.push_back("--username");
    argv.push_back(options_.username);
  }
  std::filesystem::create_directories(dir / "smtp-sink-logs");
  process_ = std::make_unique<child_process>(
      argv, dir / "smtp-sink-logs",
      std::map<std::string, std::string>{{"SMTP_SINK_PASSWORD", options_.password}});
  if (!wait_for_file(ready, *process_)) {
    throw std::runtime_error("the SMTP sink did not start: " + process_->stderr_text());
  }
  port_ = static_cast<std::uint16_t>(std::stoi(read_text(ready)));
  // The connector reads the password the way an operator would configure it: file:PATH.
  password_file_ = dir / "smtp-password";
  write_text(password_file_, options_.password + "\n");
}

smtp_sink::~smtp_sink() = default;

std::vector<nlohmann::json> smtp_sink::messages() const {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(out_dir_)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<nlohmann::json> out;
  for (const auto& file : files) out.push_back(nlohmann::json::parse(read_text(file)));
  return out;
}

nlohmann::json smtp_sink::alerts_config() const {
  nlohmann::json smtp = {{"host", "127.0.0.1"},
                         {"port", port_},
                         {"security", options_.security},
                         {"from", "connector@example.com"},
                         {"tls_ca_file", test_certs::get().ca_crt.string()}};
  if (!options_.username.empty()) {
    smtp["username"] = options_.username;
    smtp["password"] = "file:" + password_file_.string();
  }
  return {{"email_to", {"admin@example.com", "second-admin@example.com"}}, {"smtp", smtp}};
}

std::string smtp_sink::header(const nlohmann::json& message, const std::string& name) {
  for (const auto& pair : message["headers"]) {
    std::string key = pair[0].get<std::string>();
    std::transform(key.begin(), key.end(), key.begin(), ::tolower);
    std::string wanted = name;
    std::transform(wanted.begin(), wanted.end(), wanted.begin(), ::tolower);
    if (key == wanted) return pair[1].get<std::string>();
  }
  return {};
}

}  // namespace connector::testing
