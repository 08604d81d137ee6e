#pragma once
// Config sections that point the real `connector` binary at the sandbox servers, with the
// credentials the sandboxes accept and the test CA, for end-to-end tests and benchmarks.
#include <nlohmann/json.hpp>

#include "support/ispring_sandbox_server.hpp"
#include "support/outbound_builder.hpp"
#include "support/salesforce_sandbox_server.hpp"

namespace connector::testing {

// A Salesforce org for the JWT bearer flow: it trusts test_rsa_key(0) (the connected app's
// key) and its organization id is test_org_id.
salesforce_sandbox_options jwt_salesforce_sandbox_options();

// The "ispring" section: the sandbox's URL, its client credentials, the test CA.
nlohmann::json ispring_sandbox_config(const ispring_sandbox_server& server);

// The "salesforce" section: the sandbox as login URL, the integration user signing in with
// test_rsa_key(0), the test CA, and the sandbox's hosts as allowed instance_url hosts.
nlohmann::json salesforce_sandbox_config(const salesforce_sandbox_server& server);

// The Salesforce sandbox's User record that an outbound notification (outbound_builder)
// describes, for add_user: its Id and fields, IsActive as a boolean, without the stamps
// (the sandbox sets them). With sync.verify_notifications (on whenever the salesforce
// section has credentials) only what Salesforce holds is applied.
nlohmann::json salesforce_user_of(const user_notification& notification);

}  // namespace connector::testing
