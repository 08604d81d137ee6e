#include "connector/app/checks.hpp"

#include "connector/alerts/mailer.hpp"

#include "connector/app/reconcile_runs.hpp"
#include "connector/ispring/client.hpp"
#include "connector/salesforce/rest_client.hpp"
#include "connector/sync/mapping.hpp"
#include "connector/sync/mapping_check.hpp"

namespace connector::app {

std::vector<check_finding> run_checks(const config::settings& settings, clock& time,
                                      bool send_test_email) {
  std::vector<check_finding> findings;
  const auto say = [&](std::string name, check_level level, std::string message) {
    findings.push_back({std::move(name), level, std::move(message)});
  };
  say("configuration", check_level::ok, "configuration is valid");
  // The public listener's locks (design.md "Trust"): serve refuses an unlocked public
  // intake unless told it is on purpose, and then this keeps saying so.
  if (auto problem = config::intake_lock_problem(settings.server)) {
    if (settings.server.allow_unlocked_intake) {
      say("intake", check_level::warn,
          "intake: unlocked on purpose (server.allow_unlocked_intake): " + *problem);
    } else {
      say("intake", check_level::fail, "intake: serve refuses to start: " + *problem);
    }
  }
  if (!settings.ispring) {
    say("ispring", check_level::fail, "ispring: no section, so nothing is pushed to iSpring Learn");
  } else {
    ispring::https_api api(*settings.ispring);
    auto fields = api.profile_fields();
    if (!fields) {
      say("ispring", check_level::fail,
          "ispring: " + settings.ispring->api_url + ": " + fields.error().to_string());
    } else {
      say("ispring", check_level::ok,
          "ispring: signed in to " + settings.ispring->api_url + " and read " +
              std::to_string(fields->size()) + " profile fields");
      for (const auto& finding : sync::check_mapping(settings.mapping, *fields)) {
        say("mapping", finding.ok ? check_level::ok : check_level::fail, finding.text);
      }
    }
  }
  // Salesforce REST credentials: the full reconciliation reads users with them.
  if (settings.salesforce.client_id.empty()) {
    // Notifications still flow without them; only the safety net is missing.
    say("salesforce", check_level::warn,
        "salesforce: no REST credentials (salesforce.client_id), so the full reconciliation "
        "cannot run");
  } else if (auto access = make_salesforce_access(settings, time); !access) {
    say("salesforce", check_level::fail, "salesforce: " + access.error());
  } else if (auto org = access->organization_id(); !org) {
    say("salesforce", check_level::fail,
        "salesforce: " + settings.salesforce.login_url + ": " + org.error());
  } else {
    std::size_t count = 0;
    const auto fields = sync::required_salesforce_fields(settings.mapping);
    auto read = access->api->query(salesforce::build_query(settings.salesforce, fields),
                                   [&](std::vector<nlohmann::json>& records) {
                                     count += records.size();
                                     return false;
                                   });
    if (!read)
      say("salesforce", check_level::fail,
          "salesforce: signed in to organization " + *org +
              ", but the user query failed: " + read.error().to_string());
    else
      say("salesforce", check_level::ok,
          "salesforce: signed in to organization " + *org + " and read the " +
              std::to_string(fields.size()) + " mapped fields of " +
              settings.salesforce.source_object + " (" + std::to_string(count) +
              " records on the first page)");
  }
  if (auto alerts = alerts::check_alerts(settings, send_test_email, time)) {
    say("alerts", alerts->ok ? check_level::ok : check_level::fail, alerts->text);
  }
  return findings;
}

nlohmann::json finding_to_json(const check_finding& finding) {
  const char* level = finding.level == check_level::ok     ? "ok"
                      : finding.level == check_level::warn ? "warn"
                                                           : "fail";
  return {
      {"name", finding.name}, {"ok", finding.ok()}, {"level", level}, {"message", finding.message}};
}

}  // namespace connector::app
