#include "support/sandbox_config.hpp"

#include "support/rsa_keys.hpp"
#include "support/service.hpp"

namespace connector::testing {

salesforce_sandbox_options jwt_salesforce_sandbox_options() {
  salesforce_sandbox_options o;
  o.public_key_pem = test_rsa_key(0).public_key_pem;
  o.org_id = test_org_id;
  return o;
}

nlohmann::json ispring_sandbox_config(const ispring_sandbox_server& server) {
  return {{"api_url", server.base_url()},
          {"client_id", "sandbox-client-id"},
          {"client_secret", "sandbox-client-secret"},
          {"tls_ca_file", test_certs::get().ca_crt.string()}};
}

nlohmann::json salesforce_sandbox_config(const salesforce_sandbox_server& server) {
  return {{"login_url", server.base_url()},
          {"client_id", "sandbox-consumer-key"},
          {"username", "integration@example.com"},
          {"private_key", "file:" + test_rsa_key(0).private_key_file.string()},
          {"tls_ca_file", test_certs::get().ca_crt.string()},
          // The sandbox is no Salesforce domain: its token answers name localhost.
          {"allowed_instance_hosts", {"localhost", "127.0.0.1"}}};
}

nlohmann::json salesforce_user_of(const user_notification& notification) {
  nlohmann::json user = {{"Id", notification.user_id}};
  for (const auto& [name, value] : notification.fields) {
    if (name == "SystemModstamp" || name == "LastModifiedDate") continue;
    if (name == "IsActive") {
      user[name] = value == "true";
    } else {
      user[name] = value;
    }
  }
  return user;
}

}  // namespace connector::testing
