#pragma once
// A real SMTP server for the alert tests: tests/tools/smtp_sink.py (python3-aiosmtpd) as a
// child process on a free loopback port, with STARTTLS (or implicit TLS) on the test
// certificate and AUTH LOGIN/PLAIN. Each message it receives becomes a JSON file the test
// reads back: envelope, tls, authenticated, subject, headers, body (decoded), defects, raw.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace connector::testing {

struct smtp_sink_options {
  std::string security = "starttls";            // or "tls" (implicit)
  std::string username = "alerts@example.com";  // empty: no AUTH
  std::string password = "sink-password-123";
};

class smtp_sink {
 public:
  // Starts the server under `dir` and waits until it listens; throws if it does not.
  smtp_sink(const std::filesystem::path& dir, smtp_sink_options options = {});
  ~smtp_sink();
  smtp_sink(const smtp_sink&) = delete;
  smtp_sink& operator=(const smtp_sink&) = delete;

  std::uint16_t port() const { return port_; }
  const smtp_sink_options& options() const { return options_; }
  // The messages received so far, oldest first.
  std::vector<nlohmann::json> messages() const;
  // The "alerts" config section that sends here (trusting the test CA).
  nlohmann::json alerts_config() const;

  // A header's value in a received message, or empty.
  static std::string header(const nlohmann::json& message, const std::string& name);

 private:
  smtp_sink_options options_;
  std::filesystem::path out_dir_, password_file_;
  std::unique_ptr<child_process> process_;
  std::uint16_t port_ = 0;
};

}  // namespace connector::testing
