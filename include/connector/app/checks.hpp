#pragma once
// The seed's "Verify and Register Integration": the configuration, both sets of credentials
// and the mapping, checked against the live services. One list of findings serves
// `connector check` (a line each) and `POST /admin/check` (JSON for the admin page).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "connector/clock.hpp"
#include "connector/config/config.hpp"

namespace connector::app {

enum class check_level { ok, warn, fail };

struct check_finding {
  std::string name;  // "configuration", "ispring", "mapping", "salesforce"
  check_level level = check_level::ok;
  std::string message;  // never holds a secret value
  bool ok() const { return level != check_level::fail; }
};

// Signs in to iSpring Learn and Salesforce (blocking network calls, bounded by the
// clients' timeouts) and checks the mapping against iSpring's profile fields. Every
// finding is reported, so the operator sees everything that is wrong at once. With an
// `alerts` section the SMTP settings are checked too, and `send_test_email` sends one.
std::vector<check_finding> run_checks(const config::settings& settings, clock& time,
                                      bool send_test_email = false);

// {"name", "ok", "level": "ok"|"warn"|"fail", "message"}
nlohmann::json finding_to_json(const check_finding& finding);

}  // namespace connector::app
