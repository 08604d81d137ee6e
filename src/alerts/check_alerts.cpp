#include "connector/alerts/mailer.hpp"
#include "connector/alerts/monitor.hpp"

namespace connector::alerts {

std::optional<alerts_check> check_alerts(const config::settings& settings, bool send_test_email,
                                         const connector::clock& clock) {
  if (!settings.alerts) {
    if (!send_test_email) return std::nullopt;
    return alerts_check{false, "alerts: no alerts section, so there is nothing to send with"};
  }
  if (settings.alerts->email_to.empty()) {
    return alerts_check{!send_test_email,
                        "alerts: alerts.email_to is not set (in the file or the admin page), so "
                        "no alert is sent"};
  }
  std::string to;
  for (const auto& address : settings.alerts->email_to) to += (to.empty() ? "" : ", ") + address;
  smtp_mailer out(*settings.alerts, clock);
  if (!send_test_email) {
    return alerts_check{true, "alerts: e-mail to " + to + " via " + out.describe() +
                                  " (--send-test-email sends one)"};
  }
  const auto sender = policy_options(*settings.alerts).service_name;  // as alerts name it
  email test;
  test.subject = "[" + sender + "] Test e-mail";
  test.headers = {{"X-Connector-Alert", "test"}, {"X-Connector-Alert-Type", "test"}};
  test.body = "This is a test e-mail from " + sender +
              " (connector check --send-test-email, configuration " + settings.config_path +
              ").\n\nAlerts about failed reconciliations, dead letters, refused credentials and "
              "changes waiting too long will come the same way.\n";
  if (auto sent = out.send(test); !sent) return alerts_check{false, "alerts: " + sent.error()};
  return alerts_check{true, "alerts: test e-mail sent to " + to + " via " + out.describe()};
}

}  // namespace connector::alerts
