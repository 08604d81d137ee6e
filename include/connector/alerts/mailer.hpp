#pragma once
// Sending an alert e-mail: an interface, so the alert logic is tested with a fake, and the
// SMTP client behind it (libcurl: STARTTLS or implicit TLS, the server's certificate
// verified, optional login, a bounded time).
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "connector/alerts/email.hpp"
#include "connector/clock.hpp"
#include "connector/config/config.hpp"
#include "connector/expected.hpp"

namespace connector::alerts {

// Empty on success; otherwise what went wrong, readable, never a password.
using send_result = expected<std::monostate, std::string>;

class mailer {
 public:
  virtual ~mailer() = default;
  virtual send_result send(const email& message) = 0;
};

struct smtp_timeouts {
  int connect_ms = 10'000;
  int total_ms = 60'000;  // the whole conversation, DATA included
};

class smtp_mailer final : public mailer {
 public:
  smtp_mailer(config::alerts_settings settings, const connector::clock& clock,
              smtp_timeouts timeouts = {});
  send_result send(const email& message) override;
  // "smtp://smtp.example.com:587 (STARTTLS)", for messages.
  std::string describe() const;

 private:
  config::alerts_settings settings_;
  const connector::clock& clock_;
  smtp_timeouts timeouts_;
};

// `connector check`'s line about alerts: where they go, and with `send_test_email` whether a
// test e-mail went out (or the SMTP error). Nothing when alerts are off and no test asked.
struct alerts_check {
  bool ok = true;
  std::string text;
};
std::optional<alerts_check> check_alerts(const config::settings& settings, bool send_test_email,
                                         const connector::clock& clock);

}  // namespace connector::alerts
